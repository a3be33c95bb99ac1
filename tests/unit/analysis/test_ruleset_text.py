# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rulesets as people paste them (iptables -S, iptables -L -n -v --line-numbers, nft list ruleset), real
outputs recorded on this machine (see fixtures/traces/README.md), detected and read as the dumps are."""

from __future__ import annotations

import pytest
from analysis_support import SCENARIOS, fixture_path, read_lines

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.ruleset import detect_format, load_ruleset


def text_of(name):
    with open(fixture_path(name)) as handle:
        return handle.read()


@pytest.mark.parametrize(
    "name, kind",
    [
        ("legacy.iptables-save", "iptables-save"),
        ("legacy.iptables-S", "iptables-S"),
        ("legacy.iptables-L", "iptables-L"),
        ("docker20-host.nft", "nft-text"),
        ("docker20-host.nft-a", "nft-text"),
        ("docker20-host.ruleset.json", "nft-json"),
    ],
)
def test_each_pasted_form_is_detected(name, kind):
    assert detect_format(text_of(name)) == kind


def outcome(result):
    """What a ruleset decides: per packet its fate, and per hop rule number, target and verdict."""
    return [
        (packet["fate"], [(hop.get("rule"), hop.get("target"), hop.get("verdict")) for hop in packet["hops"]])
        for packet in result["packets"]
    ]


@pytest.mark.parametrize("form", ["legacy.iptables-S", "legacy.iptables-L"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_iptables_listings_resolve_the_traces_as_iptables_save_does(form, scenario):
    lines = read_lines("legacy-%s.kmsg" % scenario)
    saved = build_journeys(lines, ruleset={"format": None, "text": text_of("legacy.iptables-save")})
    pasted = build_journeys(lines, ruleset={"format": None, "text": text_of(form)})
    assert outcome(pasted) == outcome(saved)
    assert not any(hop.get("inferred") for packet in pasted["packets"] for hop in packet["hops"])


def structure(chains):
    return {
        key: (
            entry["policy"],
            entry["hook"],
            [(rule["handle"], rule["target"], rule["goto"]) for rule in entry["rules"]],
        )
        for key, entry in chains.items()
    }


def test_nft_text_gives_the_chains_the_json_of_the_same_ruleset_gives():
    from_json = structure(load_ruleset({"format": None, "text": text_of("docker20-host.ruleset.json")}).chains)
    assert structure(load_ruleset({"format": None, "text": text_of("docker20-host.nft-a")}).chains) == from_json
    without_handles = structure(load_ruleset({"format": None, "text": text_of("docker20-host.nft")}).chains)
    assert without_handles == {
        key: (policy, hook, [(None, target, goto) for _handle, target, goto in rules])
        for key, (policy, hook, rules) in from_json.items()
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("-A FORWARD -j ACCEPT\n-X what\n", "iptables -S line 2"),
        ("table ip nat {\n\tchain DOCKER {\n", "ends inside a block"),
    ],
)
def test_unreadable_pasted_rulesets_are_refused_with_the_line(text, message):
    with pytest.raises(ValueError, match=message):
        load_ruleset({"format": None, "text": text})
