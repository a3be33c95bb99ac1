# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A trace that ends at a rule of a chain Docker fixes takes that rule's verdict, never the tracing rule's."""

from __future__ import annotations

import pytest
from analysis_support import read_lines, ruleset_of

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.infer import infer_hops
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys


def hop(table, chain, hook, rule_text=None, target=None):
    return {
        "table": table,
        "chain": chain,
        "hook": hook,
        "type": "rule",
        "rule": 2,
        "verdict": None,
        "rule_text": rule_text,
        "target": target,
        "src": "192.0.2.1",
        "dst": "172.18.0.2",
    }


def test_a_trace_ending_in_docker_forward_is_accepted_by_docker_28():
    hops = [hop("filter", "FORWARD", "FORWARD"), hop("filter", "DOCKER-FORWARD", "FORWARD")]
    infer_hops(hops)
    assert hops[-1]["verdict"] == "ACCEPT" and "Docker 28.0 or later" in hops[-1]["inferred"]["reason"]


def test_a_docker_forward_rule_of_another_target_is_not_inferred():
    hops = [hop("filter", "DOCKER-FORWARD", "FORWARD", "-A DOCKER-FORWARD -j DOCKER-CT", "DOCKER-CT")]
    infer_hops(hops)
    assert hops[-1]["verdict"] is None and "inferred" not in hops[-1]


def test_a_raw_prerouting_rule_shown_as_docker_s_drop_is_a_drop():
    # An nft monitor rule line cut before its verdict: the text is Docker 28.2's, not a tracing rule.
    text = 'ip daddr 172.18.0.2 iifname != "br-3c4d" counter packets 1 bytes 84'
    hops = [hop("raw", "PREROUTING", "PREROUTING", "meta nftrace set 1"), hop("raw", "PREROUTING", "PREROUTING", text)]
    hops[0]["verdict"] = "CONTINUE"
    infer_hops(hops)
    assert hops[-1]["verdict"] == "DROP" and "Docker 28.2 or later" in hops[-1]["inferred"]["reason"]


@pytest.mark.parametrize(
    "rule_text, target",
    [
        (None, None),  # a kernel log line: rule:N only
        ("-A PREROUTING -p tcp -m multiport --ports 80,18080 -j TRACE", "TRACE"),
        ("tcp dport { 80, 18080 } meta nftrace set 1", None),
    ],
)
def test_the_tracing_rule_or_a_bare_rule_number_in_raw_prerouting_is_not_a_drop(rule_text, target):
    hops = [hop("raw", "PREROUTING", "PREROUTING", rule_text, target)]
    infer_hops(hops)
    assert hops[-1]["verdict"] is None and "inferred" not in hops[-1]


@pytest.mark.parametrize("ruleset", [None, "legacy.iptables-save"])
def test_a_docker_20_trace_cut_after_its_trace_rule_stays_unknown(ruleset):
    lines = read_lines("legacy-cross_network.kmsg")[:2]
    packet = build_journeys(lines, ruleset=ruleset_of(ruleset) if ruleset else None)["packets"][0]
    assert packet["fate"] == "unknown" and packet["fate_reason"] and "inferred" not in packet
