# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A flow's policy check: the observed verdict (allowed, denied), whose rule decided it, and how it
compares with the expectation {verdict, at}."""

from __future__ import annotations

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.owners import owner

VERDICTS = {"delivered": "allowed", "dropped": "denied", "unknown": "unknown"}


def flow_observed(observed, bridges=()):
    """The observed fate/at/path of the flow's packets with its verdict, the deciding rule's owner and text."""
    at = observed.get("fate_at") or {}
    return {
        "verdict": VERDICTS[observed["fate"]],
        "fate": observed["fate"],
        "at": observed.get("at"),
        "owner": owner(at, bridges) if at else None,
        "rule_text": at.get("rule_text"),
        "fate_at": at or None,
        "path": observed["path"],
    }


def check(expected, observed):
    """(passed, mismatch lines): passed is None when nothing was expected."""
    if not expected.get("verdict"):
        return None, []
    want_at = expected.get("at")
    differs = {
        "verdict": expected["verdict"] != observed["verdict"],
        "at": bool(want_at) and not (observed.get("at") or "").startswith(want_at) and want_at not in observed["path"],
    }
    lines = narrate.flow_mismatch_lines(expected, observed, differs)
    return not lines, lines
