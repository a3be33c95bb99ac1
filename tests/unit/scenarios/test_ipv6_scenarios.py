"""Scenarios in IPv6: the family option, the expectation per Docker version, the addresses and capture filters
of the plan, and the report's key that keeps the two families' runs apart."""

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue import plan, scenarios
from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue.validate import validate
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_names import scenario_key

GOOD = {"scenario": "cross_network", "name": "web1", "second_name": "web2", "port": 8080, "count": 1,
        "timeout": 10, "run_id": None, "expect": None}
FACTS = {"backend": "nft", "docker_version": "20.10.24+dfsg1", "userland_proxy": True, "br_netfilter": True,
         "bridge_nf_call_iptables": "1", "bridge_nf_call_ip6tables": "0", "primary_address": "192.0.2.10",
         "primary_address6": "fd00::2"}
TOPOLOGY = {
    "containers": [{"name": "web1", "pid": 7, "ip": "172.17.0.2", "gateway": "172.17.0.1",
                    "ip6": "fd00:70f:1::242:ac11:2", "gateway6": "fd00:70f:1::1"}],
    "networks": [],
    "peer": {"netns": "pf-abcdef", "ip": "198.51.100.2", "host_ip": "198.51.100.1", "ip6": "2001:db8:5::2",
             "host_ip6": "2001:db8:5::1"},
}


@pytest.mark.parametrize("params, message", [
    ({"family": "ipv5"}, r"family must be one of ipv4, ipv6 \(got 'ipv5'\): use ipv4, or ipv6 on a host"),
    ({"family": "ipv6", "scenario": "none_network"}, r"none_network does not run in family ipv6.*use family ipv4"),
])
def test_bad_family_is_refused(params, message):
    with pytest.raises(ValueError, match=message):
        validate(dict(GOOD, **params))


def test_both_families_pass():
    validate(dict(GOOD, family="ipv6"))
    validate(dict(GOOD, family="ipv4", scenario="none_network"))


def test_ipv6_expectation_before_docker_25_has_no_docker_user():
    four = scenarios.expectation("container_to_container", FACTS)
    six = scenarios.expectation("container_to_container", dict(FACTS, bridge_nf_call_ip6tables="1"), family="ipv6")
    assert "filter:DOCKER-USER" in four["via"] and "filter:DOCKER-USER" not in six["via"]
    assert "no DOCKER-USER chain in ip6tables" in six["why"]
    newer_facts = dict(FACTS, docker_version="25.0.3", bridge_nf_call_ip6tables="1")
    newer = scenarios.expectation("container_to_container", newer_facts, family="ipv6")
    assert "filter:DOCKER-USER" in newer["via"]


def test_ipv6_bridge_path_follows_bridge_nf_call_ip6tables_not_iptables():
    six = scenarios.expectation("container_to_container", FACTS, family="ipv6")
    assert six["via"] == ["bridge:PREROUTING", "bridge:FORWARD", "bridge:POSTROUTING"]
    assert six["forbid"] == ["filter:FORWARD"]


def test_ipv6_keeps_the_fates_and_places_of_ipv4():
    for name in scenarios.names():
        if "ipv6" in scenarios.SCENARIOS[name].get("families", scenarios.FAMILIES):
            four, six = scenarios.expectation(name, FACTS), scenarios.expectation(name, FACTS, family="ipv6")
            assert (four["fate"], four["at"]) == (six["fate"], six["at"]), name
    assert scenarios.expectation("cross_network", dict(FACTS, docker_version="28.2.1"), family="ipv6")["at"] == \
        "raw:PREROUTING"
    assert "ip6tables on by default" in scenarios.expectation("cross_network", dict(FACTS, docker_version="27.1"),
                                                              family="ipv6")["why"]


def test_ipv6_traffic_uses_the_ipv6_addresses_and_icmp6_captures():
    spec = scenarios.SCENARIOS["container_to_external"]
    items = plan.resolve_traffic(spec, TOPOLOGY, FACTS, 8080, "ipv6")
    assert items[0]["to"] == "2001:db8:5::2"
    assert items[0]["legs"] == [
        {"src": "fd00:70f:1::242:ac11:2", "dst": "2001:db8:5::2", "proto": "icmp", "dport": None},
        {"src": "2001:db8:5::1", "dst": "2001:db8:5::2", "proto": "icmp", "dport": None},
    ]
    assert plan.bpf(items[0]["legs"]).startswith("(icmp6 and host fd00:70f:1::242:ac11:2 and host 2001:db8:5::2)")
    published = plan.resolve_traffic(scenarios.SCENARIOS["published_port"], TOPOLOGY, FACTS, 8080, "ipv6")
    assert [item["to"] for item in published] == ["fd00::2", "::1"]
    assert plan.resolve_traffic(spec, TOPOLOGY, FACTS, 8080)[0]["to"] == "198.51.100.2"


def test_report_keeps_the_families_apart_and_ipv4_as_before():
    assert scenario_key({"scenario": "cross_network"}) == "cross_network"
    assert scenario_key({"scenario": "cross_network", "family": "ipv4"}) == "cross_network"
    assert scenario_key({"scenario": "cross_network", "family": "ipv6"}) == "cross_network-ipv6"


def test_fleet_matrix_and_documents_keep_a_column_per_family():
    from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_fleet, report_render

    runs = [{"scenario": "cross_network", "family": family, "passed": True, "error": None, "packets": [],
             "expected": {"fate": "dropped"}, "observed": {"fate": "dropped"}} for family in ("ipv4", "ipv6")]
    docs = report_render.documents(results=[{"host": "h1", "scenarios": runs, "facts": {}}])
    assert [scenario_key(s) for s in docs[0]["scenarios"]] == ["cross_network", "cross_network-ipv6"]
    matrix = report_fleet.fleet(docs)
    assert matrix["names"] == ["cross_network", "cross_network-ipv6"]
    assert all(cell is not None for cell in matrix["rows"][0]["cells"])
