# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One journey per packet, on the real traces of every back end and scenario."""

from __future__ import annotations

import json

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys
from analysis_support import BACKENDS, SCENARIOS, chains, fixture_path, journeys, pcaps_of, read_lines, ruleset_of

ISOLATION_PATH = ["filter:FORWARD", "filter:DOCKER-USER", "filter:FORWARD", "filter:DOCKER-ISOLATION-STAGE-1",
                  "filter:DOCKER-ISOLATION-STAGE-2"]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_fixture_parses_completely(backend, scenario):
    result = journeys(backend, scenario, with_pcaps=True)
    assert result["format"] == {"legacy": "legacy", "nft": "xtables-monitor", "nftables": "nft-monitor"}[backend]
    assert result["packets"] and result["counts"]["events"] > 0
    assert result["counts"]["packets"] == len(result["packets"])
    assert [packet["id"] for packet in result["packets"]] == list(range(1, len(result["packets"]) + 1))
    # only the kmsg markers written by the recording script are not trace lines
    assert all("pfa-fixture" in item["text"] for item in result["unparsed"])
    for packet in result["packets"]:
        assert packet["fate"] in ("delivered", "dropped", "unknown")
        assert "captured_not_traced" not in packet["flags"]
        assert [entry for entry in packet["journey"] if entry["kind"] == "hook"] == \
            [dict(kind="hook", **hop) for hop in packet["hops"]]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_cross_network_ping_is_dropped_in_isolation_stage_2(backend):
    result = journeys(backend, "cross_network")
    assert len(result["packets"]) == 1
    packet = result["packets"][0]
    assert packet["direction"] == "request" and packet["fate"] == "dropped"
    assert chains(packet)[-5:] == ISOLATION_PATH
    where = packet["fate_at"]
    assert (where["table"], where["chain"], where["type"]) == ("filter", "DOCKER-ISOLATION-STAGE-2", "rule")
    out_bridge = packet["hops"][-1]["out"]
    assert out_bridge.startswith("br-") and out_bridge != packet["hops"][0]["in"]
    if backend == "nftables":
        assert where["rule_text"].startswith('oifname "%s"' % out_bridge) and where["rule_text"].endswith("drop")
    else:
        assert where["rule_text"] == "-A DOCKER-ISOLATION-STAGE-2 -o %s -j DROP" % out_bridge
        assert where["rule"] == 1


def test_legacy_cross_network_full_chain_sequence_with_mangle_and_raw_rule_numbers():
    packet = journeys("legacy", "cross_network")["packets"][0]
    assert chains(packet) == ["raw:PREROUTING", "mangle:PREROUTING", "nat:PREROUTING", "mangle:FORWARD"] + \
        ISOLATION_PATH
    assert [(hop["type"], hop["rule"]) for hop in packet["hops"][:2]] == [("rule", 3), ("policy", 4)]
    assert packet["hops"][0]["rule_text"] == \
        "-A PREROUTING -s 172.16.0.0/12 -p icmp -m comment --comment pfa-fixture -j TRACE"
    assert packet["summary"].startswith("172.30.1.2 > 172.30.2.2 ICMP echo-request id ")


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_published_port_dnat_is_spelled_out(backend):
    packets = journeys(backend, "published_port")["packets"]
    syn = packets[0]
    assert syn["summary"].endswith("> 192.0.2.2:18080 TCP SYN") and syn["direction"] == "request"
    assert [rewrite["kind"] for rewrite in syn["nat"]] == ["DNAT"]
    rewrite = syn["nat"][0]
    assert (rewrite["from"], rewrite["to"]) == ("192.0.2.2:18080", "172.17.0.2:80")
    assert (rewrite["table"], rewrite["chain"]) == ("nat", "DOCKER")
    assert rewrite["text"].startswith("DNAT 192.0.2.2:18080 \u2192 172.17.0.2:80 by nat DOCKER rule")
    if backend != "nftables":
        assert rewrite["rule"] == 4
        assert rewrite["rule_text"] == \
            "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 18080 -j DNAT --to-destination 172.17.0.2:80"
    assert "nat:OUTPUT" in chains(syn) and syn["fate"] == "delivered"
    assert syn["hops"][-1]["out"] == "docker0"


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_external_client_connection_directions_and_conntrack(backend):
    packets = journeys(backend, "external_to_published")["packets"]
    assert len(packets) == 10
    syn, synack = packets[0], packets[1]
    assert syn["nat"][0]["text"].startswith("DNAT 198.51.100.1:18080 \u2192 172.17.0.2:80 by nat DOCKER")
    assert "filter:DOCKER" in chains(syn) and syn["fate"] == "delivered"
    assert synack["direction"] == "reply" and synack["summary"].startswith("172.17.0.2:80 > 198.51.100.2:")
    assert "conntrack_skipped_nat" in synack["flags"] and "conntrack_skipped_nat" not in syn["flags"]
    later = [packet for packet in packets[2:] if packet["direction"] == "request"]
    assert later and all(packet["nat"][0]["kind"] == "conntrack" for packet in later)
    assert all(not any(hop["table"] == "nat" for hop in packet["hops"]) for packet in packets[1:])
    assert {packet["fate"] for packet in packets} == {"delivered"}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_container_to_container_on_one_bridge_is_forwarded(backend):
    request, reply = journeys(backend, "container_to_container")["packets"]
    bridge = request["hops"][0]["in"]
    forward = [hop for hop in request["hops"] if hop["table"] == "filter" and hop["chain"] == "FORWARD"]
    assert forward[-1]["verdict"] == "ACCEPT"
    assert (forward[-1]["in"], forward[-1]["out"]) == (bridge, bridge)
    assert request["fate"] == reply["fate"] == "delivered"
    assert (request["direction"], reply["direction"]) == ("request", "reply")


