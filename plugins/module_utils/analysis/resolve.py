# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Finish a grouped packet: resolve each hop's rule, spell out NAT rewrites, decide the fate."""

from __future__ import annotations

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate, narrate_inference
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.infer import infer_hops
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import HOOKS, NAT_TARGETS

# Hooks after which an accepted packet has left netfilter (all but PREROUTING): delivered.
FINAL_HOOKS = HOOKS[1:]
_UNKNOWN = object()
_NAT_OR_UNKNOWN = (None,) + NAT_TARGETS
_TARGETS: dict[str, str | None] = {}
FLOW_FIELDS = (
    "src",
    "dst",
    "proto",
    "sport",
    "dport",
    "icmp_type",
    "icmp_code",
    "icmp_id",
    "icmp_seq",
    "ip_id",
    "tcp_seq",
)
# An IPv6 packet's flow also keeps these (its first hop's): the flow label and the hop limit.
IPV6_FLOW_FIELDS = ("flow_label", "hop_limit")


def flow_of(headers):
    """The flow fields of a hop or a captured packet (the IPv6 ones only for IPv6)."""
    flow = {key: headers.get(key) for key in FLOW_FIELDS}
    if headers.get("hop_limit") is not None:
        flow.update((key, headers.get(key)) for key in IPV6_FLOW_FIELDS)
    return flow


def finish_packet(packet, ruleset, saw_nat):
    """Resolve rules, spell out NAT, decide the fate; return a contract Packet (without id)."""
    hops = packet["hops"]
    for hop in hops:
        _resolve_hop(hop, ruleset)
    infer_hops(hops)
    first = hops[0]
    result = {
        "_order": packet["_order"],
        "_connection": packet["_connection"],
        "summary": narrate.summarize(first),
        "direction": packet["direction"],
        "flow": flow_of(first),
        "hops": hops,
        "captures": [],
        "nat": nat_rewrites(hops),
        "flags": [],
    }
    if first.get("host"):
        result["host"] = first["host"]
    fate, fate_at, flags = decide_fate(hops, ruleset)
    result.update(fate=fate, fate_at=fate_at)
    result["flags"].extend(flags)
    _explain_fate(result)
    if saw_nat and packet["_later_in_connection"] and not any(hop["table"] == "nat" for hop in hops):
        result["flags"].append("conntrack_skipped_nat")
    return result


def _explain_fate(result):
    """Mark a fate that rests on an inferred verdict; say in plain words why a fate is unknown."""
    if result["fate"] == "unknown":
        result["fate_reason"] = narrate_inference.unknown_fate_reason(result["flags"])
        return
    for hop in result["hops"]:
        if hop.get("inferred") and _where(hop) == result["fate_at"]:
            result["inferred"] = {"fate": result["fate"], "reason": hop["inferred"]["reason"]}
            result["flags"].append("verdict_inferred")


def _resolve_hop(hop, ruleset):
    """Fill rule number, rule text, target and verdict from the ruleset and the rule text."""
    if not hop["in"]:
        hop["in"] = ""
    if not hop["out"]:
        hop["out"] = ""
    if ruleset is not None:
        found = ruleset.resolve(
            hop["table"], hop["chain"], hop["type"], hop.get("rule"), hop.get("handle"), hop.get("rule_text")
        )
        for key, value in found.items():
            if value is not None and (hop.get(key) is None or key == "rule"):
                hop[key] = value
    if hop.get("target") is None and hop.get("rule_text"):
        hop["target"] = _target_of_text(hop["rule_text"])
    if hop.get("verdict") is None:
        if hop["type"] == "return":
            hop["verdict"] = "RETURN"
        elif hop.get("target") in ("ACCEPT", "DROP", "REJECT", "RETURN"):
            hop["verdict"] = hop["target"]


def _target_of_text(text):
    """Target of an iptables rule ('-j DNAT') or nft rule ('dnat to ...'), remembered per text."""
    target = _TARGETS.get(text, _UNKNOWN)
    if target is _UNKNOWN:
        if len(_TARGETS) > 4096:
            _TARGETS.clear()
        target = _TARGETS[text] = _find_target(text)
    return target


