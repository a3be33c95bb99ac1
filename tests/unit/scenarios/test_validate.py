"""Scenario options refused before anything changes, naming the option, the bad value and the fix."""

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue.validate import validate

GOOD = {"scenario": "cross_network", "name": "web1", "second_name": "web2", "port": 8080, "count": 1,
        "timeout": 10, "run_id": None, "expect": None}


@pytest.mark.parametrize("option,value,message", [
    ("scenario", "nope", r"scenario must be one of host_to_container, .*none_network \(got 'nope'\)"),
    ("port", 99999, r"port must be between 0 and 65535 \(got 99999\): use a free host port, or 0"),
    ("port", -1, r"port must be between 0 and 65535 \(got -1\)"),
    ("count", -1, r"count must be between 1 and 1000 \(got -1\): use a number of echo requests"),
    ("count", 0, r"count must be between 1 and 1000 \(got 0\)"),
    ("timeout", 0, r"timeout must be between 1 and 3600 \(got 0\): use a number of seconds"),
    ("name", "a/b", r"name must be a Docker container name, .* \(got 'a/b'\)"),
    ("second_name", "-web", r"second_name must be a Docker container name, .* \(got '-web'\)"),
    ("name", "", r"name must be a Docker container name"),
    ("name", "w", r"name must be a Docker container name, .* \(got 'w'\)"),
    ("run_id", "web1", r"run_id must look like pf-<date>-<hex>"),
    ("expect", {"fate": "lost"}, r"expect.fate must be one of delivered, dropped, unknown \(got 'lost'\)"),
    ("expect", {"fat": "dropped"}, r"expect has unknown key\(s\) fat: use only fate, at, via"),
    ("expect", {"at": "DOCKER"}, r"expect.at entries are table:chain, e.g. filter:FORWARD \(got 'DOCKER'\)"),
    ("expect", {"via": ["filter:FORWARD", "FORWARD"]}, r"expect.via entries are table:chain, .*got 'FORWARD'"),
])
def test_bad_option_is_refused(option, value, message):
    with pytest.raises(ValueError, match=message):
        validate(dict(GOOD, **{option: value}))


def test_good_options_pass():
    validate(GOOD)
    validate(dict(GOOD, port=0, count=1000, timeout=3600, name="pft_web.1", run_id="pf-20261201-abcdef",
                  expect={"fate": "dropped", "at": "filter:DOCKER-ISOLATION-STAGE-2", "via": None}))