def test_container_to_host_returns_from_nat_docker_for_its_bridge():
    request = journeys("legacy", "container_to_host")["packets"][0]
    docker = [hop for hop in request["hops"] if hop["chain"] == "DOCKER"][0]
    assert docker["rule_text"] == "-A DOCKER -i docker0 -j RETURN" and docker["verdict"] == "RETURN"
    assert request["fate"] == "delivered" and request["fate_at"]["chain"] == "INPUT"


def test_reply_with_no_input_chain_is_delivered_and_flagged():
    reply = journeys("nft", "host_to_container")["packets"][1]
    assert reply["fate"] == "delivered" and "input_untraced" in reply["flags"]
    without_ruleset = journeys("nft", "host_to_container", with_ruleset=False)["packets"][1]
    assert without_ruleset["fate"] == "unknown" and "path_incomplete" in without_ruleset["flags"]


def test_legacy_without_ruleset_keeps_numbers_and_infers_the_drop_from_dockers_layout():
    packet = journeys("legacy", "cross_network", with_ruleset=False)["packets"][0]
    assert packet["hops"][-1]["rule"] == 1 and packet["hops"][-1].get("rule_text") is None
    assert packet["fate"] == "dropped" and "verdict_inferred" in packet["flags"]
    assert packet["hops"][-1]["inferred"]["verdict"] == "DROP"
    assert "Docker 17.06 to 27.x" in packet["inferred"]["reason"]


def test_trace_id_change_mid_path_does_not_split_the_packet():
    lines = read_lines("nft-container_to_container.trace")
    ids = [line.split()[2] for line in lines if line.startswith("PACKET:")]
    result = journeys("nft", "container_to_container")
    assert len(set(ids)) > len(result["packets"])     # more trace ids than packets
    assert len(result["packets"]) == 2


def test_captures_are_attached_and_interleaved():
    packet = journeys("nft", "cross_network", with_pcaps=True)["packets"][0]
    assert packet["summary"].startswith("172.30.1.2 > 172.30.2.2 ICMP echo-request id ")
    ifaces = [capture["iface"] for capture in packet["captures"]]
    assert ifaces.count("any") == 2 and len(ifaces) == 3
    assert packet["journey"][0]["kind"] == "capture" and packet["journey"][-1]["kind"] == "hook"
    assert packet["flags"] == []


def test_traced_but_not_captured_is_flagged():
    trace = fixture_path("nft-cross_network.trace")
    other = pcaps_of("nft-host_to_container")
    with open(trace) as handle:
        result = build_journeys(handle, ruleset=ruleset_of("nft.ruleset.json"),
                                pcaps={"any": other[0], "docker0": other[1]})
    packets = [packet for packet in result["packets"] if packet["hops"]]
    assert packets[0]["flags"] == ["traced_not_captured:any"]
    untraced = [packet for packet in result["packets"] if not packet["hops"]]
    assert untraced and all(packet["flags"] == ["captured_not_traced"] for packet in untraced)
    assert {packet["fate"] for packet in untraced} == {"unknown"}


def test_flow_filter_keeps_one_flow_of_a_shared_log_both_directions():
    with open(fixture_path("legacy-busy-window.kmsg")) as handle:
        everything = build_journeys(handle)
    with open(fixture_path("legacy-busy-window.kmsg")) as handle:
        icmp = build_journeys(handle, flow={"src": "172.17.0.2", "proto": "icmp"})
    assert len(everything["packets"]) > 20
    assert [packet["direction"] for packet in icmp["packets"]] == ["request", "reply"]
    assert all("172.17.0.2" in (packet["flow"]["src"], packet["flow"]["dst"]) for packet in icmp["packets"])
    assert icmp["counts"]["filtered"] > 100


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("flow", [{"dport": 18080}, {"src": "198.51.100.2", "proto": "tcp"},
                                  {"src": "198.51.100.1", "dst": "198.51.100.2"}])
def test_flow_filter_follows_nat_and_replies(backend, flow):
    full = journeys(backend, "external_to_published")
    filtered = journeys(backend, "external_to_published", flow=flow)
    assert [packet["hops"] for packet in filtered["packets"]] == [packet["hops"] for packet in full["packets"]]


