# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tolerant, strict reading, on real traces re-wrapped or damaged by fixtures/traces/derived/derive.py."""

from __future__ import annotations

import importlib.util
import ipaddress
import os

import pytest
from analysis_support import FIXTURES, read_lines, ruleset_of

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.trace_nft import parse_nft_line
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.trace_xtables import XtablesParser

DERIVED = os.path.join(FIXTURES, "derived")
_SPEC = importlib.util.spec_from_file_location("derive", os.path.join(DERIVED, "derive.py"))
DERIVE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(DERIVE)
RULESETS = {"legacy": "legacy.iptables-save", "nft": "nft.ruleset.json", "nftables": "nftables.ruleset.json"}


def derived(name):
    with open(os.path.join(DERIVED, name)) as handle:
        return handle.readlines()


def run(lines, name):
    return build_journeys(lines, ruleset=ruleset_of(RULESETS[name.split("-", 1)[0]]))


def without_lines(packets):
    """The packets with the hop fields a re-wrapping may change (line numbers) left out."""
    return [
        [{key: value for key, value in hop.items() if key != "line"} for hop in packet["hops"]] for packet in packets
    ]


@pytest.mark.parametrize(
    "name",
    [
        "legacy-external_to_published.indented.kern.log",
        "nft-external_to_published.glued.trace",
        "nftables-external_to_published.elided.trace",
    ],
)
def test_rewrapped_real_lines_read_as_the_originals(name):
    assert derived(name) == DERIVE.outputs()[name]
    original = name.replace(".indented", "").replace(".glued", "").replace(".elided", "")
    expected, found = run(read_lines(original), original), run(derived(name), name)
    assert found["counts"] == expected["counts"]
    assert without_lines(found["packets"]) == without_lines(expected["packets"])
    assert [packet["nat"] for packet in found["packets"]] == [packet["nat"] for packet in expected["packets"]]
    assert found["warnings"] == []


def test_glued_id_without_df_keeps_the_ports():
    line = next(line for line in derived("nft-external_to_published.glued.trace") if "DF SPORT" in line)
    parser = XtablesParser()
    parser.feed(line.replace("DF SPORT", "SPORT"))
    trace_id = line.split()[2]
    event = parser.feed(" TRACE: 2 %s raw:PREROUTING:policy:ACCEPT " % trace_id)[0]
    assert (event["ip_id"], event["sport"], event["dport"], event["proto"]) == (45094, 35940, 18080, "TCP")


def test_nft_packet_line_without_source_port_keeps_what_it_carries():
    line = next(line for line in read_lines("nftables-external_to_published.trace") if " packet: " in line)
    event = parse_nft_line(line.replace("tcp sport 32894 ", ""))
    assert (event["proto"], event["sport"], event["dport"], event["tcp_flags"]) == ("TCP", None, 18080, ["SYN"])


def test_nft_icmpv6_type_is_read():
    line = next(line for line in read_lines("nftables-host_to_container.trace") if "icmp type" in line)
    line = line.replace(" ip ", " ip6 ").replace("icmp type echo-request", "icmpv6 type echo-request")
    line = line.replace("ip6 saddr 172.17.0.1", "ip6 saddr 2001:db8::1").replace("icmp ", "icmpv6 ")
    line = line.replace("ip6 daddr 172.17.0.2", "ip6 daddr 2001:db8::2")
    event = parse_nft_line(line)
    assert (event["proto"], event["icmp_type"], event["src"]) == ("ICMPv6", 128, "2001:db8::1")


@pytest.mark.parametrize(
    "name",
    [
        "legacy-external_to_published.corrupted.kern.log",
        "nft-external_to_published.corrupted.trace",
        "nftables-external_to_published.corrupted.trace",
    ],
)
def test_corrupted_lines_are_unparsed_with_a_reason_never_packets_or_rewrites(name):
    source, edits = DERIVE.CORRUPTIONS[name]
    damaged_lines = {number for number, _real, _damaged in edits}
    found = run(derived(name), name)
    reasons = {item["line"]: item["reason"] for item in found["unparsed"]}
    assert damaged_lines <= set(reasons)
    assert all(reasons[number] not in ("not a TRACE line", "its PACKET line never came") for number in damaged_lines)
    for packet in found["packets"]:
        for hop in packet["hops"]:
            assert hop["line"] not in damaged_lines
            ipaddress.ip_address(hop["src"]), ipaddress.ip_address(hop["dst"])
    expected = run(read_lines(source), source)
    real_rewrites = {(record["from"], record["to"]) for packet in expected["packets"] for record in packet["nat"]}
    for packet in found["packets"]:
        for record in packet["nat"]:
            assert (record["from"], record["to"]) in real_rewrites


def test_mostly_unreadable_lines_make_a_warning():
    lines = read_lines("legacy-external_to_published.kern.log")
    damaged = [line.replace(" DST=", " DST=1.2=", 1) if index % 3 == 0 else line for index, line in enumerate(lines)]
    found = run(damaged, "legacy-")
    assert len(found["warnings"]) == 1 and "could not be read" in found["warnings"][0]
    assert run(lines, "legacy-")["warnings"] == []