def _find_target(text):
    words = text.split()
    for pos, word in enumerate(words[:-1]):
        if word in ("-j", "-g"):
            return words[pos + 1]
    for word in words:
        if word.upper() in NAT_TARGETS or word in ("accept", "drop", "reject"):
            return word.upper()
    return None


def _endpoint(hop, side):
    port = hop.get("sport" if side == "src" else "dport")
    return hop.get(side) if port is None else "%s:%s" % (hop.get(side), port)


def nat_rewrites(hops):
    """NAT steps: address or port changes between hops, and nat rules that end the path."""
    rewrites = []
    for index in range(1, len(hops)):
        previous, hop = hops[index - 1], hops[index]
        if previous["dst"] != hop["dst"] or previous.get("dport") != hop.get("dport"):
            rewrites.append(
                _nat_record("DNAT", _endpoint(previous, "dst"), _endpoint(hop, "dst"), _nat_rule_before(hops, index))
            )
        if previous["src"] != hop["src"] or previous.get("sport") != hop.get("sport"):
            rewrites.append(
                _nat_record("SNAT", _endpoint(previous, "src"), _endpoint(hop, "src"), _nat_rule_before(hops, index))
            )
    last = hops[-1] if hops else None
    if last and last["table"] == "nat" and last.get("target") in ("MASQUERADE", "SNAT"):
        rewrites.append(_nat_record(last["target"], _endpoint(last, "src"), None, last))
    return rewrites


def _nat_rule_before(hops, index):
    """The nat rule that explains a change seen at hops[index]: the last nat rule the packet hit
    before it whose target (or verdict, inferred in a bare kernel log) is NAT or not known; a
    jump is passed over. None: no nat rule is traced for it, so conntrack did it."""
    for candidate in reversed(hops[:index]):
        if candidate["table"] == "nat" and candidate["type"] == "rule":
            target = candidate.get("target")
            if target in NAT_TARGETS or (target is None and candidate.get("verdict") in _NAT_OR_UNKNOWN):
                return candidate
    return None


def _nat_record(kind, before, after, rule_hop):
    record = {"kind": kind, "from": before, "to": after}
    if rule_hop is not None:
        kind = rule_hop.get("target") or kind
        record.update(
            kind=kind,
            table=rule_hop["table"],
            chain=rule_hop["chain"],
            rule=rule_hop.get("rule"),
            rule_text=rule_hop.get("rule_text"),
        )
    else:
        record["kind"] = "conntrack"
    record["text"] = narrate.nat_text(record["kind"], before, after, rule_hop)
    return record


def decide_fate(hops, ruleset):
    """(fate, fate_at, flags) from the hops: dropped where a DROP/REJECT hit, delivered
    when the last hook accepted it, unknown otherwise."""
    for hop in hops:
        if hop.get("verdict") in ("DROP", "REJECT"):
            return "dropped", _where(hop), []
    if not hops:
        return "unknown", None, []
    last = hops[-1]
    verdict = last.get("verdict")
    if verdict is None:
        return "unknown", _where(last), ["verdict_unknown"]
    if last.get("family") == "bridge":
        return _bridged_fate(hops)
    if last["hook"] in FINAL_HOOKS:
        return "delivered", _where(last), []
    # No INPUT chain to trace it: a packet that was not forwarded (FORWARD would show it)
    # or that came in on loopback went to a local socket.
    if (
        last["hook"] == "PREROUTING"
        and ruleset is not None
        and not ruleset.has_hook("INPUT")
        and (ruleset.has_hook("FORWARD") or last.get("in") == "lo")
    ):
        return "delivered", _where(last), ["input_untraced"]
    return "unknown", _where(last), ["path_incomplete"]


def _bridged_fate(hops):
    """A frame whose trace ends in the bridge layer left the bridge only if it reached POSTROUTING there (a
    copy may go up to INPUT as well); bridge FORWARD runs before iptables' FORWARD, so it decides nothing."""
    out = [hop for hop in hops if hop.get("family") == "bridge" and hop.get("hook") == "POSTROUTING"]
    if out:
        return "delivered", _where(out[-1]), []
    return "unknown", _where(hops[-1]), ["path_incomplete"]


def _where(hop):
    return {
        key: hop.get(key)
        for key in ("table", "chain", "type", "rule", "handle", "rule_text", "line")
        if hop.get(key) is not None
    }
