# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""IPv6 and the bridge family in the three trace formats, on the ipv6-* fixtures recorded here
(tests/unit/fixtures/traces/README.md, "IPv6 and bridge-family traces")."""

from __future__ import annotations

import glob

import pytest
from analysis_support import fixture_path, read_lines, ruleset_of

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.pcap import read_capture
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.trace_legacy import LegacyParser, parse_line

RUNS = {  # run: (trace, ruleset, format)
    "ipv6-legacy": ("ipv6-legacy.kmsg.txt", "ipv6-legacy.ip6tables-save", "legacy"),
    "ipv6-xtables": ("ipv6-xtables.trace.txt", "ipv6-xtables.ip6tables-save", "xtables-monitor"),
    "ipv6-nftables": ("ipv6-nftables.trace.txt", "ipv6-nftables.ruleset.json", "nft-monitor"),
}


def journeys(run, pcaps=True):
    trace, rules, _format = RUNS[run]
    found = sorted(glob.glob(fixture_path(run + ".*.pcap"))) if pcaps else None
    return build_journeys(read_lines(trace), ruleset=ruleset_of(rules), pcaps=found)


def packet(result, summary_start, family=None):
    """The first packet whose summary starts so (and whose first hop is of that family)."""
    for found in result["packets"]:
        if found["summary"].startswith(summary_start) and (family is None or found["hops"][0]["family"] == family):
            return found
    raise AssertionError("no packet %r in %s" % (summary_start, [p["summary"] for p in result["packets"]]))


def path(found):
    return [(hop["family"], hop["table"], hop["chain"], hop["type"], hop.get("verdict")) for hop in found["hops"]]


@pytest.mark.parametrize("run", sorted(RUNS))
def test_every_hop_names_its_family(run):
    result = journeys(run, pcaps=False)
    assert result["format"] == RUNS[run][2]
    families = {hop["family"] for found in result["packets"] for hop in found["hops"]}
    assert (
        families
        == {"legacy": {"ip", "ip6", "bridge"}, "xtables-monitor": {"ip6"}, "nft-monitor": {"bridge", "inet"}}[
            result["format"]
        ]
    )


def test_kernel_log_ipv6_echo_keeps_hop_limit_flow_label_and_captures():
    echo = packet(journeys("ipv6-legacy"), "2001:db8:1::a > 2001:db8:2::c ICMPv6 echo-request id 24555 seq 0")
    assert path(echo) == [
        ("ip6", "raw", "PREROUTING", "policy", "ACCEPT"),
        ("ip6", "filter", "FORWARD", "policy", "ACCEPT"),
    ]
    assert [(hop["hop_limit"], hop["flow_label"], hop["len"], hop["ttl"]) for hop in echo["hops"]] == [
        (64, 421831, 104, None),
        (63, 421831, 104, None),
    ]
    assert (echo["flow"]["icmp_type"], echo["flow"]["flow_label"], echo["flow"]["hop_limit"]) == (128, 421831, 64)
    assert echo["fate"] == "delivered" and echo["direction"] == "request"
    assert sorted({capture["pcap"] for capture in echo["captures"]}) == [
        "ipv6-legacy.any-sll.pcap",
        "ipv6-legacy.any-sll2.pcap",
        "ipv6-legacy.pfvbr0.pcap",
    ]
    reply = packet(journeys("ipv6-legacy"), "2001:db8:2::c > 2001:db8:1::a ICMPv6 echo-reply id 24555 seq 0")
    assert reply["direction"] == "reply" and reply["flow"]["flow_label"] == 628034


def test_kernel_log_neighbour_discovery_and_dropped_syns():
    result = journeys("ipv6-legacy")
    solicit = packet(result, "2001:db8:1::a > ff02::1:ff00:1 ICMPv6 nd-neighbor-solicit", "ip6")
    advert = packet(result, "2001:db8:1::1 > 2001:db8:1::a ICMPv6 nd-neighbor-advert")
    assert (solicit["flow"]["icmp_type"], solicit["direction"], solicit["hops"][0]["hop_limit"]) == (
        135,
        "request",
        255,
    )
    assert (advert["flow"]["icmp_type"], advert["direction"], advert["hops"][0]["chain"]) == (136, "reply", "OUTPUT")
    syns = [found for found in result["packets"] if found["summary"].endswith("2001:db8:2::c:8081 TCP SYN")]
    # The retransmitted SYN has the same sequence number and a new flow label: two packets, both dropped.
    assert [(found["flow"]["tcp_seq"], found["flow"]["flow_label"], found["fate"]) for found in syns] == [
        (1150264517, 851765, "dropped"),
        (1150264517, 96404, "dropped"),
    ]
    assert syns[0]["fate_at"]["rule_text"] == "-A FORWARD -p tcp -m tcp --dport 8081 -j DROP"
    assert [hop["hop_limit"] for hop in syns[0]["hops"]] == [7, 6]


def test_dmesg_gives_the_packets_of_kmsg():
    kmsg = build_journeys(read_lines("ipv6-legacy.kmsg.txt"))
    dmesg = build_journeys(read_lines("ipv6-legacy.dmesg.txt"))
    assert [found["summary"] for found in dmesg["packets"]] == [found["summary"] for found in kmsg["packets"]]


def test_ebtables_lines_beside_ip6tables_and_iptables_lines():
    result = journeys("ipv6-legacy")
    bridged = packet(result, "2001:db8:1::a > ff02::1:ff00:1 ICMPv6", "bridge")
    assert path(bridged) == [
        ("bridge", "nat", "PREROUTING", "rule", None),
        ("bridge", "filter", "FORWARD", "rule", "ACCEPT"),
        ("bridge", "filter", "INPUT", "rule", None),
    ]
    forward = bridged["hops"][1]
    assert (forward["in"], forward["out"], forward["mac_src"], forward["mac_dst"], forward["ethertype"]) == (
        "pfv-a-p",
        "pfv-b-p",
        "06:1b:63:97:7c:6f",
        "33:33:ff:00:00:01",
        "0x86dd",
    )
    tcp = packet(result, "2001:db8:1::a:34982 > 2001:db8:2::c:8081 TCP", "bridge")
    assert (tcp["hops"][0]["proto"], tcp["hops"][0]["sport"], tcp["hops"][0]["dport"]) == ("TCP", 34982, 8081)
    ipv4 = packet(result, "198.51.100.11 > 198.51.100.12 ICMP", "bridge")
    assert [hop["ethertype"] for hop in ipv4["hops"]] == ["0x0800"] * 3
    assert packet(result, "198.51.100.11 > 198.51.100.12 ICMP echo-request", "ip")["hops"][0]["chain"] == "PREROUTING"
    arp = [line["reason"] for line in result["unparsed"] if "eb:" in line["text"]]
    assert arp == ["ebtables line of a frame without an IP header (ethertype 0x0806)"] * 9


def test_xtables_monitor_ipv6_lengths_and_its_crash_lines():
    result = journeys("ipv6-xtables")
    solicit = packet(result, "2001:db8:1::a > ff02::1:ff00:1 ICMPv6 nd-neighbor-solicit")
    # xtables-monitor prints LEN=52 for this 72-byte packet; its ICMPv6 type comes from the capture.
    assert [hop["len"] for hop in solicit["hops"]] == [72, 72, 72]
    assert {capture["src"] for capture in solicit["captures"]} == {"2001:db8:1::a"}
    syn = packet(result, "2001:db8:1::a:55724 > 2001:db8:2::c:8080 TCP SYN")
    assert [(hop["chain"], hop["hop_limit"], hop["flow_label"]) for hop in syn["hops"]] == [
        ("PREROUTING", 7, 265693),
        ("PREROUTING", 7, 265693),
        ("FORWARD", 6, 265693),
    ]
    assert [line["text"][:40] for line in result["unparsed"]] == [
        "Error: unsupported layer 4 protocol valu",
        "xtables-monitor v1.8.9 (nf_tables): Pars",
        "Perhaps xtables-monitor or your kernel n",
    ]


def test_nft_monitor_bridge_and_inet_hops_of_one_packet():
    result = journeys("ipv6-nftables")
    assert result["counts"]["unparsed"] == 0
    solicit = packet(result, "2001:db8:1::a > ff02::1:ff00:1 ICMPv6 nd-neighbor-solicit")
    assert [(hop["family"], hop["table"], hop["chain"], hop["hook"]) for hop in solicit["hops"]] == [
        ("bridge", "pfv_bridge", "prerouting", "PREROUTING"),
        ("bridge", "pfv_bridge", "prerouting", "PREROUTING"),
        ("inet", "pfv_trace", "prerouting", "PREROUTING"),
        ("inet", "pfv_trace", "prerouting", "PREROUTING"),
        ("bridge", "pfv_bridge", "forward", "FORWARD"),
        ("inet", "pfv_trace", "forward", "FORWARD"),
        ("bridge", "pfv_bridge", "input", "INPUT"),
    ]
    assert solicit["hops"][4]["rule_text"] == "ip6 nexthdr ipv6-icmp accept"
    assert (solicit["hops"][4]["in"], solicit["hops"][4]["out"]) == ("pfv-a-p", "pfv-b-p")
    syn = packet(result, "2001:db8:1::a:55826 > 2001:db8:2::c:8081 TCP SYN")
    assert (syn["fate"], syn["fate_at"]["table"], syn["fate_at"]["rule_text"]) == (
        "dropped",
        "pfv_trace",
        "tcp dport 8081 drop",
    )
    assert [hop["hop_limit"] for hop in syn["hops"]][-1] == 6


def test_nft_icmpv6_echo_id_and_sequence_agree_with_the_capture():
    echo = packet(journeys("ipv6-nftables"), "2001:db8:1::a > 2001:db8:2::c ICMPv6 echo-request")
    assert (echo["flow"]["icmp_id"], echo["flow"]["icmp_seq"], echo["flow"]["flow_label"]) == (24638, 0, 421831)
    captured = [
        record
        for record in read_capture(fixture_path("ipv6-nftables.pfvbr0.pcap"))
        if record.get("icmp_type") == 128 and record["dst"] == "2001:db8:2::c"
    ]
    assert [(record["icmp_id"], record["icmp_seq"], record["flow_label"]) for record in captured] == [
        (24638, 0, 421831)
    ]
    assert len(echo["captures"]) == 7


@pytest.mark.parametrize(
    "name, ifindex",
    [("ipv6-legacy.any-sll.pcap", False), ("ipv6-legacy.any-sll2.pcap", True), ("ipv6-legacy.pfvbr0.pcap", False)],
)
def test_pcaps_of_ipv6_in_each_link_type(name, ifindex):
    records = list(read_capture(fixture_path(name)))
    report = records[0]  # an MLDv2 report behind a hop-by-hop header
    assert (report["src"], report["dst"], report["proto"], report["icmp_type"], report["hop_limit"]) == (
        "fe80::41b:63ff:fe97:7c6f",
        "ff02::16",
        "ICMPv6",
        143,
        1,
    )
    assert ("ifindex" in report) is ifindex
    syns = [record for record in records if record.get("dport") == 8081]
    assert {(record["tcp_seq"], record["flow_label"], record["len"]) for record in syns} == {
        (1150264517, 851765, 80),
        (1150264517, 96404, 80),
    }


def test_flow_label_tells_bare_acks_from_data_in_captures():
    """Every packet of a connection has one flow label: length and TCP flags tell which capture is which."""
    result = journeys("ipv6-legacy")
    sent = [
        found
        for found in result["packets"]
        if found["hops"] and found["hops"][0]["family"] == "ip6" and found["flow"].get("sport") == 59786
    ]
    assert [found["summary"].rsplit(" ", 1)[-1] for found in sent] == ["SYN", "ACK", "PSH,ACK", "ACK", "FIN,ACK", "ACK"]
    assert all(found["captures"] for found in sent)
    lengths = {
        (name, record["index"]): record["len"]
        for name in ("ipv6-legacy.any-sll.pcap", "ipv6-legacy.pfvbr0.pcap")
        for record in read_capture(fixture_path(name))
    }
    seen = [
        sorted({lengths.get((capture["pcap"], capture["index"])) for capture in found["captures"]} - {None})
        for found in sent
    ]
    assert seen == [[80], [72], [74], [72], [72], [72]]


def test_one_pass_reading_of_ipv6_lines_gives_what_field_by_field_reading_gives():
    parser = LegacyParser()
    compared = 0
    for line in read_lines("ipv6-legacy.kmsg.txt"):
        if "TRACE: " not in line or "eb:" in line:
            continue
        (event,) = parser.feed(line)
        event.pop("line")
        assert event == parse_line(line)
        compared += 1
    assert compared == 50


def test_a_flow_of_ipv6_addresses_keeps_its_lines_in_any_spelling():
    """nf_log writes all 32 digits: the flow's short address finds them, and a long one is read too."""
    for flow in ({"src": "2001:db8:1::a", "dport": 8081}, {"src": "2001:0DB8:0001::000A", "dport": 8081}):
        result = build_journeys(read_lines("ipv6-legacy.kmsg.txt"), flow=flow)
        assert [(found["summary"], found["hops"][0]["family"]) for found in result["packets"]] == [
            ("2001:db8:1::a:34982 > 2001:db8:2::c:8081 TCP", "bridge"),
            ("2001:db8:1::a:34982 > 2001:db8:2::c:8081 TCP SYN", "ip6"),
        ] * 2
    echo = build_journeys(read_lines("ipv6-legacy.kmsg.txt"), flow={"dst": "2001:db8:2::c", "proto": "icmpv6"})
    assert [found["summary"] for found in echo["packets"] if found["hops"][0]["family"] == "ip6"] == [
        "2001:db8:1::a > 2001:db8:2::c ICMPv6 echo-request id 24555 seq 0",
        "2001:db8:2::c > fe80::64da:7dff:feff:2779 ICMPv6 nd-neighbor-advert",
        "2001:db8:2::c > ff02::1:ff00:1 ICMPv6 nd-neighbor-solicit",
        "2001:db8:2::1 > 2001:db8:2::c ICMPv6 nd-neighbor-advert",
        "2001:db8:2::c > 2001:db8:1::a ICMPv6 echo-reply id 24555 seq 0",
    ]
