# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn flow results (docs/result-contract.md, "Flow result") into what the report shows.

Pure functions on plain data, like report_model, whose journey views a flow shares with a
scenario. Flows have their own outcomes: pass, mismatch, no expectation, error.
"""

from __future__ import annotations

from collections import Counter

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import drift, narrate
from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_model
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_names import dir_name
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_ruleset import ruleset_view

OUTCOMES = ("pass", "mismatch", "noexpect", "error")
LABELS = {"pass": "pass", "mismatch": "mismatch", "noexpect": "no expectation", "error": "error"}
OWNERS = {
    "docker": "Docker's own rule",
    "user": "a rule that is not Docker's",
    "ufw": "a ufw rule",
    "firewalld": "a firewalld rule",
}


def name(flow):
    """A flow's name as the report shows it."""
    return str(flow.get("flow") or "unnamed")


def anchor(flow_name):
    """The page anchor of a flow."""
    return "flow-" + dir_name(flow_name or "unnamed")


def outcome(flow):
    """A flow's outcome: pass, mismatch, noexpect (no expectation) or error."""
    if flow.get("error"):
        return "error"
    return {True: "pass", False: "mismatch", None: "noexpect"}[report_model.matched(flow, "verdict")]


def endpoint(end):
    """One line for a flow's source or destination, e.g. ``container api (172.18.0.2), network app_net``."""
    end = end or {}
    label = " ".join(str(p) for p in (end.get("kind") or "?", end.get("name") or "") if p)
    address = end.get("address")
    if address:
        label += " (%s%s)" % (address, ":%s" % end["port"] if end.get("port") is not None else "")
    if end.get("network_mode"):
        label += ", network %s" % end["network_mode"]
    published = end.get("published") or {}
    if published:
        label += ", published port %s → %s %s:%s" % (
            published.get("host_port") or "?",
            published.get("container") or "container",
            published.get("address") or "?",
            published.get("port") or "?",
        )
    if end.get("egress"):
        label += ", leaves the host by %s" % end["egress"]
    return label


def comparison(flow):
    """Expected and observed side by side: rows of (what, expected, observed, differs)."""
    expected, observed = flow.get("expected") or {}, flow.get("observed") or {}
    rows = [
        ("verdict", expected.get("verdict"), observed.get("verdict")),
        ("decided at", expected.get("at"), observed.get("at")),
    ]
    out = []
    for what, want, got in rows:
        differs = bool(want) and not (
            got == want or (what == "decided at" and str(got or "").startswith(str(want) + ":"))
        )
        out.append(dict(what=what, expected=want or "—", observed=got or "unknown", differs=differs))
    return out


def decider(flow):
    """The deciding rule: ``{owner, rule_text}`` with the owner in words, or None when unknown."""
    observed = flow.get("observed") or {}
    if not observed.get("owner") and not observed.get("rule_text"):
        return None
    owner = str(observed.get("owner") or "unknown")
    return dict(owner=OWNERS.get(owner, owner), rule_text=observed.get("rule_text") or "")


def flow_view(flow, host, limit, artifacts):
    """Everything the page shows for one flow."""
    packets = flow.get("packets") or []
    request, reply = narrate.first_pair(packets)
    flow_name = name(flow)
    return dict(
        s=flow,
        anchor=anchor(flow_name),
        name=flow_name,
        status=outcome(flow),
        explanation=narrate.explain(flow),
        notes=narrate.notes(flow, host),
        src=endpoint(flow.get("src")),
        dst=endpoint(flow.get("dst")),
        interfaces=list((flow.get("path") or {}).get("interfaces") or []),
        comparison=comparison(flow),
        decider=decider(flow),
        request=report_model.packet_view(request) if request else None,
        reply=report_model.packet_view(reply) if reply else None,
        packets=[report_model.packet_row(p) for p in packets[:limit]],
        packet_total=len(packets),
        groups=report_model.path_groups(packets),
        captures=report_model.capture_view(packets, limit),
        ruleset=ruleset_view(flow.get("ruleset"), packets),
        artifacts=artifacts,
        fingerprint=report_model.scenario_fingerprint(flow),
        signature=drift.signature(flow),
    )


def summary(views):
    """Count flows by outcome."""
    counts = Counter(v["status"] for v in views)
    return dict(total=len(views), **{k: counts.get(k, 0) for k in OUTCOMES})
