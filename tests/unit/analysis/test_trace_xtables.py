# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""xtables-monitor --trace output, on the real fixtures."""

from __future__ import annotations

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.trace_xtables import XtablesParser
from analysis_support import read_lines


def xtables_events(name):
    orphans = []
    parser = XtablesParser(lambda number, text: orphans.append(number))
    events = []
    for number, line in enumerate(read_lines(name), 1):
        events.extend(parser.feed(line, number))
    parser.finish()
    assert orphans == []
    return events


def test_detects_packet_and_trace_lines_only():
    assert XtablesParser.detect(read_lines("nft-cross_network.trace")[0])
    assert XtablesParser.detect(read_lines("nft-cross_network.trace")[1])
    assert not XtablesParser.detect(read_lines("nftables-cross_network.trace")[0])
    assert not XtablesParser.detect(read_lines("legacy-cross_network.kmsg")[1])


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
    parser = XtablesParser()
    assert parser.feed(lines[1], 2) == []
    events = parser.feed(lines[0], 1)
    assert len(events) == 1 and events[0]["src"] == "172.30.1.2" and events[0]["line"] == 2
    assert "text" not in events[0]


def test_xtables_rule_lines_that_never_get_their_packet_line_are_reported():
    orphans = []
    parser = XtablesParser(lambda number, text: orphans.append((number, text)))
    lines = [line for line in read_lines("nft-cross_network.trace") if line.startswith(" TRACE")]
    for number, line in enumerate(lines, 1):
        assert parser.feed(line, number) == []
    parser.finish()
    assert [number for number, _text in orphans] == list(range(1, len(lines) + 1))
    assert orphans[0][1] == lines[0].strip()


def test_xtables_ip_id_glued_to_df_as_older_releases_print_it():
    parser = XtablesParser()
    parser.feed("PACKET: 2 fc475095 IN=lo LL=0x304 00 SRC=127.0.0.1 DST=127.0.0.1 LEN=84 TOS=0x0 TTL=64 ID=38349DF ")
    event = parser.feed(" TRACE: 2 fc475095 raw:PREROUTING:rule:0x3:CONTINUE  -4 -t raw -A PREROUTING -p icmp -j TRACE")[0]
    assert event["ip_id"] == 38349 and event["rule_text"] == "-A PREROUTING -p icmp -j TRACE"


@pytest.mark.parametrize("line", ["PACKET: 2", "PACKET: 2 ab IN=lo OUT=", " TRACE: 2 ab raw:PRE", "hello"])
def test_xtables_unreadable_lines_raise(line):
    with pytest.raises(ValueError):
        XtablesParser().feed(line)
