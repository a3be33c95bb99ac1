# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verdict: what the journeys show of each traffic item, and how it compares with the expectation."""

from __future__ import annotations

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate


def subsequence(wanted, path):
    """Entries of wanted missing from path when read in order."""
    missing, pos = [], 0
    for entry in wanted:
        try:
            pos = path.index(entry, pos) + 1
        except ValueError:
            missing.append(entry)
    return missing


def place(fate_at):
    """table:chain:rule of a fate_at dict."""
    if not fate_at:
        return None
    where = "%s:%s" % (fate_at.get("table"), fate_at.get("chain"))
    num = fate_at.get("rule")
    if num is None and fate_at.get("handle") is not None:
        num = fate_at.get("handle")
    if fate_at.get("type") in ("policy", "return"):
        return "%s:%s" % (where, fate_at["type"])
    return "%s:%s" % (where, num) if num is not None else where


def crossed(hop):
    """table:chain of a hop, then the chain it jumps to: an empty chain (DOCKER-USER, say)
    leaves no hop of its own on iptables-nft. A bridge-family hop is bridge:<hook> (bridge:FORWARD),
    whichever table traced it (the run's own, or ebtables' filter and nat)."""
    if hop.get("family") == "bridge":
        return ["bridge:%s" % (hop.get("hook") or hop.get("chain"))]
    keys = ["%s:%s" % (hop.get("table"), hop.get("chain"))]
    verdict = hop.get("verdict") or ""
    if verdict.startswith(("JUMP:", "GOTO:")):
        keys.append("%s:%s" % (hop.get("table"), verdict.split(":", 1)[1]))
    return keys


def _item_fate(item, mine, notes):
    """(fate, fate_at) of one traffic item from its request packets; notes what the trace cannot show."""
    dropped = [p for p in mine if p.get("fate") == "dropped"]
    if dropped and item["ok"]:
        notes.append(narrate.answered_although_dropped(item))
    if any(p.get("fate") == "delivered" for p in mine):
        return "delivered", None
    if dropped:
        return "dropped", dropped[0].get("fate_at")
    if item["ok"]:
        notes.append(narrate.answered_untraced(item, traced=bool(mine)))
        return "delivered", None
    return "unknown", None


def observe(traffic, packets):
    """Observed fate, place, path and notes, from the request packets of each traffic item."""
    path: list = []
    notes: list = []
    fates = []
    for item in traffic:
        forward = {(leg["src"], leg["dst"]) for leg in item["legs"]}
        mine = [p for p in packets if (p["flow"].get("src"), p["flow"].get("dst")) in forward]
        item["packets"] = [p["id"] for p in mine]
        for packet in mine:
            for hop in packet.get("hops", []):
                for key in crossed(hop):
                    if not path or path[-1] != key:
                        path.append(key)
        fates.append(_item_fate(item, mine, notes))
    drops = [f for f in fates if f[0] == "dropped"]
    if drops:
        fate, at = drops[0]
    elif fates and all(f[0] == "delivered" for f in fates):
        fate, at = "delivered", None
    else:
        fate, at = "unknown", None
    return {"fate": fate, "at": place(at), "fate_at": at, "path": path, "notes": notes}


def compare(expected, observed):
    """(passed, diff text)."""
    differences = {
        "fate": expected["fate"] != observed["fate"],
        "at": bool(expected.get("at")) and not (observed["at"] or "").startswith(expected["at"]),
        "missing": subsequence(expected.get("via") or [], observed["path"]),
        "forbidden": [f for f in expected.get("forbid") or [] if f in observed["path"]],
    }
    lines = narrate.mismatch_lines(expected, observed, differences)
    return not lines, "\n".join(lines)


def rules_hit(packets):
    """The rules the packets matched, each once: {table, chain, rule}."""
    hit = []
    for packet in packets:
        for hop in packet.get("hops", []):
            key = {"table": hop.get("table"), "chain": hop.get("chain"), "rule": hop.get("rule")}
            if hop.get("type") == "rule" and key not in hit:
                hit.append(key)
    return hit
