# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Journeys written to a file (write_journeys, what packetflow_trace_log's dest runs) are, byte for
byte, collect_journeys' result as JSON, for every trace fixture, with and without ruleset, captures,
flow and a packet cap; the result handed back holds each packet's outcome."""

from __future__ import annotations

import io
import json
import os
import sys

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journey_file import (
    OUTCOME_KEYS,
    write_journeys,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import collect_journeys

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "golden")
sys.path.insert(0, GOLDEN)
import make_golden  # noqa: E402  pylint: disable=wrong-import-position


def argument_sets(name):
    """(label, keyword arguments) of the runs compared for one trace fixture."""
    rules = make_golden.rulesets_of(name)
    pcaps = make_golden.captures(make_golden.run_prefix(name)) or None
    found = [("bare", {}), ("max-packets-3", {"max_packets": 3})]
    if rules:
        found.append(("ruleset+pcaps", {"ruleset": make_golden.ruleset(rules[0]), "pcaps": pcaps}))
    for flow in make_golden.FLOWS.get(name, ()):
        found.append(("flow", {"flow": flow, "pcaps": pcaps, "max_packets": 4}))
    return found


CASES = [(name, label, kwargs) for name in make_golden.trace_names() for label, kwargs in argument_sets(name)]


@pytest.mark.parametrize("name,label,kwargs", CASES, ids=["%s-%s" % (case[0], case[1]) for case in CASES])
def test_written_journeys_are_collect_journeys_result(name, label, kwargs):
    lines = make_golden.read_lines(name)
    expected = collect_journeys(lines, **kwargs)
    out = io.StringIO()
    result = write_journeys(out, lines, **kwargs)
    assert out.getvalue() == json.dumps(expected), label
    assert result["packets"] == [
        dict((key, packet[key]) for key in OUTCOME_KEYS if key in packet) for packet in expected["packets"]
    ]
    assert dict(result, packets=None) == dict(expected, packets=None)


def test_outcome_is_what_users_read():
    lines = make_golden.read_lines("legacy-cross_network.kmsg")
    outcome = write_journeys(io.StringIO(), lines)["packets"][0]
    assert {"id", "summary", "direction", "fate", "fate_at", "flags"} <= set(outcome)
    assert "hops" not in outcome and "journey" not in outcome
