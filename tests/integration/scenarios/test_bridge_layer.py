"""container_to_container on the real engine with br_netfilter handing frames to iptables and without:
the bridge layer's hops are in the journey either way, the IP layer's only when bridge-nf-call-iptables is 1."""

import pytest
from conftest import run_module

BRIDGE_NF = "/proc/sys/net/bridge/bridge-nf-call-iptables"
NAMES = {"name": "pft-web1", "second_name": "pft-web2", "port": 0}


def read_setting():
    with open(BRIDGE_NF) as handle:
        return handle.read().strip()


def write_setting(value):
    with open(BRIDGE_NF, "w") as handle:
        handle.write(value)


@pytest.fixture
def bridge_nf():
    """Set bridge-nf-call-iptables (set(value)); put the original value back after, even on failure."""
    original = read_setting()

    def setting(value):
        write_setting(value)
        assert read_setting() == value, "bridge-nf-call-iptables did not flip to %s" % value

    yield setting
    write_setting(original)
    assert read_setting() == original


@pytest.mark.parametrize("value", ["1", "0"])
def test_container_to_container_shows_bridge_hops_with_and_without_br_netfilter(value, bridge_nf, unchanged, tmp_path):
    bridge_nf(value)
    result = run_module("packetflow_scenario", dict(NAMES, scenario="container_to_container", workdir=str(tmp_path)))
    assert not result.get("failed"), result.get("msg")
    assert result["error"] is None and result["passed"], (result["observed"], result["expected"])
    assert result["host"]["br_netfilter"] is (value == "1")
    requests = [p for p in result["packets"] if p["direction"] == "request"]
    hops = [hop for packet in requests for hop in packet["hops"]]
    bridge = [hop for hop in hops if hop["family"] == "bridge"]
    ip_layer = [hop for hop in hops if hop["family"] in ("ip", "ip6", "inet")]
    assert {hop["hook"] for hop in bridge} >= {"PREROUTING", "FORWARD", "POSTROUTING"}
    ports = {(hop["in"], hop["out"]) for hop in bridge if hop["hook"] == "FORWARD"}
    veths = {c["veth"] for c in result["topology"]["containers"]}
    assert ports and all({port_in, port_out} == veths for port_in, port_out in ports), (ports, veths)
    assert bool(ip_layer) is (value == "1"), [(h["family"], h["table"], h["chain"]) for h in hops]
    assert ("filter:FORWARD" in result["observed"]["path"]) is (value == "1")
    assert "bridge:FORWARD" in result["observed"]["path"]
    if value == "0":
        assert "bridge-nf-call-iptables is 0" in result["explanation"] or "bridge-nf-call-iptables is 0" in str(
            result["expected"]["why"]
        )
