"""Pure logic of the scenario runner: catalogue, expectations, TRACE scoping, comparison."""

from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue import plan, scenarios, verdict
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.lab import plan_topology
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.trace_scope import (
    directions,
    iptables_matches,
    nft_matches,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.tracer import Tracer

FACTS = {"docker_version": "20.10.24+dfsg1", "backend": "nft", "br_netfilter": True, "userland_proxy": True,
         "primary_address": "192.0.2.2", "warnings": []}


def test_catalogue_has_the_nine_scenarios():
    assert scenarios.names() == [
        "host_to_container", "container_to_host", "container_to_container", "cross_network", "published_port",
        "external_to_published", "container_to_external", "host_network", "none_network"]
    for spec in scenarios.SCENARIOS.values():
        assert spec["expect"]["fate"] in ("delivered", "dropped")
        assert spec["traffic"] and spec["containers"]


def test_version_tuple():
    assert scenarios.version_tuple("20.10.24+dfsg1") == (20, 10, 24)
    assert scenarios.version_tuple("28.2") == (28, 2, 0)
    assert scenarios.version_tuple(None) == (0, 0, 0)


def test_expectation_follows_the_facts():
    assert scenarios.expectation("cross_network", FACTS)["at"] == "filter:DOCKER-ISOLATION-STAGE-2"
    assert scenarios.expectation("cross_network", dict(FACTS, docker_version="28.2.1"))["at"] == "raw:PREROUTING"
    no_br = scenarios.expectation("container_to_container", dict(FACTS, br_netfilter=False))
    assert no_br["via"] == ["bridge:PREROUTING", "bridge:FORWARD", "bridge:POSTROUTING"]
    assert no_br["forbid"] == ["filter:FORWARD"] and "bridge-nf-call-iptables is absent" in no_br["why"]
    newer = scenarios.expectation("container_to_container", dict(FACTS, docker_version="28.0.1"))
    assert "filter:DOCKER-FORWARD" in newer["via"]
    nftables = scenarios.expectation("cross_network", dict(FACTS, backend="nftables"))
    assert nftables["at"] == "docker-bridges:raw-PREROUTING" and nftables["via"] == []
    assert scenarios.expectation("host_network", dict(FACTS, backend="nftables"))["via"] == []


def test_expectation_override_wins_key_by_key():
    exp = scenarios.expectation("cross_network", FACTS, {"fate": "delivered", "at": None, "via": None})
    assert exp["fate"] == "delivered" and exp["at"] == "filter:DOCKER-ISOLATION-STAGE-2"


def test_trace_rules_cover_both_directions_and_are_tagged_at_position_1():
    legs = [{"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "tcp", "dport": 80}]
    both = directions(legs)
    assert both[1] == {"src": "10.0.0.2", "dst": "10.0.0.1", "proto": "tcp", "sport": 80, "dport": None}
    assert iptables_matches(both[1]) == ["-s", "10.0.0.2", "-d", "10.0.0.1", "-p", "tcp", "--sport", "80"]
    assert nft_matches(both[0]) == "ip saddr 10.0.0.1 ip daddr 10.0.0.2 tcp dport 80"
    rules = Tracer("legacy", "pf-20261125-abcdef", legs, "/tmp").plan()
    assert len(rules) == 4
    assert all(" -I " in r and r.split(" -I ")[1].split()[1] == "1" for r in rules)
    assert all("--comment packetflow:pf-20261125-abcdef -j TRACE" in r for r in rules)
    nft_plan = Tracer("nftables", "pf-20261125-abcdef", legs, "/tmp").plan()
    assert "meta nftrace set 1" in nft_plan[-1] and "priority -350" in nft_plan[1]


def test_bpf_is_scoped_to_the_legs():
    legs = [{"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "icmp", "dport": None},
            {"src": "10.0.0.1", "dst": "10.0.0.3", "proto": "tcp", "dport": 80}]
    assert plan.bpf(legs) == ("(icmp and host 10.0.0.1 and host 10.0.0.2) or "
                              "(tcp and host 10.0.0.1 and host 10.0.0.3 and port 80)")


def traffic(ok=True):
    return [{"from": "web1", "to": "172.19.0.2", "proto": "icmp", "port": None, "ok": ok,
             "legs": [{"src": "172.18.0.2", "dst": "172.19.0.2", "proto": "icmp"}]}]


def packet(pid, src, dst, fate, hops, fate_at=None):
    return {"id": pid, "flow": {"src": src, "dst": dst}, "fate": fate, "fate_at": fate_at,
            "hops": [{"table": t, "chain": c} for t, c in hops]}


def test_observe_and_compare_a_drop():
    at = {"table": "filter", "chain": "DOCKER-ISOLATION-STAGE-2", "type": "rule", "rule": 1,
          "rule_text": "-A DOCKER-ISOLATION-STAGE-2 -o br-b -j DROP"}
    packets = [packet(1, "172.18.0.2", "172.19.0.2", "dropped",
                      [("raw", "PREROUTING"), ("filter", "FORWARD"), ("filter", "DOCKER-ISOLATION-STAGE-2")], at),
               packet(2, "10.9.9.9", "172.19.0.2", "delivered", [("raw", "PREROUTING")])]
    items = traffic(ok=False)
    observed = verdict.observe(items, packets)
    assert observed["fate"] == "dropped"
    assert observed["at"] == "filter:DOCKER-ISOLATION-STAGE-2:1"
    assert items[0]["packets"] == [1]
    passed, diff = verdict.compare(scenarios.expectation("cross_network", FACTS), observed)
    assert passed and diff == ""


def test_compare_gives_a_readable_diff():
    observed = {"fate": "delivered", "at": None, "path": ["raw:PREROUTING", "filter:FORWARD"]}
    expected = {"fate": "dropped", "at": "filter:DOCKER-ISOLATION-STAGE-2", "via": ["filter:FORWARD", "nat:X"],
                "forbid": ["raw:PREROUTING"]}
    passed, diff = verdict.compare(expected, observed)
    assert not passed
    assert "- expected fate: dropped" in diff and "+ observed fate: delivered" in diff
    assert "missing: nat:X" in diff and "should not be crossed: raw:PREROUTING" in diff
    assert diff.splitlines() == [
        "- expected fate: dropped", "+ observed fate: delivered",
        "- expected decided at: filter:DOCKER-ISOLATION-STAGE-2", "+ observed decided at: None",
        "- expected path (in order): filter:FORWARD -> nat:X", "+ observed path: raw:PREROUTING -> filter:FORWARD",
        "  missing: nat:X", "+ observed chains that should not be crossed: raw:PREROUTING"]
    assert verdict.compare(dict(expected, fate="delivered", at=None, via=[], forbid=[]), observed) == (True, "")


def test_untraced_but_answered_counts_as_delivered_with_a_note():
    observed = verdict.observe(traffic(ok=True), [])
    assert observed["fate"] == "delivered" and "nothing of it was traced" in observed["notes"][0]
    assert verdict.observe(traffic(ok=False), [])["fate"] == "unknown"


def test_check_mode_plan_uses_placeholders():
    spec = scenarios.SCENARIOS["external_to_published"]
    topo = plan_topology(spec, ["web1", "web2"], 8080)
    items = plan.resolve_traffic(spec, topo, FACTS, 8080)
    assert items[0]["legs"][0] == {"src": "<peer>", "dst": "<host side>", "proto": "tcp", "dport": 8080}
    assert items[0]["legs"][1]["dst"] == "<web1>" and items[0]["legs"][1]["dport"] == 80
    labels = [s["label"] for s in plan.capture_specs(spec, topo, items, "", "192.0.2.2")]
    assert labels == ["web1:eth0", "<veth of web1>", "docker0", "pf-<id>:pfp<id>", "pfh<id>"]


def test_a_jump_into_an_empty_chain_counts_as_crossing_it():
    # iptables-nft traces no event for the empty DOCKER-USER chain, only FORWARD's jump to it.
    hops = [{"family": "bridge", "table": "pf_x_br", "chain": "PREROUTING", "hook": "PREROUTING"},
            {"table": "raw", "chain": "PREROUTING", "verdict": "CONTINUE"},
            {"family": "bridge", "table": "pf_x_br", "chain": "FORWARD", "hook": "FORWARD"},
            {"table": "filter", "chain": "FORWARD", "verdict": "JUMP:DOCKER-USER"},
            {"table": "filter", "chain": "FORWARD", "verdict": "JUMP:DOCKER-ISOLATION-STAGE-1"},
            {"table": "filter", "chain": "DOCKER-ISOLATION-STAGE-1", "verdict": "RETURN"},
            {"table": "filter", "chain": "FORWARD", "verdict": "ACCEPT"}]
    packets = [{"id": 1, "flow": {"src": "172.18.0.2", "dst": "172.19.0.2"}, "fate": "delivered", "hops": hops}]
    observed = verdict.observe(traffic(ok=True), packets)
    assert observed["path"][:6] == ["bridge:PREROUTING", "raw:PREROUTING", "bridge:FORWARD", "filter:FORWARD",
                                    "filter:DOCKER-USER", "filter:FORWARD"]
    passed, diff = verdict.compare(scenarios.expectation("container_to_container", FACTS), observed)
    assert passed, diff


def test_host_network_may_cross_nat_docker_when_the_userland_proxy_is_off():
    assert "nat:DOCKER" in scenarios.expectation("host_network", FACTS)["forbid"]
    assert scenarios.expectation("host_network", dict(FACTS, userland_proxy=False))["forbid"] == []


def test_kernel_trace_lines_of_other_flows_are_not_ours(tmp_path):
    tracer = Tracer("legacy", "pf-x", [{"src": "172.17.0.2", "dst": "172.17.0.1", "proto": "icmp"}], str(tmp_path))
    line = "4,9,1,-;TRACE: raw:PREROUTING:policy:2 IN=docker0 OUT= SRC=%s DST=%s LEN=84 "
    assert tracer._ours(line % ("172.17.0.2", "172.17.0.1"))
    assert tracer._ours(line % ("172.17.0.1", "172.17.0.2"))
    assert not tracer._ours(line % ("10.201.0.2", "10.201.0.1"))
    assert Tracer("legacy", "pf-y", [{"proto": "icmp"}], str(tmp_path))._ours(line % ("10.0.0.1", "10.0.0.2"))
