# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verdicts the trace itself proves where no ruleset names them, each marked ``inferred`` with its reason.

Only hops whose verdict is still unknown are touched, and never over a contradiction:
- a rule hop followed at the same hook and table by the same chain continued, by another chain
  jumped there (or returned, when that chain called this one);
- a hop followed by another table or hook did not drop the packet (a nat rule: the rewrite seen);
- a trace that ends at a rule of a chain Docker fills the same way in a range of versions takes
  that rule's verdict, naming the versions (in raw PREROUTING only where the rule text shows a rule
  other than the one that turned tracing on);
- a packet whose connection is traced later the other way was delivered (infer_from_replies).
"""

from __future__ import annotations

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate_inference

# (table, chain): (the verdict of a rule where a trace ends, the Docker versions whose layout gives it).
DOCKER_FIXED_RULES = {
    ("filter", "DOCKER-ISOLATION-STAGE-2"): ("DROP", "Docker 17.06 to 27.x"),
    ("filter", "DOCKER-FORWARD"): ("ACCEPT", "Docker 28.0 or later"),
    ("raw", "PREROUTING"): ("DROP", "Docker 28.2 or later"),
}
# Chains where the rule that turns tracing on sits too (a trace's first hop is that rule).
TRACED_CHAINS = ("PREROUTING", "OUTPUT")


def infer_hops(hops):
    """Set the verdicts the order of the hops proves on hops that have none."""
    visited: list[str] = []
    segment = None
    for index, hop in enumerate(hops):
        if (hop["table"], hop["hook"]) != segment:
            segment, visited = (hop["table"], hop["hook"]), []
        if hop["chain"] not in visited:
            visited.append(hop["chain"])
        if hop.get("verdict") is not None:
            continue
        following = hops[index + 1] if index + 1 < len(hops) else None
        if following is None:
            _docker_rule(hop)
        elif (following["table"], following["hook"]) == segment:
            _within_table(hop, following, visited)
        else:
            _table_left(hop, following)


def _mark(hop, verdict, reason):
    hop["verdict"] = verdict
    hop["inferred"] = {"verdict": verdict, "reason": reason}


def _within_table(hop, following, visited):
    if hop["type"] != "rule":
        return
    chain = following["chain"]
    if chain == hop["chain"]:
        _mark(hop, "CONTINUE", narrate_inference.inferred_continue())
    elif chain in visited[:-1]:
        _mark(hop, "RETURN", narrate_inference.inferred_return(chain))
    else:
        _mark(hop, "JUMP:" + chain, narrate_inference.inferred_jump(chain))


def _table_left(hop, following):
    if hop["table"] != "nat" or hop["type"] != "rule":
        _mark(hop, "ACCEPT", narrate_inference.inferred_went_on(following))
    elif following["dst"] != hop["dst"] or following.get("dport") != hop.get("dport"):
        _mark(hop, "DNAT", narrate_inference.inferred_rewrite("DNAT"))
    elif following["src"] != hop["src"] or following.get("sport") != hop.get("sport"):
        _mark(hop, "SNAT", narrate_inference.inferred_rewrite("SNAT"))


def _docker_rule(hop):
    fixed = DOCKER_FIXED_RULES.get((hop["table"], hop["chain"]))
    if hop["type"] != "rule" or fixed is None:
        return
    verdict, versions = fixed
    if hop.get("target") not in (None, verdict):
        return  # the ruleset or the line names another target: not the rule Docker fixes
    if hop["chain"] in TRACED_CHAINS and not _names_another_rule(hop):
        return  # the rule may be the one that turned tracing on
    _mark(hop, verdict, narrate_inference.inferred_docker_rule(hop["chain"], verdict, versions))


def _names_another_rule(hop):
    """True when the hop's rule text shows a rule that does not turn tracing on (iptables' TRACE
    target, nft's ``meta nftrace set 1``). A kernel log line names the rule by number only: it
    proves nothing."""
    words = (hop.get("rule_text") or "").split()
    return bool(words) and "TRACE" not in words and "nftrace" not in words


def infer_from_replies(packets, decide_fate):
    """Packets in start order: one whose connection is traced later the other way was delivered.
    decide_fate(hops) gives (fate, fate_at, flags) again once a verdict is set."""
    later_directions: dict = {}
    for packet in reversed(packets):
        connection = packet.pop("_connection", None)
        if connection is None:
            continue
        seen = later_directions.setdefault(connection, set())
        answered = (packet["direction"] == "request" and "reply" in seen) or (
            packet["direction"] == "reply" and "request" in seen
        )
        seen.add(packet["direction"])
        if answered:
            _delivered(packet, decide_fate)


def _delivered(packet, decide_fate):
    reason = narrate_inference.inferred_answered(packet["direction"])
    if packet["fate"] == "dropped" and packet.get("inferred"):
        packet.update(
            fate="unknown", fate_reason=narrate_inference.inferred_contradicted(packet.pop("inferred")["reason"])
        )
        packet["flags"].append("inference_contradicted")
        return
    if packet["fate"] != "unknown":
        return
    last = packet["hops"][-1]
    if last.get("verdict") is None:
        _mark(last, "ACCEPT", reason)
    _fate, fate_at, _flags = decide_fate(packet["hops"])
    flags = [flag for flag in packet["flags"] if flag not in ("verdict_unknown", "path_incomplete")]
    packet.update(fate="delivered", fate_at=fate_at, inferred={"fate": "delivered", "reason": reason})
    packet["flags"] = flags + [] if "verdict_inferred" in flags else flags + ["verdict_inferred"]
    packet.pop("fate_reason", None)
