# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn trace output (and captures) into one journey per packet.

Hops are grouped into packets by headers that NAT does not change (IP id,
protocol, TCP or ICMP sequence), never by the nf_tables trace id alone: that id
changes mid-path and is reused. See docs/result-contract.md, "Packet".
"""

from __future__ import annotations

import os
from collections import OrderedDict

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import trace_legacy, trace_nft
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.flow import FlowFilter
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.pcap import read_capture
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.ruleset import (
    HOOK_NAMES, NAT_TARGETS, load_ruleset)

FORMATS = ("legacy", "xtables-monitor", "nft-monitor")
HOOKS = tuple(HOOK_NAMES.values())
# Hooks after which an accepted packet has left netfilter: delivered.
FINAL_HOOKS = ("INPUT", "FORWARD", "OUTPUT", "POSTROUTING")
UNPARSED_LIMIT = 1000
OPEN_PACKET_LIMIT = 1024
CONNECTION_LIMIT = 8192
DETECT_LINES = 1000
_UNKNOWN = object()
_TARGETS = {}
TCP_FLAG_ORDER = ("SYN", "FIN", "RST", "PSH", "ACK", "URG", "ECE", "CWR")
FLOW_FIELDS = ("src", "dst", "proto", "sport", "dport", "icmp_type", "icmp_code", "icmp_id",
               "icmp_seq", "ip_id", "tcp_seq")
ARROW = "\u2192"


def build_journeys(trace_lines, trace_format="auto", ruleset=None, pcaps=None, flow=None):
    """trace_lines: iterable of str (a file object is fine: stream it).
    trace_format: "auto" | "legacy" | "xtables-monitor" | "nft-monitor".
    ruleset: None or {"format": "iptables-save" | "nft-json", "text": str}.
    pcaps: None or {iface_name: path} or list of paths (pcap/pcapng, incl. SLL/SLL2).
    flow: None or {"src", "dst", "proto", "sport", "dport"} (any subset), either direction.
    Returns {"format", "packets", "unparsed", "counts"} (docs/result-contract.md).
    Raises ValueError for bad arguments and pcap.PcapError for unreadable captures.
    """
    return collect_journeys(trace_lines, trace_format, ruleset, pcaps, flow)


def collect_journeys(trace_lines, trace_format="auto", ruleset=None, pcaps=None, flow=None, max_packets=None):
    """build_journeys, keeping at most max_packets traced packets (all are counted)."""
    builder = JourneyBuilder(trace_format, ruleset, flow)
    packets = []
    total = 0
    for packet in builder.run(trace_lines):
        total += 1
        if max_packets is None or len(packets) < max_packets:
            packets.append(packet)
    packets.sort(key=lambda packet: packet["_order"])
    captures = 0
    if pcaps:
        before = len(packets)
        captures = attach_captures(packets, pcaps, builder.flow_filter)
        total += len(packets) - before
        packets.sort(key=lambda packet: packet["_order"])
    for number, packet in enumerate(packets, 1):
        packet["id"] = number
        packet.pop("_order")
        packet["journey"] = journey_of(packet)
    builder.counts.update(packets=total, captures=captures)
    builder.unparsed.sort(key=lambda item: item["line"])
    return {"format": builder.format, "packets": packets, "unparsed": builder.unparsed,
            "counts": builder.counts}


class JourneyBuilder:
    """Stream lines → events → packets; keeps only the packets still open."""

    def __init__(self, trace_format="auto", ruleset=None, flow=None):
        if trace_format not in ("auto",) + FORMATS:
            raise ValueError("unknown trace format %r (auto, %s)" % (trace_format, ", ".join(FORMATS)))
        self.format = None if trace_format == "auto" else trace_format
        self.ruleset = load_ruleset(ruleset)
        self.flow_filter = FlowFilter(flow) if flow else None
        self.counts = {"lines": 0, "events": 0, "packets": 0, "unparsed": 0, "captures": 0}
        if self.flow_filter:
            self.counts["filtered"] = 0
        self.unparsed = []
        self.open = OrderedDict()
        self.connections = OrderedDict()
        self.order = 0
        self._hooks = {}
        self.saw_nat = self.ruleset is not None and self.ruleset.has_table("nat")

    def run(self, lines):
        """Yield finished packets (Packet dicts, without id) while reading lines."""
        numbered = self._detect(enumerate(lines, 1))
        if self.format == "xtables-monitor":
            parser = XtablesLines(self._unparsed)
        else:
            parser = NftLines() if self.format == "nft-monitor" else LegacyLines()
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
            except ValueError:
                self._unparsed(number, line)
                continue
            for event in events:
                yield from self._add_event(event)
        if wants is not None:
            self.counts["filtered"] = filtered
        self.counts["lines"] = number
        parser.finish()
        for key in list(self.open):
            yield from self._close(key)

    def _detect(self, numbered):
        """Detect the format from the first lines (when "auto"); return all lines again,
        decoded when they come as bytes."""
        buffered = []
        for number, line in numbered:
            buffered.append((number, line))
            if self.format is not None:
                break
            self.format = detect_format(_text(line))
            if self.format or len(buffered) >= DETECT_LINES:
                break
        self.format = self.format or "legacy"
        lines = _chain(buffered, numbered)
        if buffered and isinstance(buffered[0][1], bytes):
            return ((number, _text(line)) for number, line in lines)
        return lines

    def _unparsed(self, number, line):
        self.counts["unparsed"] += 1
        if len(self.unparsed) < UNPARSED_LIMIT:
            self.unparsed.append({"line": number, "text": line.rstrip("\r\n")[:2000]})

    def _add_event(self, event):
        """Put one event into its packet; return the packets that this closes."""
        self.counts["events"] += 1
        table = event["table"]
        if table == "nat":
            self.saw_nat = True
        hook = self._hooks.get((table, event["chain"]), _UNKNOWN)
        if hook is _UNKNOWN:
            hook = self._hooks[(table, event["chain"])] = self._hook_of(table, event["chain"])
        key = (event.get("host"), event["proto"], event["ip_id"], event.get("tcp_seq"), event.get("icmp_seq"))
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
            if previous["src"] != event["src"] or previous["dst"] != event["dst"] or \
                    previous.get("sport") != event.get("sport") or previous.get("dport") != event.get("dport"):
                self._register_connection(packet, event)
        _append_hop(packet, event, table, hook)
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
            "_order": self.order, "_segments": [], "_hook": None,
            "_connection": connection, "_later_in_connection": known, "_keep": self.flow_filter is None,
            "direction": direction, "hops": [],
        }
        self.open[key] = packet
        self._register_connection(packet, event)
        return packet

    def _direction(self, event):
        """(request|reply, connection key, seen before) from the connections so far."""
        forward = _tuple(event)
        icmp_type = event.get("icmp_type")
        known = True
        if forward in self.connections:
            connection, direction = self.connections[forward]
        elif _reverse(forward) in self.connections:
            connection, direction = self.connections[_reverse(forward)]
            direction = "reply" if direction == "request" else "request"
        else:
            connection, direction, known = forward, "request", False
        if icmp_type in (0, 14):
            direction = "reply"
        elif icmp_type in (8, 13):
            direction = "request"
        return direction, connection, known

    def _register_connection(self, packet, event):
        forward = _tuple(event)
        if forward not in self.connections:
            self.connections[forward] = (packet["_connection"], packet["direction"])
            if len(self.connections) > CONNECTION_LIMIT:
                self.connections.popitem(last=False)

    def _close(self, key):
        packet = self.open.pop(key)
        if not packet["_keep"]:
            return []
        return [finish_packet(packet, self.ruleset, self.saw_nat)]


class LegacyLines:
    """Adapter: kernel log lines (nf_log TRACE) to events."""

    @staticmethod
    def wants_for(flow_filter):
        return flow_filter.line_may_match

    @staticmethod
    def feed(line, number):
        event = trace_legacy.parse_line(line)
        if event is None:
            raise ValueError("not a TRACE line")
        event["line"] = number
        return [event]

    def finish(self):
        """Nothing waits in this format."""


class XtablesLines:
    """Adapter: ``xtables-monitor --trace`` lines to events."""

    def __init__(self, on_unparsed):
        self.parser = trace_nft.XtablesMonitorParser(on_unparsed)
        self.wanted = OrderedDict()
        self.seen_packet = False
        self.rule_first = False

    def wants_for(self, flow_filter):
        return lambda line: self.wants(line, flow_filter)

    def wants(self, line, flow_filter):
        """PACKET lines by the flow's headers; TRACE lines when they carry the trace id
        of one of the last wanted PACKET lines (all of them in the older rule-first order)."""
        if line.startswith("PACKET: "):
            self.seen_packet = True
            trace_id = line.split(" ", 3)[2] if line.count(" ") > 2 else ""
            if not trace_id or flow_filter.line_may_match(line):
                self.wanted[trace_id] = True
                self.wanted.move_to_end(trace_id)
                if len(self.wanted) > 8:
                    self.wanted.popitem(last=False)
                return True
            self.wanted.pop(trace_id, None)
            self.parser.drop(trace_id)
            return False
        if not self.seen_packet:
            self.rule_first = True
        if self.rule_first:
            return True
        for trace_id in self.wanted:
            if trace_id in line:
                return True
        return False

    def feed(self, line, number):
        return self.parser.feed(line, number)

    def finish(self):
        self.parser.finish()


class NftLines:
    """Adapter: ``nft monitor trace`` lines to events (headers from the packet line)."""

    def __init__(self):
        self.packets = OrderedDict()

    def wants_for(self, flow_filter):
        return lambda line: self.wants(line, flow_filter)

    def wants(self, line, flow_filter):
        """Packet lines by the flow's headers; the others by their packet's trace id."""
        words = line.lstrip().split(" ", 3)
        if len(words) < 3:
            return True
        if " packet: " in line:
            if flow_filter.line_may_match(line):
                return True
            self._remember(words[2], None)
            return False
        return self.packets.get(words[2], True) is not None

    def _remember(self, trace_id, packet):
        self.packets[trace_id] = packet
        self.packets.move_to_end(trace_id)
        if len(self.packets) > 4096:
            self.packets.popitem(last=False)

    def feed(self, line, number):
        event = trace_nft.parse_nft_line(line)
        trace_id = event["trace_id"]
        if event.pop("kind") == "packet":
            self._remember(trace_id, event)
            return []
        packet = self.packets.get(trace_id)
        if packet is None:
            raise ValueError("rule line before its packet line")
        for key, value in packet.items():
            if key not in ("table", "chain", "family"):
                event.setdefault(key, value)
        event["line"] = number
        return [event]

    def finish(self):
        """Nothing waits in this format: a rule line without its packet line is unparsed."""


def detect_format(line):
    """Format of one line: legacy, xtables-monitor, nft-monitor, or None."""
    found = trace_nft.detect(line)
    if found:
        return found
    if trace_legacy.MARKER in line:
        try:
            if trace_legacy.parse_line(line) is not None:
                return "legacy"
        except ValueError:
            return None
    return None


def _text(line):
    if isinstance(line, bytes):
        return line.decode("utf-8", "replace")
    return line


def _chain(first, rest):
    yield from first
    yield from rest


def _tuple(event):
    return (event.get("proto"), event.get("src"), event.get("sport") or event.get("icmp_id"),
            event.get("dst"), event.get("dport") or event.get("icmp_id"))


def _reverse(forward):
    return (forward[0], forward[3], forward[4], forward[1], forward[2])


def _continues(packet, event, table, hook):
    """True when the event can be the next hop of this open packet: same headers on one
    side at least, and not a second visit of a table on a hook it already left."""
    segment = (table, hook or packet["_hook"])
    segments = packet["_segments"]
    last = packet["hops"][-1]
    if segments[-1] != segment:
        if segment in segments or last.get("verdict") in ("DROP", "REJECT"):
            return False
    return (last["src"] == event["src"] and last.get("sport") == event.get("sport")) or \
        (last["dst"] == event["dst"] and last.get("dport") == event.get("dport"))


def _same_packet_headers(hop, event):
    """One NAT step changes one side only: the other side must stay the same."""
    return ((hop.get("src"), hop.get("sport")) == (event.get("src"), event.get("sport"))
            or (hop.get("dst"), hop.get("dport")) == (event.get("dst"), event.get("dport")))


def _append_hop(packet, event, table, hook):
    """The event becomes the packet's next hop (no copy)."""
    if hook:
        packet["_hook"] = hook
    event["hook"] = hook = packet["_hook"]
    segments = packet["_segments"]
    if not segments or segments[-1] != (table, hook):
        segments.append((table, hook))
    packet["hops"].append(event)


