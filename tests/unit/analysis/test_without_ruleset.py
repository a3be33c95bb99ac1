# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every real fixture read with and without its ruleset: what the trace alone proves agrees with the ruleset."""

from __future__ import annotations

import glob
import os

import pytest
from analysis_support import BACKENDS, FIXTURES, SCENARIOS, journeys, read_lines, ruleset_of

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.formats import detect_stream
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.infer import infer_from_replies
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys


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


def assert_inference_agrees(bare, resolved, legacy):
    """What the trace alone proves (inferred verdicts, fates) is what the ruleset says; an unknown says why."""
    assert len(bare["packets"]) == len(resolved["packets"])
    for guessed, known in zip(bare["packets"], resolved["packets"], strict=True):
        for hop, resolved_hop in zip(guessed["hops"], known["hops"], strict=True):
            if hop.get("inferred"):
                assert hop["verdict"] == hop["inferred"]["verdict"] == resolved_hop["verdict"], (hop, resolved_hop)
        if guessed["fate"] == "unknown":
            assert guessed["fate_reason"]
        else:
            assert guessed["fate"] == known["fate"]
            assert guessed.get("inferred") or not legacy


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_inferred_verdicts_and_fates_are_those_the_ruleset_gives(backend, scenario):
    bare, resolved = journeys(backend, scenario, with_ruleset=False), journeys(backend, scenario)
    assert_inference_agrees(bare, resolved, backend == "legacy")


def _kernel_log(path):
    """True when the file reads as a kernel log with trace events (not a host snapshot)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.readlines()
    try:
        detected = detect_stream(enumerate(lines, 1))[0]
    except ValueError:
        return False
    return detected == "legacy" and build_journeys(lines)["counts"]["events"] > 0


TEXT_SUFFIXES = (".kmsg", ".dmesg", ".kern.log", ".journal", ".traditional.log", ".txt", ".trace")
# Every kernel log fixture (straight from the tool and derived), found by its detected format.
LEGACY_TRACES = sorted(
    os.path.relpath(path, FIXTURES)
    for path in glob.glob(os.path.join(FIXTURES, "*")) + glob.glob(os.path.join(FIXTURES, "derived", "*"))
    if path.endswith(TEXT_SUFFIXES) and _kernel_log(path)
)
# The ruleset recorded with each run; the ebtables recording has none (its iptables lines came from
# another test on the host at that moment): its bare reading is checked alone.
RULESET_PREFIXES = (("ipv6-legacy.", "ipv6-legacy.ip6tables-save"), ("ebtables-", None), ("", "legacy.iptables-save"))


def ruleset_for(name):
    return next(ruleset for prefix, ruleset in RULESET_PREFIXES if os.path.basename(name).startswith(prefix))


def test_every_kernel_log_fixture_is_read_with_and_without_its_ruleset():
    assert len(LEGACY_TRACES) >= 26
    assert {"legacy-busy-window.kmsg", "ipv6-legacy.kmsg.txt", "ebtables-bridge.kmsg.txt"} <= set(LEGACY_TRACES)
    assert {name.rsplit(".", 1)[-1] for name in LEGACY_TRACES} >= {"kmsg", "dmesg", "log", "journal", "txt"}


@pytest.mark.parametrize("name", LEGACY_TRACES)
def test_every_kernel_log_without_its_ruleset_agrees_with_it(name):
    lines = read_lines(name)
    bare = build_journeys(lines)
    ruleset = ruleset_for(name)
    resolved = build_journeys(lines, ruleset=ruleset_of(ruleset)) if ruleset else bare
    assert_inference_agrees(bare, resolved, True)
    assert all(packet.get("inferred") or packet.get("fate_reason") for packet in bare["packets"])


LEGACY_FATES = {  # scenario: fates the trace alone proves, in packet order ("unknown": nothing later proves it)
    "host_to_container": ["delivered", "unknown"],
    "container_to_host": ["delivered", "unknown"],
    "container_to_container": ["delivered", "unknown"],
    "cross_network": ["dropped"],
    "published_port": ["delivered"] * 9 + ["unknown"],
    "external_to_published": ["delivered"] * 9 + ["unknown"],
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_legacy_trace_without_its_ruleset_gets_a_verdict_or_a_reason(scenario):
    packets = journeys("legacy", scenario, with_ruleset=False)["packets"]
    assert [packet["fate"] for packet in packets] == LEGACY_FATES[scenario]
    for packet in packets:
        assert packet.get("inferred", {}).get("reason") or packet.get("fate_reason")


def test_an_inferred_drop_contradicted_by_a_later_reply_becomes_unknown():
    dropped = journeys("legacy", "cross_network", with_ruleset=False)["packets"][0]
    reply = dict(dropped, direction="reply", fate="unknown", flags=[], hops=[dict(dropped["hops"][0], verdict=None)])
    reply.pop("inferred")
    packets = [dict(dropped, flags=list(dropped["flags"]), _connection="c"), dict(reply, _connection="c")]
    infer_from_replies(packets, lambda hops: ("unknown", None, []))
    assert packets[0]["fate"] == "unknown" and "inferred" not in packets[0]
    assert "inference_contradicted" in packets[0]["flags"] and "contradicted" in packets[0]["fate_reason"]
