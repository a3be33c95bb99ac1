# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every sentence and label a person reads: made here (and, for inference, in narrate_inference.py),
used by the modules and the report.

Pure functions on plain data (contract Packets, hops, scenarios): standard library only.
"""

from __future__ import annotations

import re

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import (
    ICMP_NAMES,
    ICMPV6_NAMES,
    TCP_FLAGS,
)

ARROW = "\u2192"
HOOK_SHORT = {
    "PREROUTING": "PRE",
    "INPUT": "IN",
    "FORWARD": "FWD",
    "OUTPUT": "OUT",
    "POSTROUTING": "POST",
    "OTHER": "?",
}
FATE_MARKS = {"delivered": "\u2713", "dropped": "\u2717"}
# A summary names SYN first, then the other flags by bit.
SUMMARY_FLAGS = ("SYN",) + tuple(flag for flag in TCP_FLAGS if flag != "SYN")


def summarize(event):
    """'172.18.0.2 > 172.19.0.2 ICMP echo-request id 20 seq 0' style one-liner of a packet's headers."""
    proto = event.get("proto") or "IP"
    src, dst = event.get("src"), event.get("dst")
    if event.get("sport") is not None:
        text = "%s:%s > %s:%s %s" % (src, event["sport"], dst, event.get("dport"), proto)
        if event.get("tcp_flags"):
            text += " " + ",".join(flag for flag in SUMMARY_FLAGS if flag in event["tcp_flags"])
        return text
    text = "%s > %s %s" % (src, dst, proto)
    if event.get("icmp_type") is not None:
        names = ICMPV6_NAMES if proto == "ICMPv6" else ICMP_NAMES
        text += " " + names.get(event["icmp_type"], "type %s" % event["icmp_type"])
    if event.get("icmp_id") is not None:
        text += " id %s seq %s" % (event["icmp_id"], event.get("icmp_seq"))
    if event.get("ip_id") is not None:
        text += " (ip id %s)" % event["ip_id"]
    return text


def nat_text(kind, before, after, rule_hop):
    """One NAT step, e.g. 'DNAT 192.0.2.2:8080 → 172.17.0.2:80 by nat DOCKER rule 4'; no rule hop: conntrack did it."""
    if rule_hop is not None:
        by = " by %s %s %s" % (rule_hop["table"], rule_hop["chain"], _rule_name(rule_hop))
    else:
        by = " by conntrack (the NAT of this connection, decided by its first packet)"
    return "%s %s %s %s%s" % (kind, before, ARROW, after or "(address of the outgoing interface)", by)


def _rule_name(hop):
    """'rule 4', 'rule handle 15' or the rule text, whichever is known."""
    if hop.get("rule") is not None:
        return "rule %s" % hop["rule"]
    if hop.get("handle") is not None:
        return "rule handle %s" % hop["handle"]
    return "rule '%s'" % hop.get("rule_text")


def outcome(traffic, expected, observed, packets):
    """One sentence on a run's outcome, naming the rule that decided it."""
    what = "; ".join(
        "%s %s -> %s%s" % (i["proto"].upper(), i["from"], i["to"], ":%s" % i["port"] if i["port"] else "")
        for i in traffic
    )
    at = observed.get("fate_at") or {}
    if observed["fate"] == "dropped":
        rule = at.get("rule_text") or ""
        text = "%s: dropped by %s %s %s %s%s." % (
            what,
            at.get("table"),
            at.get("chain"),
            at.get("type", "rule"),
            at.get("rule", ""),
            " (%s)" % rule if rule else "",
        )
    else:
        text = "%s: %s." % (what, observed["fate"])
    nats = [n.get("text") for p in packets for n in p.get("nat") or [] if n.get("text")]
    if nats:
        text += " NAT: %s." % "; ".join(sorted(set(nats)))
    return "%s %s" % (text, expected.get("why", ""))


def first_pair(packets):
    """Return the first request and the first reply after it (either may be None)."""
    request = next((p for p in packets if p.get("direction") != "reply"), None)
    replies = [p for p in packets if p.get("direction") == "reply"]
    if request is not None:
        later = [p for p in replies if (p.get("id") or 0) > (request.get("id") or 0)]
        replies = later or replies
    return request, (replies[0] if replies else None)


