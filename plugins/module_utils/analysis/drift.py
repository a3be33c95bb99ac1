# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Path drift: whether a scenario or flow took another path or met another fate.

Pure functions on results (docs/result-contract.md). A result's signature is its fate and the
rules that steered its first request (``table:chain:VERDICT``, policies, returns and trace-only
rules left out, NAT rules by their target), so that back ends and rule numbers compare equal.
Used by the packetflow_drift module (one host before and after an upgrade) and by the fleet
index (one flow across hosts).
"""

from __future__ import annotations

import functools
import re
from collections import Counter

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import NAT_TARGETS, TABLES

_NAT_IN_TEXT = re.compile(r"(?:-j |^|\s)(%s)\b" % "|".join(NAT_TARGETS), re.I)
KINDS = ("scenarios", "flows")
END = "(end of path)"


def nat_target(hop):
    """The NAT target (DNAT, SNAT, MASQUERADE...) when the hop's rule rewrites addresses, else None."""
    verdict = str(hop.get("verdict") or "").upper()
    if verdict in NAT_TARGETS:
        return verdict
    return _nat_in_text(str(hop.get("rule_text") or "")) if hop.get("type") == "rule" else None


@functools.lru_cache(maxsize=4096)
def _nat_in_text(rule_text):
    """The NAT target a rule's text names, upper-cased, else None (the same rules recur in every packet)."""
    match = _NAT_IN_TEXT.search(rule_text)
    return match.group(1).upper() if match else None


def deciding_rules(hops):
    """``table:chain:verdict`` of the rules that steered a packet (jumps, accepts, drops, NAT).

    Policies, returns, TRACE or LOG rules (CONTINUE) and tables that are not iptables' own (a
    tracer's table) are left out, and NAT rules count by their target, so that hosts traced
    by different back ends compare equal.
    """
    out = []
    for hop in hops:
        if hop.get("type") != "rule" or hop.get("table") not in TABLES:
            continue
        verdict = nat_target(hop) or str(hop.get("verdict") or "").upper()
        if verdict not in ("", "CONTINUE", "RETURN"):
            out.append("%s:%s:%s" % (hop.get("table"), hop.get("chain"), verdict))
    return out


def _first_request(packets):
    return next((p for p in packets or [] if p.get("direction") != "reply"), None)


def signature(result):
    """``{fate, at, path}`` of a scenario or flow result; None when it has neither packets nor an outcome.

    The path is the first request's deciding rules; a flow without packets falls back to its
    observed chains. ``at`` is ``table:chain`` where the fate was decided, when known: the
    result's observed ``at``, else the first request's ``fate_at``.
    """
    observed = result.get("observed") or {}
    request = _first_request(result.get("packets"))
    if request is None and not observed.get("fate") and not observed.get("path"):
        return None
    fate = observed.get("fate") or (request or {}).get("fate") or "unknown"
    path = (
        deciding_rules(request.get("hops") or [])
        if request is not None
        else [str(chain) for chain in observed.get("path") or []]
    )
    decided = (request or {}).get("fate_at") or {}
    at = ":".join(str(observed["at"]).split(":")[:2]) if observed.get("at") else None
    if not at and decided.get("chain"):
        at = "%s:%s" % (decided.get("table"), decided["chain"])
    return dict(fate=fate, at=at, path=path)


def chain_of(step):
    """``table:chain`` of a path step (``filter:DOCKER-USER:DROP`` -> ``filter:DOCKER-USER``)."""
    return ":".join(step.split(":")[:2]) if step and step != END else END


def divergence(before, after):
    """Where two signatures' paths part: ``{step, before, after, after_common}``, None when they agree.

    ``step`` counts from 1; ``before``/``after`` are the steps each took there (END past a path's
    end); ``after_common`` is the last step both took, None when they part at once.
    """
    left, right = before["path"], after["path"]
    if left == right:
        if before["fate"] == after["fate"]:
            return None
        index = len(left)
    else:
        index = next((i for i, (a, b) in enumerate(zip(left, right)) if a != b), min(len(left), len(right)))
    return dict(
        step=index + 1,
        before=left[index] if index < len(left) else END,
        after=right[index] if index < len(right) else END,
        after_common=left[index - 1] if index else None,
    )


