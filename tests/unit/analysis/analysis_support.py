# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the analysis tests: the real fixtures of tests/unit/fixtures/traces."""

from __future__ import annotations

import glob
import os

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "traces")
SCENARIOS = ("host_to_container", "container_to_host", "container_to_container", "cross_network",
             "published_port", "external_to_published")
# (trace file pattern, ruleset file) per back end
BACKENDS = {
    "legacy": ("legacy-{}.kmsg", "legacy.iptables-save"),
    "nft": ("nft-{}.trace", "nft.ruleset.json"),
    "nftables": ("nftables-{}.trace", "nftables.ruleset.json"),
}
LEGACY_WRAPPERS = ("kmsg", "dmesg", "kern.log")


def fixture_path(name):
    return os.path.join(FIXTURES, name)


def read_lines(name):
    with open(fixture_path(name)) as handle:
        return handle.readlines()


def ruleset_of(name):
    with open(fixture_path(name)) as handle:
        text = handle.read()
    return {"format": "nft-json" if name.endswith(".json") else "iptables-save", "text": text}


def pcaps_of(prefix):
    """All captures of one fixture run, e.g. 'nft-cross_network'."""
    return sorted(glob.glob(fixture_path(prefix + ".*.pcap")))


def journeys(backend, scenario, with_ruleset=True, with_pcaps=False, **kwargs):
    """build_journeys on one real fixture."""
    trace, ruleset = BACKENDS[backend]
    with open(fixture_path(trace.format(scenario))) as handle:
        return build_journeys(handle, ruleset=ruleset_of(ruleset) if with_ruleset else None,
                              pcaps=pcaps_of("%s-%s" % (backend, scenario)) if with_pcaps else None, **kwargs)


def chains(packet):
    """table:chain of each hop, consecutive repeats folded."""
    folded = []
    for hop in packet["hops"]:
        name = "%s:%s" % (hop["table"], hop["chain"])
        if not folded or folded[-1] != name:
            folded.append(name)
    return folded


def bridge_of(name_fragment, ruleset_name):
    """The br-... name of a run's bridge as the ruleset shows it (first one with the fragment)."""
    with open(fixture_path(ruleset_name)) as handle:
        for line in handle:
            if name_fragment in line:
                return line.split(name_fragment)[1].split()[0]
    raise AssertionError("no %s in %s" % (name_fragment, ruleset_name))