def finish_packet(packet, ruleset, saw_nat):
    """Resolve rules, spell out NAT, decide the fate; return a contract Packet (without id)."""
    hops = packet["hops"]
    for hop in hops:
        _resolve_hop(hop, ruleset)
    first = hops[0]
    result = {
        "_order": packet["_order"],
        "summary": summarize(first),
        "direction": packet["direction"],
        "flow": {key: first.get(key) for key in FLOW_FIELDS},
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
    if saw_nat and packet["_later_in_connection"] and not any(hop["table"] == "nat" for hop in hops):
        result["flags"].append("conntrack_skipped_nat")
    return result


def _resolve_hop(hop, ruleset):
    """Fill rule number, rule text, target and verdict from the ruleset and the rule text."""
    if not hop["in"]:
        hop["in"] = ""
    if not hop["out"]:
        hop["out"] = ""
    if ruleset is not None:
        found = ruleset.resolve(hop["table"], hop["chain"], hop["type"], hop.get("rule"), hop.get("handle"),
                                hop.get("rule_text"))
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


def summarize(event):
    """'172.18.0.2 > 172.19.0.2 ICMP echo-request id 20 seq 0' style one-liner."""
    proto = event.get("proto") or "IP"
    src, dst = event.get("src"), event.get("dst")
    if event.get("sport") is not None:
        text = "%s:%s > %s:%s %s" % (src, event["sport"], dst, event.get("dport"), proto)
        if event.get("tcp_flags"):
            text += " " + ",".join(flag for flag in TCP_FLAG_ORDER if flag in event["tcp_flags"])
        return text
    text = "%s > %s %s" % (src, dst, proto)
    names = {8: "echo-request", 0: "echo-reply", 3: "destination-unreachable", 11: "time-exceeded"}
    if event.get("icmp_type") is not None:
        text += " " + names.get(event["icmp_type"], "type %s" % event["icmp_type"])
    if event.get("icmp_id") is not None:
        text += " id %s seq %s" % (event["icmp_id"], event.get("icmp_seq"))
    if event.get("ip_id") is not None:
        text += " (ip id %s)" % event["ip_id"]
    return text


def _endpoint(hop, side):
    port = hop.get("sport" if side == "src" else "dport")
    return hop.get(side) if port is None else "%s:%s" % (hop.get(side), port)


def nat_rewrites(hops):
    """NAT steps: address or port changes between hops, and nat rules that end the path."""
    rewrites = []
    for index in range(1, len(hops)):
        previous, hop = hops[index - 1], hops[index]
        if previous["dst"] != hop["dst"] or previous.get("dport") != hop.get("dport"):
            rewrites.append(_nat_record("DNAT", _endpoint(previous, "dst"), _endpoint(hop, "dst"),
                                        _nat_rule_before(hops, index)))
        if previous["src"] != hop["src"] or previous.get("sport") != hop.get("sport"):
            rewrites.append(_nat_record("SNAT", _endpoint(previous, "src"), _endpoint(hop, "src"),
                                        _nat_rule_before(hops, index)))
    last = hops[-1] if hops else None
    if last and last["table"] == "nat" and last.get("target") in ("MASQUERADE", "SNAT"):
        rewrites.append(_nat_record(last["target"], _endpoint(last, "src"), None, last))
    return rewrites


def _nat_rule_before(hops, index):
    """The nat rule that explains a change seen at hops[index] (None: conntrack did it)."""
    for candidate in reversed(hops[:index]):
        if candidate["table"] == "nat" and candidate["type"] == "rule" and \
                candidate.get("target") in NAT_TARGETS:
            return candidate
    return None


def _nat_record(kind, before, after, rule_hop):
    record = {"kind": kind, "from": before, "to": after}
    if rule_hop is not None:
        kind = rule_hop.get("target") or kind
        record.update(kind=kind, table=rule_hop["table"], chain=rule_hop["chain"],
                      rule=rule_hop.get("rule"), rule_text=rule_hop.get("rule_text"))
        by = " by %s %s %s" % (rule_hop["table"], rule_hop["chain"], _rule_name(rule_hop))
    else:
        record["kind"] = "conntrack"
        by = " by conntrack (the NAT of this connection, decided by its first packet)"
    record["text"] = "%s %s %s %s%s" % (record["kind"], before, ARROW, after or "(address of the outgoing interface)", by)
    return record


def _rule_name(hop):
    """'rule 4', 'rule handle 15' or the rule text, whichever is known."""
    if hop.get("rule") is not None:
        return "rule %s" % hop["rule"]
    if hop.get("handle") is not None:
        return "rule handle %s" % hop["handle"]
    return "rule '%s'" % hop.get("rule_text")


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
    if last["hook"] in FINAL_HOOKS:
        return "delivered", _where(last), []
    # No INPUT chain to trace it: a packet that was not forwarded (FORWARD would show it)
    # or that came in on loopback went to a local socket.
    if last["hook"] == "PREROUTING" and ruleset is not None and not ruleset.has_hook("INPUT") \
            and (ruleset.has_hook("FORWARD") or last.get("in") == "lo"):
        return "delivered", _where(last), ["input_untraced"]
    return "unknown", _where(last), ["path_incomplete"]


def _where(hop):
    return {key: hop.get(key) for key in ("table", "chain", "type", "rule", "handle", "rule_text", "line")
            if hop.get(key) is not None}


def journey_of(packet):
    """Hops and captures interleaved: an inbound capture on X before the first hop
    entering by X, an outbound one after the last hop leaving by X."""
    hops = packet["hops"]
    entries = [(index, 0, dict(kind="hook", **hop)) for index, hop in enumerate(hops)]
    for order, capture in enumerate(packet["captures"]):
        iface = capture.get("iface")
        entering = [i for i, hop in enumerate(hops) if hop.get("in") == iface or hop.get("physin") == iface]
        leaving = [i for i, hop in enumerate(hops) if hop.get("out") == iface or hop.get("physout") == iface]
        if capture.get("direction") == "in" or (capture.get("direction") is None and entering):
            position = (entering[0] - 0.5) if entering else -1
        elif leaving:
            position = leaving[-1] + 0.5
        else:
            position = len(hops)
        entries.append((position, order, dict(kind="capture", **capture)))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return [entry[2] for entry in entries]


def attach_captures(packets, pcaps, flow_filter=None):
    """Match captured packets to traced ones; add the rest as captured_not_traced.
    Returns how many captured packets were read."""
    index = {}
    for packet in packets:
        for key in _capture_keys(packet["flow"]):
            index.setdefault(key, []).append(packet)
    untraced = OrderedDict()
    first_records = {}
    captured_ifaces = set()
    count = 0
    order = max([packet["_order"] for packet in packets] or [0])
    for iface, path in _capture_sources(pcaps):
        captured_ifaces.add(iface)
        for record in read_capture(path, iface):
            count += 1
            record["pcap"] = os.path.basename(path)
            packet = _matching_packet(index, record)
            if packet is not None:
                packet["captures"].append(_capture_entry(record))
                first_records.setdefault(id(packet), record)
                continue
            if flow_filter is not None and not flow_filter.matches(record):
                continue
            key = (record.get("proto"), record.get("ip_id"), record.get("tcp_seq"), record.get("icmp_seq"),
                   record["src"], record["dst"])
            if key not in untraced:
                order += 1
                untraced[key] = _untraced_packet(record, order)
            untraced[key]["captures"].append(_capture_entry(record))
    for packet in packets:
        packet["captures"].sort(key=lambda capture: (capture.get("ts") or 0, capture.get("index")))
        _complete_flow(packet, first_records.get(id(packet)))
        seen = set(capture["iface"] for capture in packet["captures"])
        wire = _wire_ifaces(packet) | {"any"}
        for iface in sorted(captured_ifaces - seen):
            if iface in wire:
                packet["flags"].append("traced_not_captured:%s" % iface)
    packets.extend(untraced.values())
    return count


def _wire_ifaces(packet):
    """Interfaces the packet really crossed: where it came in, and where it left unless
    dropped (earlier hops may name an interface that NAT then routed it away from)."""
    ins = [hop["in"] for hop in packet["hops"] if hop.get("in")]
    outs = [hop["out"] for hop in packet["hops"] if hop.get("out")]
    wire = set(ins[:1])
    if outs and packet["fate"] != "dropped":
        wire.add(outs[-1])
    return wire


def _complete_flow(packet, record):
    """Fill headers the trace lacks (xtables-monitor prints no ICMP fields) from a capture."""
    if record is None or packet["flow"].get("proto") is not None:
        return
    for key in FLOW_FIELDS:
        if packet["flow"].get(key) is None and record.get(key) is not None:
            packet["flow"][key] = record[key]
    packet["summary"] = summarize(packet["flow"])
    if packet["direction"] == "request" and packet["flow"].get("icmp_type") in (0, 14):
        packet["direction"] = "reply"


def _capture_sources(pcaps):
    if isinstance(pcaps, dict):
        return sorted(pcaps.items())
    if isinstance(pcaps, (list, tuple)):
        return [(_iface_from_name(path), path) for path in pcaps]
    raise ValueError("pcaps must be a dict {iface: path} or a list of paths")


def _iface_from_name(path):
    """'nft-x.docker0.pcap' -> 'docker0'; 'x.any-sll2.pcap' -> 'any'; else the file name."""
    name = os.path.basename(path)
    for suffix in (".pcapng", ".pcap"):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
    iface = name.rsplit(".", 1)[-1]
    return "any" if iface.startswith("any") else iface


def _capture_keys(flow):
    return [(flow.get("proto"), flow.get("ip_id"))]


def _matching_packet(index, record):
    """The traced packet this capture is (same IP id and protocol, compatible headers)."""
    candidates = index.get((record.get("proto"), record.get("ip_id")), [])
    if not candidates:
        candidates = index.get((None, record.get("ip_id")), [])
    for packet in candidates:
        flow = packet["flow"]
        if flow.get("tcp_seq") not in (None, record.get("tcp_seq")):
            continue
        if flow.get("icmp_seq") is not None and flow.get("icmp_seq") != record.get("icmp_seq"):
            continue
        if any(_same_packet_headers(hop, record) for hop in packet["hops"]):
            return packet
    return None


CAPTURE_KEYS = ("ts", "iface", "ifindex", "direction", "src", "dst", "sport", "dport", "proto", "ip_id",
                "pcap", "index")


def _capture_entry(record):
    return {key: record.get(key) for key in CAPTURE_KEYS
            if record.get(key) is not None or key in ("iface", "direction")}


def _untraced_packet(record, order):
    return {
        "_order": order,
        "summary": summarize(record),
        "direction": "reply" if record.get("icmp_type") == 0 else "request",
        "flow": {key: record.get(key) for key in FLOW_FIELDS},
        "hops": [],
        "captures": [],
        "nat": [],
        "fate": "unknown",
        "fate_at": None,
        "flags": ["captured_not_traced"],
    }