def change_text(name, before, after, where, labels=("before", "after")):
    """One sentence on how a result changed, e.g. for the drift page, the task's message and the fleet index.

    ``labels`` name the two sides: before and after an upgrade, or most hosts and this one.
    """
    if before is None or after is None:
        return "%s: only %s" % (name, labels[1] if before is None else labels[0])
    parts = []
    if _outcome(before) != _outcome(after):
        parts.append("%s %s, %s %s" % (_outcome(before), labels[0], _outcome(after), labels[1]))
    else:
        parts.append("same fate (%s)" % _outcome(after))
    if where and before["path"] != after["path"]:
        parts.append(
            "paths diverge at step %d: %s %s, %s %s%s"
            % (
                where["step"],
                chain_of(where["before"]),
                labels[0],
                chain_of(where["after"]),
                labels[1],
                " (after %s)" % where["after_common"] if where["after_common"] else "",
            )
        )
    return "%s: %s" % (name, "; ".join(parts))


def _outcome(sig):
    return "%s at %s" % (sig["fate"], sig["at"]) if sig.get("at") else sig["fate"]


def _by_name(doc, kind):
    key = "scenario" if kind == "scenarios" else "flow"
    out: dict = {}
    for result in doc.get(kind) or []:
        out.setdefault(str(result.get(key) or "unnamed"), result)
    return out


def compare(before_doc, after_doc):
    """Compare two results.json documents of one host: which scenarios and flows changed fate or path.

    Returns ``{before_host, after_host, changes, unchanged, missing}``: ``changes`` lists
    ``{kind, name, before, after, fate_changed, path_changed, diverges, text}`` (signatures as
    signature() gives them); ``missing`` the names found in one document only, or without an
    outcome in one of them.
    """
    changes, unchanged, missing = [], {kind: 0 for kind in KINDS}, []
    for kind in KINDS:
        old, new = _by_name(before_doc, kind), _by_name(after_doc, kind)
        for name in list(old) + [n for n in new if n not in old]:
            left = signature(old[name]) if name in old else None
            right = signature(new[name]) if name in new else None
            if left is None or right is None:
                missing.append(dict(kind=kind, name=name, text=change_text(name, left, right, None)))
                continue
            where = divergence(left, right)
            if where is None:
                unchanged[kind] += 1
                continue
            changes.append(
                dict(
                    kind=kind,
                    name=name,
                    before=left,
                    after=right,
                    fate_changed=left["fate"] != right["fate"],
                    path_changed=left["path"] != right["path"],
                    diverges=where,
                    text=change_text(name, left, right, where),
                )
            )
    return dict(
        before_host=before_doc.get("host"),
        after_host=after_doc.get("host"),
        changes=changes,
        unchanged=unchanged,
        missing=missing,
    )


def against_majority(signatures):
    """Across hosts: ``{host: divergence}`` for those whose signature differs from the one most share.

    ``signatures`` maps host to signature (None for hosts without an outcome, left out). With no
    strict majority, every host that differs from the first of the most common is listed, and
    ``split`` is true. Returns ``(differing, majority signature, split)``.
    """
    known = {host: sig for host, sig in signatures.items() if sig is not None}
    counts = Counter(_key(sig) for sig in known.values())
    if not counts:
        return {}, None, False
    top = counts.most_common(2)
    split = len(top) > 1 and top[0][1] == top[1][1]
    majority = next(sig for sig in known.values() if _key(sig) == top[0][0])
    differing = {host: divergence(majority, sig) for host, sig in known.items() if _key(sig) != top[0][0]}
    return differing, majority, split


def _key(sig):
    return (sig["fate"], tuple(sig["path"]))
