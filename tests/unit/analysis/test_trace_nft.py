# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""xtables-monitor --trace and nft monitor trace output, on the real fixtures."""

from __future__ import annotations

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import trace_nft
from analysis_support import read_lines


def xtables_events(name):
    orphans = []
    parser = trace_nft.XtablesMonitorParser(lambda number, text: orphans.append(number))
    events = []
    for number, line in enumerate(read_lines(name), 1):
        events.extend(parser.feed(line, number))
    parser.finish()
    assert orphans == []
    return events


def test_detects_both_monitor_formats_from_real_lines():
    assert trace_nft.detect(read_lines("nft-cross_network.trace")[0]) == "xtables-monitor"
    assert trace_nft.detect(read_lines("nft-cross_network.trace")[1]) == "xtables-monitor"
    assert trace_nft.detect(read_lines("nftables-cross_network.trace")[0]) == "nft-monitor"
    assert trace_nft.detect(read_lines("legacy-cross_network.kmsg")[1]) is None


def test_xtables_trace_lines_get_the_headers_of_their_packet_line():
    events = xtables_events("nft-cross_network.trace")
    drop = events[-1]
    assert (drop["table"], drop["chain"], drop["type"], drop["verdict"]) == \
        ("filter", "DOCKER-ISOLATION-STAGE-2", "rule", "DROP")
    assert drop["rule_text"].startswith("-A DOCKER-ISOLATION-STAGE-2 -o br-")
    assert drop["rule_text"].endswith("-j DROP")
    assert drop["out"] == drop["rule_text"].split()[3]
    assert (drop["src"], drop["dst"]) == ("172.30.1.2", "172.30.2.2")
    assert isinstance(drop["handle"], int)


def test_xtables_verdict_codes_policies_and_jumps():
    events = xtables_events("nft-container_to_container.trace")
    verdicts = [(event["chain"], event["type"], event["verdict"]) for event in events]
    assert ("DOCKER-USER", "rule", "RETURN") in verdicts        # printed as 0xfffffffb
    assert ("FORWARD", "rule", "JUMP:DOCKER-USER") in verdicts
    assert ("PREROUTING", "policy", "ACCEPT") in verdicts
    assert ("PREROUTING", "rule", "CONTINUE") in verdicts


def test_xtables_tcp_headers_and_dnat_rewrite_between_packet_lines():
    events = xtables_events("nft-published_port.trace")
    dnat = [event for event in events if event["chain"] == "DOCKER" and event["table"] == "nat"][0]
    assert "-j DNAT --to-destination 172.17.0.2:80" in dnat["rule_text"]
    assert (dnat["dst"], dnat["dport"], dnat["tcp_flags"]) == ("192.0.2.2", 18080, ["SYN"])
    after = events[events.index(dnat) + 1]
    assert (after["chain"], after["dst"], after["dport"]) == ("POSTROUTING", "172.17.0.2", 80)


def test_xtables_rule_line_before_its_packet_line_is_kept_for_it():
    lines = read_lines("nft-cross_network.trace")[:2]
    parser = trace_nft.XtablesMonitorParser()
    assert parser.feed(lines[1], 2) == []
    events = parser.feed(lines[0], 1)
    assert len(events) == 1 and events[0]["src"] == "172.30.1.2" and events[0]["line"] == 2
    assert "text" not in events[0]


def test_xtables_rule_lines_that_never_get_their_packet_line_are_reported():
    orphans = []
    parser = trace_nft.XtablesMonitorParser(lambda number, text: orphans.append((number, text)))
    lines = [line for line in read_lines("nft-cross_network.trace") if line.startswith(" TRACE")]
    for number, line in enumerate(lines, 1):
        assert parser.feed(line, number) == []
    parser.finish()
    assert [number for number, _text in orphans] == list(range(1, len(lines) + 1))
    assert orphans[0][1] == lines[0].strip()


def test_xtables_ip_id_glued_to_df_as_older_releases_print_it():
    parser = trace_nft.XtablesMonitorParser()
    parser.feed("PACKET: 2 fc475095 IN=lo LL=0x304 00 SRC=127.0.0.1 DST=127.0.0.1 LEN=84 TOS=0x0 TTL=64 ID=38349DF ")
    event = parser.feed(" TRACE: 2 fc475095 raw:PREROUTING:rule:0x3:CONTINUE  -4 -t raw -A PREROUTING -p icmp -j TRACE")[0]
    assert event["ip_id"] == 38349 and event["rule_text"] == "-A PREROUTING -p icmp -j TRACE"


@pytest.mark.parametrize("line", ["PACKET: 2", "PACKET: 2 ab IN=lo OUT=", " TRACE: 2 ab raw:PRE", "hello"])
def test_xtables_unreadable_lines_raise(line):
    with pytest.raises(ValueError):
        trace_nft.XtablesMonitorParser().feed(line)


def test_nft_monitor_packet_rule_and_policy_lines():
    lines = read_lines("nftables-cross_network.trace")
    packet = trace_nft.parse_nft_line(lines[0])
    assert packet["kind"] == "packet"
    assert (packet["table"], packet["chain"], packet["in"]) == ("pfa_fixture", "pre", packet["in"])
    assert packet["in"].startswith("br-")
    assert (packet["proto"], packet["icmp_type"], packet["icmp_seq"]) == ("ICMP", 8, 0)
    rule = trace_nft.parse_nft_line(lines[1])
    assert (rule["type"], rule["verdict"]) == ("rule", "CONTINUE")
    assert rule["rule_text"].endswith("meta nftrace set 1")
    drop = trace_nft.parse_nft_line(lines[-1])
    assert (drop["chain"], drop["verdict"]) == ("DOCKER-ISOLATION-STAGE-2", "DROP")
    policies = [trace_nft.parse_nft_line(line) for line in lines if " policy " in line]
    assert all(event["type"] == "policy" and event["verdict"] == "ACCEPT" for event in policies)


def test_nft_monitor_jump_verdict_and_raw_payload_fields():
    lines = read_lines("nftables-container_to_container.trace")
    jumps = [trace_nft.parse_nft_line(line) for line in lines if "(verdict jump" in line]
    assert jumps[0]["verdict"] == "JUMP:DOCKER-USER"
    with_payload = [line for line in lines if "@ll," in line][0]
    packet = trace_nft.parse_nft_line(with_payload)
    assert packet["src"] == "172.30.1.2" and packet["out"].startswith("br-")


def test_nft_monitor_with_handles():
    rule = [trace_nft.parse_nft_line(line) for line in read_lines("nftables-handles.trace") if " rule " in line][0]
    assert rule["handle"] == 2
    assert rule["rule_text"] == "ip daddr 203.0.113.2 meta nftrace set 1"
    assert rule["verdict"] == "CONTINUE"


def test_nft_tcp_flags_hex_and_names():
    assert trace_nft._nft_tcp_flags("0x12") == ["SYN", "ACK"]
    assert trace_nft._nft_tcp_flags("syn") == ["SYN"]