def where(hop):
    """Say which rule a hop is, e.g. ``filter DOCKER-ISOLATION-STAGE-2 rule 1``."""
    if not hop:
        return ""
    base = "%s %s" % (hop.get("table") or "?", hop.get("chain") or "?")
    kind = hop.get("type")
    if kind == "policy":
        return base + " policy"
    if kind == "return":
        return base + " (end of chain, return)"
    if hop.get("rule") is not None:
        return "%s rule %s" % (base, hop["rule"])
    if hop.get("handle") is not None:
        return "%s handle %s" % (base, hop["handle"])
    return base


def rule_args(text):
    """A rule's text for a sentence: no ``-A CHAIN`` prefix, no nft counters."""
    text = re.sub(r"^-A\s+\S+\s+", "", str(text or ""))
    return " ".join(re.sub(r"\bcounter packets \d+ bytes \d+", "", text).split())


def nat_texts(packet):
    """Spell out every address rewrite of a packet."""
    out = []
    for nat in packet.get("nat") or []:
        text = nat.get("text")
        if not text:
            text = "%s %s %s %s" % (nat.get("kind", "NAT"), nat.get("from", "?"), ARROW, nat.get("to", "?"))
            if nat.get("chain"):
                text += " by " + where(dict(nat, type="rule"))
        out.append(text)
    return out


def address_changes(packet):
    """Spell out address changes between consecutive hops that no NAT entry explains."""
    out, prev = [], None
    for hop in packet.get("hops") or []:
        cur = (hop.get("src"), hop.get("dst"))
        if prev and None not in cur and None not in prev and cur != prev:
            out.append(
                "addresses changed at %s: %s > %s became %s > %s" % (where(hop), prev[0], prev[1], cur[0], cur[1])
            )
        prev = cur if None not in cur else prev
    return out


def describe(packet):
    """Name a packet in words, e.g. ``the ICMP echo request from 172.18.0.2 to 172.19.0.2``."""
    flow = packet.get("flow") or {}
    proto = str(flow.get("proto") or "").upper()
    reply = packet.get("direction") == "reply"
    if proto in ("ICMP", "ICMPV6"):
        label = "ICMP" if proto == "ICMP" else "ICMPv6"
        icmp_type = flow.get("icmp_type")
        names = ICMP_NAMES if proto == "ICMP" else ICMPV6_NAMES
        name = names.get(icmp_type) if isinstance(icmp_type, int) else None
        kind = label + " " + name.replace("-", " ") if name else label + " packet"
    elif proto in ("TCP", "UDP"):
        port = flow.get("sport") if reply else flow.get("dport")
        kind = (
            "%s %s %s port %s" % (proto, "reply" if reply else "packet", "from" if reply else "to", port)
            if port
            else proto + " packet"
        )
    else:
        kind = "reply" if reply else "packet"
    src, dst = flow.get("src") or "?", flow.get("dst") or "?"
    return "the %s from %s to %s" % (kind, src, dst)


def fate_sentence(packet):
    """Say what happened to one packet, and where."""
    fate, at = packet.get("fate") or "unknown", packet.get("fate_at") or {}
    text = describe(packet)
    rewrites = nat_texts(packet)
    if fate == "dropped":
        text += " was dropped by " + (where(at) or "an unknown rule")
        if at.get("rule_text"):
            text += " (%s)" % rule_args(at["rule_text"])
    elif fate == "delivered":
        text += " was delivered"
        if rewrites:
            text += " after " + "; ".join(rewrites)
    else:
        text += " could not be followed to its end"
    return text[0].upper() + text[1:] + "."


def explain(scenario):
    """One plain-language account of the scenario: the run's own, else built from its packets."""
    if scenario.get("explanation"):
        return scenario["explanation"]
    packets = scenario.get("packets") or []
    if not packets:
        if scenario.get("error"):
            return "The scenario did not complete, so no packet can be shown: " + str(scenario["error"])
        return "Neither tcpdump nor TRACE saw any packet of this scenario."
    request, reply = first_pair(packets)
    parts = [fate_sentence(request)] if request else []
    if reply:
        parts.append(fate_sentence(reply))
    why = (scenario.get("expected") or {}).get("why")
    if why:
        parts.append("Expected: " + str(why).rstrip(".") + ".")
    return " ".join(parts)


