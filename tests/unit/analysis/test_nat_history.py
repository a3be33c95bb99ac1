# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A damaged line next to a NAT hook is held to its connection's NAT: never a fake rewrite, in any format."""

from __future__ import annotations

import ipaddress
import random
import re

import pytest
from analysis_support import read_lines, ruleset_of

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys

# (fixture, the header fields of its lines, the ruleset of its back end)
FORMATS = {
    "legacy": ("legacy-external_to_published.kern.log", r" (?:SPT|DPT|SRC|DST)=(\S+)", "legacy.iptables-save"),
    "xtables-monitor": ("nft-external_to_published.trace", r" (?:SPORT|DPORT|SRC|DST)=(\S+)", "nft.iptables-save"),
    "nft-monitor": (
        "nftables-external_to_published.trace",
        r" (?:ip|tcp) (?:saddr|daddr|sport|dport) (\S+)",
        "nftables.ruleset.json",
    ),
}


def rewrites(result):
    return {(record["kind"], record["from"], record["to"]) for packet in result["packets"] for record in packet["nat"]}


def header_fields(lines, pattern, start=0):
    """(line index, start, end, value) of every address and port value from line index start on."""
    return [
        (index, found.start(1), found.end(1), found.group(1))
        for index in range(start, len(lines))
        for found in re.finditer(pattern, lines[index])
    ]


def assert_no_fake_packet_or_rewrite(lines, real, ruleset=None):
    result = build_journeys(lines, ruleset=ruleset)
    for packet in result["packets"]:
        for hop in packet["hops"]:
            ipaddress.ip_address(hop["src"]), ipaddress.ip_address(hop["dst"])
            assert all(hop.get(port) is None or 0 <= hop[port] <= 65535 for port in ("sport", "dport"))
    fake = rewrites(result) - real
    assert not fake, (fake, [line for line in lines if line])
    return result


def replaced(lines, field, value):
    index, start, end = field[:3]
    mutated = list(lines)
    mutated[index] = lines[index][:start] + value + lines[index][end:]
    return mutated


@pytest.mark.parametrize(
    "trace_format, every_cut", [("legacy", False), ("xtables-monitor", True), ("nft-monitor", True)]
)
def test_no_cut_of_any_address_or_port_makes_a_rewrite(trace_format, every_cut):
    """Every prefix of every address and port of every line (the measurement that found 60 fake
    rewrites in xtables-monitor output and 21 in nft monitor output, next to NAT hooks): none. The
    kernel log, where that measurement found none of its 2870 already, is cut at three lengths a value."""
    name, pattern = FORMATS[trace_format][:2]
    lines = read_lines(name)
    real = rewrites(build_journeys(lines))
    cuts = 0
    for field in header_fields(lines, pattern):
        value = field[3]
        lengths = range(1, len(value)) if every_cut else sorted({1, len(value) // 2, len(value) - 1} - {0})
        for cut in lengths:
            assert_no_fake_packet_or_rewrite(replaced(lines, field, value[:cut]), real)
            cuts += 1
    assert cuts > 500


def first_packet_end(lines):
    """The index of the line after the last of the first packet (the connection's SYN and its nat rule)."""
    return max(hop["line"] for hop in build_journeys(lines)["packets"][0]["hops"])


@pytest.mark.parametrize("with_ruleset", [False, True])
@pytest.mark.parametrize("trace_format", FORMATS)
def test_seeded_damage_of_later_packets_never_makes_a_rewrite(trace_format, with_ruleset):
    """Later packets of a connection, one header value of one line replaced (cut, glued to a digit or the
    next key, another field's value, random digits): conntrack rewrites each as it rewrote the first."""
    name, pattern, ruleset_name = FORMATS[trace_format]
    ruleset = ruleset_of(ruleset_name) if with_ruleset else None
    lines = read_lines(name)
    real = rewrites(build_journeys(lines, ruleset=ruleset))
    fields = header_fields(lines, pattern, first_packet_end(lines))
    values = sorted({field[3] for field in fields})
    rng = random.Random(12)
    for dummy in range(100):
        field = rng.choice(fields)
        value = field[3]
        damaged = rng.choice(
            [
                value[: rng.randrange(1, len(value))] if len(value) > 1 else "9",
                value + rng.choice("0123456789"),
                value + "LEN=60",
                rng.choice(values),
                "".join(rng.choice("0123456789.") for dummy in range(rng.randint(1, 12))),
            ]
        )
        assert_no_fake_packet_or_rewrite(replaced(lines, field, damaged), real, ruleset)


def test_a_reply_port_cut_before_forward_is_a_damaged_line_held_to_the_connection():
    """The SYN ACK's raw PREROUTING in xtables-monitor output, its destination port cut: the hooks allow
    a rewrite there (conntrack's un-SNAT), but the request was not SNATed (its nat POSTROUTING policy)."""
    lines = read_lines("nft-external_to_published.trace")
    number = 16
    assert "DPORT=35940 SYN ACK" in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace("DPORT=35940 ", "DPORT=359 ", 1)
    result = build_journeys(lines)
    assert rewrites(result) == rewrites(build_journeys(read_lines("nft-external_to_published.trace")))
    listed = [item for item in result["unparsed"] if item["line"] in (17, 18)]
    assert [item["line"] for item in listed] == [17, 18]
    assert listed[0]["reason"] == (
        "DPORT=359 disagrees with line 20 (filter:FORWARD) and its connection's NAT (first packet at line 2) "
        "keeps the reply's destination 198.51.100.2:35940 (damaged line)"
    )


def test_a_later_request_whose_forward_port_is_cut_keeps_its_raw_hops():
    """nft monitor: the third packet's filter FORWARD port cut (80 -> 8): its connection's DNAT took
    18080 to 172.17.0.2:80, so the FORWARD hops are the damaged ones."""
    lines = read_lines("nftables-external_to_published.trace")
    number = 36
    assert "tcp dport 80 " in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace("tcp dport 80 ", "tcp dport 8 ", 1)
    result = build_journeys(lines)
    damaged = [item for item in result["unparsed"] if "damaged line" in item["reason"]]
    assert damaged and all(36 <= item["line"] <= 41 for item in damaged)
    assert "takes the request's destination 198.51.100.1:18080 to 172.17.0.2:80" in damaged[0]["reason"]
    assert rewrites(result) <= rewrites(build_journeys(read_lines("nftables-external_to_published.trace")))


def test_a_first_packet_is_held_to_the_target_of_its_traced_dnat_rule():
    """xtables-monitor: the SYN's filter FORWARD headers given another port than the DNAT rule's
    --to-destination 172.17.0.2:80 (not a prefix of it: the cut rule alone would keep it)."""
    lines = read_lines("nft-external_to_published.trace")
    number = 7
    assert "DST=172.17.0.2 " in lines[number - 1] and "DPORT=80 " in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace("DPORT=80 ", "DPORT=99 ", 1)
    result = build_journeys(lines)
    first = result["packets"][0]
    assert [(record["kind"], record["from"], record["to"]) for record in first["nat"]] == [
        ("DNAT", "198.51.100.1:18080", "172.17.0.2:80")
    ]
    reasons = [item["reason"] for item in result["unparsed"] if "damaged line" in item["reason"]]
    assert reasons and "the DNAT rule of line 6 rewrites the destination to 172.17.0.2:80" in reasons[0]
