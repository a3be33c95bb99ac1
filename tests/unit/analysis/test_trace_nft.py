# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nft monitor trace output, on the real fixtures."""

from __future__ import annotations

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import trace_nft
from analysis_support import read_lines


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