def notes(scenario, host):
    """Plain-language remarks on what the path alone does not say."""
    out, packets = [], scenario.get("packets") or []
    flags = [f for p in packets for f in (p.get("flags") or [])]
    traffic = scenario.get("traffic") or []
    if host.get("br_netfilter") is False and (
        "captured_not_traced" in flags or (packets and not any(p.get("hops") for p in packets))
    ):
        out.append(
            "Bridged traffic between containers on one bridge skipped iptables: the "
            "br_netfilter module is not loaded (Docker 27.3 and later no longer load it "
            "by default), so an empty path here does not mean the packet was dropped."
        )
    if host.get("userland_proxy") and any(str(t.get("to", "")).startswith("127.") for t in traffic):
        out.append(
            "Traffic to a 127.0.0.1 published port is taken by docker-proxy, a userland "
            "process: the host's connection ends at the proxy, which opens a new one to "
            "the container from the bridge gateway address."
        )
    if "path_incomplete" in flags:
        out.append(
            "Some paths stop before a verdict (marked unknown): the trace of those packets ends "
            "early, for example because the back end traces no hook after the last one shown."
        )
    if "conntrack_skipped_nat" in flags:
        out.append(
            "Later packets of a connection skip the nat table: conntrack remembers the "
            "first packet's rewrite and applies it without traversing nat again."
        )
    missing = sorted({f.split(":", 1)[1] for f in flags if f.startswith("traced_not_captured:")})
    if missing:
        out.append("TRACE saw packets that tcpdump did not capture on: %s." % ", ".join(missing))
    # A scenario's own warnings, and those packetflow_trace_log returns (many unreadable lines).
    out += [
        str(w) for w in (scenario.get("warnings_list") or []) + (scenario.get("warnings") or []) if str(w) not in out
    ]
    stats = scenario.get("stats") or {}
    if stats.get("kernel_drops") or stats.get("lost_lines_suspected"):
        out.append(
            "Some trace lines or captured packets were lost (kernel drops %s); the paths "
            "may be incomplete." % (stats.get("kernel_drops") or 0)
        )
    return out


def path_label(hooks, fate, dropped_in=None):
    """A path in a few characters, e.g. ``PRE→FWD→POST ✓`` or ``PRE→FWD ✗ DOCKER-ISOLATION-STAGE-2``."""
    text = ARROW.join(HOOK_SHORT.get(h, h) for h in hooks) or "no hooks"
    text += " " + FATE_MARKS.get(fate, "?")
    if fate == "dropped" and dropped_in:
        text += " " + str(dropped_in)
    return text


def pair_label(paths):
    """A request's path label and its reply's, e.g. ``OUT→POST ✓ ⇄ PRE→IN ✓``."""
    return " \u21c4 ".join(paths)


def verdict_label(packet):
    """What the hook diagram writes at a packet's last step."""
    fate, hops = packet.get("fate"), packet.get("hops") or []
    last = hops[-1] if hops else {}
    if fate == "dropped":
        return FATE_MARKS[fate] + " DROP"
    if fate == "delivered":
        return FATE_MARKS[fate] + " " + (("out " + last["out"]) if last.get("out") else "to local process")
    return "? not followed further"


def answered_although_dropped(item):
    """A traffic item that got its answer while one of its packets was traced as dropped."""
    return "%s -> %s got an answer although a packet was traced as dropped" % (item["from"], item["to"])


def answered_untraced(item, traced):
    """A traffic item answered whose trace does not show the delivery."""
    why = (
        "its trace ends before a final hook (no rules registered there)"
        if traced
        else ("nothing of it was traced on this host")
    )
    return "%s -> %s was answered; %s" % (item["from"], item["to"], why)


def mismatch_lines(expected, observed, differences):
    """Expected and observed side by side, one line each, for what differs."""
    lines = []
    if differences["fate"]:
        lines += ["- expected fate: %s" % expected["fate"], "+ observed fate: %s" % observed["fate"]]
    if differences["at"]:
        lines += ["- expected decided at: %s" % expected["at"], "+ observed decided at: %s" % observed["at"]]
    if differences["missing"]:
        lines += [
            "- expected path (in order): %s" % " -> ".join(expected["via"]),
            "+ observed path: %s" % (" -> ".join(observed["path"]) or "(nothing traced)"),
            "  missing: %s" % ", ".join(differences["missing"]),
        ]
    if differences["forbidden"]:
        lines.append("+ observed chains that should not be crossed: %s" % ", ".join(differences["forbidden"]))
    return lines


