# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Group trace events into packets, and packets into connections (request or reply).

Hops are grouped into packets by headers that NAT does not change (IP id, or an
IPv6 packet's flow label as it has no id; protocol, TCP or ICMP sequence), never by
the nf_tables trace id alone: that id changes mid-path and is reused. See
docs/result-contract.md, "Packet".
"""

from __future__ import annotations

from collections import OrderedDict

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate_inference
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.damage import damage_reason, split_damaged
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.fields import NotTraceLine
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.flow import FlowFilter, reverse
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.formats import (
    PARSERS,
    check_format,
    detect_stream,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.nat_history import NatHistory
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.resolve import finish_packet
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.ruleset import load_ruleset
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import (
    HOOKS,
    ICMP_REPLIES,
    ICMP_REQUESTS,
)

UNPARSED_LIMIT = 1000
# More than this share of unreadable trace lines makes a warning.
UNPARSED_SHARE = 0.1
OPEN_PACKET_LIMIT = 1024
CONNECTION_LIMIT = 8192
_UNKNOWN = object()


class JourneyBuilder:
    """Stream lines → events → packets; keeps only the packets still open."""

    def __init__(self, trace_format="auto", ruleset=None, flow=None):
        check_format(trace_format)
        self.format = None if trace_format == "auto" else trace_format
        self.ruleset = load_ruleset(ruleset)
        self.flow_filter = FlowFilter(flow) if flow else None
        self.counts = {"lines": 0, "events": 0, "packets": 0, "unparsed": 0, "captures": 0}
        if self.flow_filter:
            self.counts["filtered"] = 0
        self.unparsed = []
        # Unparsed lines that looked like trace lines (of the format, but unreadable).
        self.trace_like_unparsed = 0
        self.open = OrderedDict()
        self.connections = OrderedDict()
        self.order = 0
        self._hooks = {}
        self.judge_damage = True
        # Connection tuple: the order number of the packet that showed it first.
        self._first_seen = {}
        self.saw_nat = self.ruleset is not None and self.ruleset.has_table("nat")
        self.nat_history = NatHistory(self._rule_text)

    def run(self, lines):
        """Yield finished packets (Packet dicts, without id) while reading lines."""
        self.format, numbered = detect_stream(enumerate(lines, 1), self.format)
        parser = PARSERS[self.format](self._orphaned)
        wants = None
        if self.flow_filter is not None:
            wants = parser.wants_for(self.flow_filter)
        number = filtered = 0
        feed = parser.feed
        for number, line in numbered:
            if wants is not None and not wants(line):
                filtered += 1
                continue
            try:
                events = feed(line, number)
            except NotTraceLine as exc:
                self._unparsed(number, line, str(exc))
                continue
            except ValueError as exc:
                self.trace_like_unparsed += 1
                self._unparsed(number, line, str(exc))
                continue
            for event in events:
                if event.get("line") != number:
                    # Rule lines read before their packet line (xtables-monitor before 1.8.7) may
                    # carry the headers of the hook before: their headers are not judged.
                    self.judge_damage = False
                yield from self._add_event(event, line)
        if wants is not None:
            self.counts["filtered"] = filtered
        self.counts["lines"] = number
        parser.finish()
        for key in list(self.open):
            yield from self._close(key)

    def _orphaned(self, number, line):
        self.trace_like_unparsed += 1
        self._unparsed(number, line, "its PACKET line never came")

    def warnings(self):
        """Plain-words warnings about the reading: too many trace lines that could not be read."""
        read = self.counts["lines"] - self.counts.get("filtered", 0) - self.counts["unparsed"]
        return narrate_inference.reading_warnings(
            self.trace_like_unparsed, read + self.trace_like_unparsed, UNPARSED_SHARE
        )

    def _unparsed(self, number, line, reason):
        """Count and list a line that gives no event, with the reason."""
        self.counts["unparsed"] += 1
        if len(self.unparsed) < UNPARSED_LIMIT:
            self.unparsed.append({"line": number, "text": line.rstrip("\r\n")[:2000], "reason": reason})

    def _add_event(self, event, text):
        """Put one event (read from the line text) into its packet; return the packets that this closes."""
        self.counts["events"] += 1
        table = event["table"]
        if table == "nat":
            self.saw_nat = True
        hook = self._hooks.get((table, event["chain"]), _UNKNOWN)
        if hook is _UNKNOWN:
            hook = self._hooks[(table, event["chain"])] = self._hook_of(table, event["chain"])
        ip_id = event["ip_id"]
        if ip_id is None:
            ip_id = event.get("flow_label")
        key = (event.get("host"), event["proto"], ip_id, event.get("tcp_seq"), event.get("icmp_seq"))
        packet = self.open.get(key)
        closed = []
        if packet is not None and not _continues(packet, event, table, hook):
            closed = self._close(key)
            packet = None
        if packet is None:
            packet = self._start(key, event)
        else:
            self.open.move_to_end(key)
            previous = packet["hops"][-1]
            if (
                previous["src"] != event["src"]
                or previous["dst"] != event["dst"]
                or previous.get("sport") != event.get("sport")
                or previous.get("dport") != event.get("dport")
            ):
                self._register_connection(packet, event)
                packet["_changes"].append(len(packet["hops"]))
        _append_hop(packet, event, table, hook)
        packet["_texts"].append(text)
        flow_filter = self.flow_filter
        if flow_filter is not None:
            if packet["_keep"]:
                flow_filter.learn(event)
            elif flow_filter.matches(event):
                packet["_keep"] = True
                for seen in packet["hops"]:
                    flow_filter.learn(seen)
        if len(self.open) > OPEN_PACKET_LIMIT:
            closed.extend(self._close(next(iter(self.open))))
        return closed

    def _hook_of(self, table, chain):
        if self.ruleset is not None:
            hook = self.ruleset.hook_of(table, chain)
            if hook:
                return hook
        return chain if chain in HOOKS else None

    def _start(self, key, event):
        self.order += 1
        direction, connection, known = self._direction(event)
        packet = {
            "_order": self.order,
            "_segments": [],
            "_texts": [],
            "_changes": [],
            "_hook": None,
            "_connection": connection,
            "_later_in_connection": known,
            "_keep": self.flow_filter is None,
            "direction": direction,
            "hops": [],
        }
        self.open[key] = packet
        self._register_connection(packet, event)
        return packet

    def _direction(self, event):
        """(request|reply, connection key, seen before) from the connections so far."""
        forward = _connection_tuple(event)
        icmp_type = event.get("icmp_type")
        known = True
        if forward in self.connections:
            connection, direction = self.connections[forward]
        elif reverse(forward) in self.connections:
            connection, direction = self.connections[reverse(forward)]
            direction = "reply" if direction == "request" else "request"
        else:
            connection, direction, known = forward, "request", False
        if icmp_type in ICMP_REPLIES:
            direction = "reply"
        elif icmp_type in ICMP_REQUESTS:
            direction = "request"
        return direction, connection, known

    def _register_connection(self, packet, event):
        forward = _connection_tuple(event)
        if forward not in self.connections:
            self.connections[forward] = (packet["_connection"], packet["direction"])
            self._first_seen[forward] = packet["_order"]
            if len(self.connections) > CONNECTION_LIMIT:
                self._first_seen.pop(self.connections.popitem(last=False)[0], None)

    def _close(self, key):
        packet = self.open.pop(key)
        texts, changes = packet.pop("_texts"), packet.pop("_changes")
        if not packet["_keep"]:
            return []
        hops = packet["hops"]
        if not self.judge_damage or (hops[0]["ip_id"] is None and not hops[0].get("flow_label")):
            # Without an IP id or flow label, packets alike are told apart by less: not judged.
            return [finish_packet(packet, self.ruleset, self.saw_nat)]
        runs_nat = any(segment[0] == "nat" for segment in packet["_segments"])
        if changes:
            nat_check = self.nat_history.check(hops, changes, runs_nat)
            kept, damaged = split_damaged(
                hops, changes, self._known_hook, lambda hop: self._seen_before(hop, packet), nat_check
            )
            if damaged:
                lines = dict(zip(map(id, hops), texts, strict=True))
                self._damaged(damaged, kept, lines, nat_check)
                packet["hops"] = kept
                # A damaged packet's reading may be the wrong one: its connection learns nothing from it.
                return [finish_packet(packet, self.ruleset, self.saw_nat)]
        self.nat_history.learn(hops, changes, runs_nat)
        return [finish_packet(packet, self.ruleset, self.saw_nat)]

    def _known_hook(self, table, chain):
        return self._hooks.get((table, chain))

    def _rule_text(self, hop):
        """The rule text of a hop: the trace's own, else the ruleset's."""
        if hop.get("rule_text") or self.ruleset is None:
            return hop.get("rule_text")
        return self.ruleset.resolve(
            hop["table"], hop["chain"], hop["type"], hop.get("rule"), hop.get("handle"), hop.get("rule_text")
        ).get("rule_text")

    def _seen_before(self, hop, packet):
        """True when an earlier packet showed the hop's connection tuple (either way)."""
        forward = _connection_tuple(hop)
        first = min(
            self._first_seen.get(forward, packet["_order"]), self._first_seen.get(reverse(forward), packet["_order"])
        )
        return first < packet["_order"]

    def _damaged(self, damaged, kept, texts, nat_check):
        """List the hops whose headers were damaged as unparsed lines, not events."""
        self.counts["events"] -= len(damaged)
        self.trace_like_unparsed += len(damaged)
        for hop in damaged:
            self._unparsed(hop["line"], texts[id(hop)], damage_reason(hop, kept, self._known_hook, nat_check))


def _connection_tuple(event):
    """(proto, src, sport, dst, dport) of the connection the event belongs to; an ICMP echo's
    id stands for both ports, so that the echo and its reply share one connection."""
    return (
        event.get("proto"),
        event.get("src"),
        event.get("sport") or event.get("icmp_id"),
        event.get("dst"),
        event.get("dport") or event.get("icmp_id"),
    )


def _continues(packet, event, table, hook):
    """True when the event can be the next hop of this open packet: same headers on one
    side at least, and not a second visit of a table on a hook it already left."""
    segment = (table, hook or packet["_hook"])
    segments = packet["_segments"]
    last = packet["hops"][-1]
    if segments[-1] != segment:
        if segment in segments or last.get("verdict") in ("DROP", "REJECT"):
            return False
    return (last["src"] == event["src"] and last.get("sport") == event.get("sport")) or (
        last["dst"] == event["dst"] and last.get("dport") == event.get("dport")
    )


def _append_hop(packet, event, table, hook):
    """The event becomes the packet's next hop (no copy)."""
    if hook:
        packet["_hook"] = hook
    event["hook"] = hook = packet["_hook"]
    segments = packet["_segments"]
    if not segments or segments[-1] != (table, hook):
        segments.append((table, hook))
    packet["hops"].append(event)
