# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every real fixture read with and without its ruleset: what the trace alone proves agrees with the ruleset."""

from __future__ import annotations

import pytest
from analysis_support import BACKENDS, SCENARIOS, journeys


def nat_rules(result, numbered):
    """(table, chain, rule, from, to) of every rewrite; the rule number only where the trace names it."""
    return [
        [
            (
                record.get("table"),
                record.get("chain"),
                record.get("rule") if numbered else None,
                record["from"],
                record["to"],
            )
            for record in packet["nat"]
        ]
        for packet in result["packets"]
    ]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rewrites_are_given_to_the_same_nat_rule_with_or_without_the_ruleset(backend, scenario):
    bare, resolved = journeys(backend, scenario, with_ruleset=False), journeys(backend, scenario)
    assert nat_rules(bare, backend == "legacy") == nat_rules(resolved, backend == "legacy")