# Docker's facts behind its own drops, by the chain that dropped.
DOCKER_DROP_FACTS = {
    "DOCKER-ISOLATION-STAGE-1": "Docker isolates user-defined networks from each other",
    "DOCKER-ISOLATION-STAGE-2": "Docker isolates user-defined networks from each other",
    "DOCKER-FORWARD": "Docker 28+ isolates networks and refuses unpublished ports in DOCKER-FORWARD",
    "DOCKER": "Docker accepts only published ports of its containers here",
    "PREROUTING": "Docker 28.2+ drops direct access to a container's address from outside its network (raw PREROUTING)",
    "FORWARD": "Docker sets the FORWARD policy to DROP when it enables IP forwarding",
}
OWNER_NAMES = {"ufw": "ufw's", "firewalld": "firewalld's", "user": "not Docker's"}


def flow_outcome(flow, observed, packets, same_bridge_untraced=None):
    """One sentence on a flow's outcome, naming the rule and whose it is."""
    at = observed.get("fate_at") or {}
    chain = at.get("chain") or ""
    rule = at.get("rule_text") or ""
    who = observed.get("owner")
    if observed["fate"] == "dropped" and who in OWNER_NAMES:
        text = "%s: dropped by a rule in %s that is %s: `%s`" % (flow, at.get("chain"), OWNER_NAMES[who], rule)
    elif observed["fate"] == "dropped" and who == "policy":
        fact = DOCKER_DROP_FACTS.get(chain) if chain == "FORWARD" else None
        text = "%s: dropped by the policy of %s %s%s" % (
            flow,
            at.get("table"),
            at.get("chain"),
            " (%s)" % fact if fact else "",
        )
    elif observed["fate"] == "dropped":
        fact = DOCKER_DROP_FACTS.get(chain, "")
        text = "%s: dropped by Docker's rule %s%s%s" % (
            flow,
            where(at),
            " `%s`" % rule if rule else "",
            ": %s" % fact if fact else "",
        )
    elif observed["fate"] == "delivered":
        last = observed["path"][-1] if observed["path"] else None
        text = "%s: allowed%s" % (flow, " (last chain crossed: %s)" % last if last else "")
    elif same_bridge_untraced:
        text = (
            "%s: iptables saw nothing: both ends are on bridge %s and bridge-nf-call-iptables is %s, so "
            "frames between them never reach iptables (Docker 27.3+ no longer loads br_netfilter)"
            % (flow, same_bridge_untraced["bridge"], same_bridge_untraced["setting"] or "absent")
        )
    else:
        text = "%s: the trace does not show whether it was allowed" % flow
    nats = sorted({n.get("text") for p in packets for n in p.get("nat") or [] if n.get("text")})
    if nats:
        text += ". NAT: %s" % "; ".join(nats)
    return text + "."


def flow_mismatch_lines(expected, observed, differs):
    """A flow's expected and observed verdict and place side by side, for what differs."""
    lines = []
    if differs["verdict"]:
        lines += ["- expected: %s" % expected["verdict"], "+ observed: %s" % observed["verdict"]]
    if differs["at"]:
        lines += [
            "- expected decided at: %s" % expected["at"],
            "+ observed decided at: %s (path: %s)"
            % (observed.get("at") or "no rule", " -> ".join(observed["path"]) or "nothing traced"),
        ]
    return lines


def untraced_tables(tables):
    """The warning for nftables tables a legacy (kernel log) trace cannot see."""
    return (
        "nftables tables %s hook the same paths, but Docker's rules are on iptables-legacy and its trace sees "
        "iptables-legacy only: a drop by one of them shows as a flow that got no answer"
        % ", ".join("%s %s" % table for table in tables)
    )


def accepted_unanswered(path):
    """The warning when the trace accepted a probe that never got an answer."""
    return (
        "the trace shows the probe accepted (%s) but nothing came back and no reply was traced: something the "
        "trace does not see dropped it, so the verdict is unknown" % (" -> ".join(path) or "no chain")
    )