def test_flow_filter_of_another_flow_keeps_nothing():
    result = journeys("nft", "external_to_published", flow={"src": "203.0.113.9"})
    assert result["packets"] == [] and result["counts"]["filtered"] == result["counts"]["lines"]


def test_several_hosts_in_one_log_stay_apart():
    lines = read_lines("legacy-cross_network.kern.log")
    mixed = []
    for line in lines:
        mixed.append(line)
        mixed.append(line.replace(" vm kernel:", " web-07 kernel:"))
    result = build_journeys(mixed, ruleset=ruleset_of("legacy.iptables-save"))
    assert sorted(packet["host"] for packet in result["packets"]) == ["vm", "web-07"]
    assert [len(packet["hops"]) for packet in result["packets"]] == [10, 10]
    assert all(packet["fate"] == "dropped" for packet in result["packets"])


def test_truncated_and_interleaved_lines_are_reported_with_line_numbers():
    lines = read_lines("legacy-cross_network.kmsg")
    broken = list(lines)
    broken[3] = lines[3][:60] + "\n"
    broken[5] = lines[5].rstrip("\n") + lines[6]
    result = build_journeys(broken, ruleset=ruleset_of("legacy.iptables-save"))
    numbers = [item["line"] for item in result["unparsed"]]
    assert 4 in numbers and 6 in numbers
    assert result["counts"]["unparsed"] == len(numbers)
    assert result["packets"][0]["fate"] == "dropped"


def test_bytes_lines_and_bad_arguments():
    lines = [line.encode() for line in read_lines("legacy-cross_network.kmsg")]
    assert build_journeys(lines)["counts"]["events"] == 10
    with pytest.raises(ValueError, match="unknown trace format"):
        build_journeys([], trace_format="iptables")
    with pytest.raises(ValueError, match="unknown flow keys"):
        build_journeys([], flow={"port": 80})
    with pytest.raises(ValueError, match="pcaps must be"):
        build_journeys(read_lines("legacy-cross_network.kmsg"), pcaps="x.pcap")


def test_empty_input():
    result = build_journeys([])
    assert result["packets"] == [] and result["counts"]["lines"] == 0


def test_monitor_rule_lines_without_their_packet_line_are_unparsed():
    lines = read_lines("nft-cross_network.trace")
    first_id = lines[0].split()[2]
    cut = [line for line in lines if not (line.startswith("PACKET") and first_id in line)]
    result = build_journeys(cut, trace_format="xtables-monitor")
    orphans = [number for number, line in enumerate(cut, 1) if first_id in line]
    assert [item["line"] for item in result["unparsed"]] == orphans and len(orphans) == 4
    assert result["counts"]["events"] + result["counts"]["unparsed"] == \
        sum(1 for line in cut if line.startswith(" TRACE"))


def _nft_base_chains():
    """'table:chain' of the IPv4 base chains in the nft dump taken beside nft.iptables-save."""
    document = json.loads(ruleset_of("nft.ruleset.json")["text"])["nftables"]
    return ["%s:%s" % (item["chain"]["table"], item["chain"]["name"]) for item in document
            if "chain" in item and item["chain"]["family"] == "ip" and "hook" in item["chain"]]


def test_nft_packet_to_the_host_is_delivered_when_no_input_chain_exists():
    ruleset = dict(ruleset_of("nft.iptables-save"), base_chains=_nft_base_chains())
    assert "filter:INPUT" not in ruleset["base_chains"] and "filter:FORWARD" in ruleset["base_chains"]
    result = build_journeys(read_lines("nft-container_to_host.trace"), ruleset=ruleset)
    request = result["packets"][0]
    assert request["direction"] == "request" and request["hops"][-1]["hook"] == "PREROUTING"
    assert request["fate"] == "delivered" and "input_untraced" in request["flags"]


def test_nft_save_alone_cannot_tell_that_input_has_no_chain():
    # iptables-nft-save prints ':INPUT ACCEPT' although nftables has no such chain.
    # Only its traced reply proves the request was delivered.
    result = build_journeys(read_lines("nft-container_to_host.trace"), ruleset=ruleset_of("nft.iptables-save"))
    assert result["packets"][0]["fate"] == "delivered"
    assert "path_incomplete" not in result["packets"][0]["flags"]
    assert "later reply" in result["packets"][0]["inferred"]["reason"]


def test_dropped_packet_is_not_expected_on_its_out_interface():
    result = journeys("legacy", "cross_network", with_pcaps=True)
    dropped = [packet for packet in result["packets"] if packet["fate"] == "dropped"]
    assert dropped
    out_ifaces = set(hop["out"] for hop in dropped[0]["hops"] if hop.get("out"))
    assert out_ifaces
    assert not [flag for flag in dropped[0]["flags"] if flag.split(":")[-1] in out_ifaces]
