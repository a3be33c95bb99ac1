"""packetflow_flow's own checks of its options: each refusal names the option, the value and the fix."""

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.endpoints import FlowError
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.flow import flow_name, validate

DEFAULTS = dict(name=None, src="api", dst="db", proto="tcp", port=5432, mode="probe", count=3, interval=0.2,
                duration=10, max_packets=100, expect=None, run_id=None)


@pytest.mark.parametrize("change,message", [
    ({"port": 0}, "port: 0 is out of range; give a port from 1 to 65535"),
    ({"port": 65536}, "port: 65536 is out of range"),
    ({"proto": "icmp"}, "port: 5432 was given with proto icmp, which has no ports"),
    ({"port": None}, "port: a tcp probe needs a destination port"),
    ({"count": 0}, "count: 0 must be at least 1"),
    ({"interval": 0}, "interval: 0 must be more than 0 seconds"),
    ({"src": "192.0.2.10"}, "src: 192.0.2.10 is an address, which a probe cannot be sent from"),
    ({"expect": {"verdict": "denied", "at": "DOCKER-USER"}}, "expect.at: 'DOCKER-USER' is not table:chain"),
])
def test_bad_options_are_refused_with_the_fix(change, message):
    with pytest.raises(FlowError) as caught:
        validate(dict(DEFAULTS, **change))
    assert message in str(caught.value)


def test_a_bad_run_id_is_refused():
    with pytest.raises(ValueError, match="run_id must look like pf-<date>-<hex>.*got 'x y'"):
        validate(dict(DEFAULTS, run_id="x y"))


def test_good_options_pass_including_observe_from_an_address():
    validate(dict(DEFAULTS))
    validate(dict(DEFAULTS, src="192.0.2.10", mode="observe", port=None))
    validate(dict(DEFAULTS, proto="icmp", port=None, expect={"verdict": "allowed", "at": "filter:FORWARD"}))


def test_flow_names():
    assert flow_name(dict(DEFAULTS)) == "api \u2192 db tcp/5432"
    assert flow_name(dict(DEFAULTS, proto="icmp", port=None)) == "api \u2192 db icmp"
    assert flow_name(dict(DEFAULTS, name="api to db")) == "api to db"
