"""packetflow_scenario called directly refuses bad options before it creates anything."""
import pytest

from bad_input_support import INTERNAL_ERRORS, host_unchanged, run_module

NAME_FIX = ("a-zA-Z0-9", "letters", "allowed")

# (id, options, option named, bad value shown, fix given: one of these)
CASES = [
    ("unknown scenario", {"scenario": "nope"}, "scenario", "nope", ("host_to_container",)),
    ("port above 65535", {"port": 70000}, "port", "70000", ("65535",)),
    ("negative port", {"port": -1}, "port", "-1", ("65535",)),
    ("zero count", {"count": 0}, "count", "0", ("1000",)),
    ("count above 1000", {"count": 5000}, "count", "5000", ("1000",)),
    ("zero timeout", {"timeout": 0}, "timeout", "0", ("3600",)),
    ("timeout above an hour", {"timeout": 3601}, "timeout", "3601", ("3600",)),
    ("name with a slash", {"name": "web/1"}, "name", "web/1", NAME_FIX),
    ("second name with a leading dot", {"second_name": ".web2"}, "second_name", ".web2", NAME_FIX),
    ("unknown fate", {"expect": {"fate": "lost"}}, "fate", "lost", ("delivered",)),
    ("unknown expectation key", {"expect": {"bogus": "x"}}, "expect", "bogus", ("fate",)),
    ("unknown family", {"family": "ipv5"}, "family", "ipv5", ("ipv4, ipv6",)),
]


@pytest.mark.parametrize("options, option, value, fixes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_scenario_module_refuses(tmp_path, options, option, value, fixes):
    workdir = tmp_path / "work"
    with host_unchanged():
        result = run_module("packetflow_scenario", dict({"scenario": "none_network", "workdir": str(workdir)},
                                                        **options), tmp_path)
    message = " ".join(str(result.get("msg", "")).split())
    assert result.get("failed"), result
    assert option in message and value in message, message
    assert any(fix in message for fix in fixes), "no fix (%s) in: %s" % (" or ".join(fixes), message)
    for word in INTERNAL_ERRORS:
        assert word not in message + str(result.get("exception", "")), message
    assert not result.get("run_id"), "a run was started: %s" % result.get("run_id")
    assert not workdir.exists()
