# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A header that changes where the kernel rewrites nothing is a damaged line, never a NAT record."""

from __future__ import annotations

import pytest
from analysis_support import read_lines, ruleset_of

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.damage import split_damaged
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys

LEGACY = "legacy-external_to_published.kern.log"
XTABLES = "nft-external_to_published.trace"


def rewrites(result):
    return {(record["kind"], record["from"], record["to"]) for packet in result["packets"] for record in packet["nat"]}


def damaged(name, number, old, new):
    lines = read_lines(name)
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    return lines


@pytest.mark.parametrize("ruleset", [None, "legacy.iptables-save"])
def test_a_cut_source_port_in_a_kernel_log_is_an_unparsed_line_not_a_rewrite(ruleset):
    rules = ruleset_of(ruleset) if ruleset else None
    clean = build_journeys(read_lines(LEGACY), ruleset=rules)
    result = build_journeys(damaged(LEGACY, 2, "SPT=44160 ", "SPT=441 "), ruleset=rules)
    assert rewrites(result) == rewrites(clean)
    listed = [item for item in result["unparsed"] if item["line"] == 2]
    assert listed and listed[0]["reason"].startswith("SPORT=441 disagrees with line 3 (mangle:PREROUTING)")
    assert result["counts"]["unparsed"] == clean["counts"]["unparsed"] + 1
    assert result["counts"]["events"] == clean["counts"]["events"] - 1


@pytest.mark.parametrize("ruleset", [None, "nft.iptables-save"])
def test_a_cut_source_port_in_xtables_monitor_output_makes_no_rewrite(ruleset):
    rules = ruleset_of(ruleset) if ruleset else None
    clean = build_journeys(read_lines(XTABLES), ruleset=rules)
    result = build_journeys(damaged(XTABLES, 1, "SPORT=35940 ", "SPORT=359 "), ruleset=rules)
    assert rewrites(result) == rewrites(clean)
    # The PACKET line's headers were taken by its two TRACE lines: both are listed.
    assert [item["line"] for item in result["unparsed"]] == [2, 3]
    assert all("(damaged line)" in item["reason"] for item in result["unparsed"])


def test_a_cut_destination_port_before_the_nat_rule_keeps_the_rule_and_its_rewrite():
    result = build_journeys(damaged(LEGACY, 5, "DPT=18080 ", "DPT=180 "))
    first = result["packets"][0]
    assert [(record["kind"], record["from"], record["to"]) for record in first["nat"]] == [
        ("DNAT", "198.51.100.1:18080", "172.17.0.2:80")
    ]
    assert [item["line"] for item in result["unparsed"]] == [1, 5, 114]


def test_many_damaged_lines_make_a_reading_warning():
    lines = read_lines(LEGACY)
    for number, line in enumerate(lines):
        if "TRACE: mangle:" in line:
            lines[number] = line.replace(" SPT=", " SPT=9", 1)
    result = build_journeys(lines)
    assert sum("damaged line" in item["reason"] for item in result["unparsed"]) > 10
    assert result["warnings"] and rewrites(result) == rewrites(build_journeys(read_lines(LEGACY)))


def hop(line, table, chain, **headers):
    found = {
        "line": line,
        "table": table,
        "chain": chain,
        "hook": chain,
        "family": "ip",
        "src": "192.0.2.1",
        "sport": 40000,
        "dst": "198.51.100.1",
        "dport": 80,
    }
    found.update(headers)
    return found


def changes(hops):
    """Every index but the first: a superset of the hops whose headers change is enough."""
    return list(range(1, len(hops)))


def SEEN(hop):
    return False


def known(table, chain):
    return chain


def test_the_un_nat_of_a_reply_where_the_kernel_does_it_is_kept():
    # A reply to a masqueraded connection: its destination goes back to the container after the nat
    # table of PREROUTING (conntrack, no nat rule traced).
    hops = [
        hop(1, "raw", "PREROUTING"),
        hop(2, "mangle", "PREROUTING"),
        hop(3, "filter", "FORWARD", dst="172.17.0.2", dport=5000),
        hop(4, "mangle", "POSTROUTING", dst="172.17.0.2", dport=5000),
    ]
    assert split_damaged(hops, changes(hops), known, SEEN) == (hops, [])


def test_a_destination_that_changes_between_raw_and_mangle_is_damage():
    hops = [
        hop(1, "raw", "PREROUTING"),
        hop(2, "mangle", "PREROUTING", dport=8),
        hop(3, "nat", "PREROUTING"),
        hop(4, "filter", "FORWARD", dst="172.17.0.2"),
    ]
    kept, bad = split_damaged(hops, changes(hops), known, SEEN)
    assert [found["line"] for found in kept] == [1, 3, 4] and [found["line"] for found in bad] == [2]


def test_hops_of_tables_whose_place_is_not_known_are_not_judged():
    hops = [hop(1, "mine", "pre"), hop(2, "mine", "pre", sport=1)]
    assert split_damaged(hops, changes(hops), lambda table, chain: None, SEEN) == (hops, [])
    bridged = [hop(1, "raw", "PREROUTING"), hop(2, "filter", "FORWARD", family="bridge", sport=1)]
    assert split_damaged(bridged, changes(bridged), known, SEEN) == (bridged, [])
