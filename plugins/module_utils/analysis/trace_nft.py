# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parse nf_tables trace output: ``xtables-monitor --trace`` and ``nft monitor trace``.

Both print the packet once per hook and one line per rule, policy or verdict,
tied together by a trace id. The id is not a packet identity (measured: it
changes mid-path and is reused), so every event carries the packet headers.
"""

from __future__ import annotations

import re

# Verdict codes that xtables-monitor prints as hex (include/uapi nf_tables.h).
_NFT_VERDICT_CODES = {
    "0xffffffff": "CONTINUE",
    "0xfffffffe": "BREAK",
    "0xfffffffd": "JUMP",
    "0xfffffffc": "GOTO",
    "0xfffffffb": "RETURN",
}
_XT_FIELD = re.compile(r"([A-Z]+)=(\S*)")
_XT_IP_ID = re.compile(r"\bID=(\d+)")
_XT_TCP_FLAGS = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")
_NFT_LINE = re.compile(
    r"trace id (?P<id>[0-9a-f]+) (?P<family>\S+) (?P<table>\S+) (?P<chain>\S+) (?P<kind>packet:|rule|verdict|policy|unknown rule handle)(?P<rest>.*)$")
_NFT_VERDICT = re.compile(r"\(verdict (?P<verdict>[^)]*)\)\s*$")
_NFT_HANDLE = re.compile(r"# handle (\d+)")
_NFT_IFACE_KEYS = {"iif": "iif", "iifname": "iif", "oif": "oif", "oifname": "oif"}
_ICMP_TYPES = {
    "echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5,
    "echo-request": 8, "router-advertisement": 9, "router-solicitation": 10,
    "time-exceeded": 11, "parameter-problem": 12, "timestamp-request": 13,
    "timestamp-reply": 14,
}


def detect(line):
    """Return "xtables-monitor", "nft-monitor" or None for one line."""
    stripped = line.lstrip()
    if stripped.startswith("PACKET: ") or (stripped.startswith("TRACE: ") and " " in stripped[7:]
                                           and stripped[7:8].isdigit()):
        return "xtables-monitor"
    if stripped.startswith("trace id ") and _NFT_LINE.match(stripped):
        return "nft-monitor"
    return None


def _int(value):
    """Decimal text to int; None when missing or unreadable."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class XtablesMonitorParser:
    """Stateful parser of ``xtables-monitor --trace``: PACKET lines give the headers
    of the TRACE lines with the same id, whichever comes first (iptables before 1.8.7
    printed the rule before the packet)."""

    def __init__(self, on_orphan=None):
        """on_orphan(line number, text) hears of TRACE lines that never got their
        PACKET line (at the end, or when too many wait)."""
        self.packets = {}
        self.pending = {}
        self.rules = {}
        self.on_orphan = on_orphan

    def feed(self, line, number=None):
        """Parse one line; return a list of finished events (possibly empty).

        Raises ValueError for a line that is not xtables-monitor trace output.
        """
        stripped = line.strip()
        if stripped.startswith("PACKET: "):
            trace_id, packet = self._packet(stripped[8:])
            self.packets[trace_id] = packet
            if len(self.packets) > 4096:
                self.packets.pop(next(iter(self.packets)))
            return [_without_text(dict(event, **packet)) for event in self.pending.pop(trace_id, [])]
        if stripped.startswith("TRACE: "):
            trace_id, event = self._trace(stripped[7:])
            event["line"] = number
            packet = self.packets.get(trace_id)
            if packet is None:
                self._wait(trace_id, event, stripped)
                return []
            event.update(packet)
            return [event]
        raise ValueError("not an xtables-monitor trace line")

    def _wait(self, trace_id, event, text):
        """Keep a TRACE line until its PACKET line comes; bounded."""
        event["text"] = text
        self.pending.setdefault(trace_id, []).append(event)
        if len(self.pending[trace_id]) > 256 or len(self.pending) > 1024:
            oldest = trace_id if len(self.pending[trace_id]) > 256 else next(iter(self.pending))
            self._orphan(self.pending.pop(oldest))

    def _orphan(self, events):
        for event in events:
            if self.on_orphan is not None:
                self.on_orphan(event["line"], event["text"])

    def drop(self, trace_id):
        """Forget a trace id: its PACKET line belongs to a flow that is not wanted."""
        self.packets.pop(trace_id, None)
        self.pending.pop(trace_id, None)

    def finish(self):
        """Report the TRACE lines still waiting for a PACKET line."""
        for events in self.pending.values():
            self._orphan(events)
        self.pending = {}

    @staticmethod
    def _packet(text):
        trace_id, fields = (text.split(" ", 2) + ["", ""])[1:3]
        if not trace_id:
            raise ValueError("PACKET line without trace id")
        values = dict(_XT_FIELD.findall(fields))
        if "SRC" not in values or "DST" not in values:
            raise ValueError("PACKET line without SRC/DST (truncated)")
        ip_id = _XT_IP_ID.search(fields)
        words = set(fields.split())
        packet = {
            "trace_id": trace_id,
            "in": values.get("IN", ""),
            "out": values.get("OUT", ""),
            "src": values["SRC"],
            "dst": values["DST"],
            "len": _int(values.get("LEN")),
            "ttl": _int(values.get("TTL")),
            "ip_id": int(ip_id.group(1)) if ip_id else None,
            "proto": None,
        }
        if "SPORT" in values:
            packet["sport"] = _int(values.get("SPORT"))
            packet["dport"] = _int(values.get("DPORT"))
            flags = [flag for flag in _XT_TCP_FLAGS if flag in words]
            packet["proto"] = "TCP" if flags else "UDP"
            if flags:
                packet["tcp_flags"] = flags
        return trace_id, packet

    def _trace(self, text):
        """(trace id, event) of a TRACE line; the rule part is parsed once per distinct text."""
        parts = text.split(" ", 2)
        if len(parts) < 3:
            raise ValueError("TRACE line without a rule (truncated)")
        rule = self.rules.get(parts[2])
        if rule is None:
            if len(self.rules) > 4096:
                self.rules.clear()
            rule = self.rules[parts[2]] = _trace_rule(parts[2])
        return parts[1], dict(rule)


def _trace_rule(text):
    """The rule part of a TRACE line: 'table:chain:type[:0xhandle]:verdict  rule text'."""
    head, _space, rule_text = text.partition(" ")
    pieces = head.split(":")
    if len(pieces) < 4 or pieces[2] not in ("rule", "return", "policy"):
        raise ValueError("bad TRACE header %r" % head[:60])
    table, chain, hop_type = pieces[0], pieces[1], pieces[2]
    rest = pieces[3:]
    handle = None
    if rest and rest[0].startswith("0x") and hop_type != "policy":
        handle = int(rest.pop(0), 16)
    verdict = ":".join(rest) or None
    verdict = _NFT_VERDICT_CODES.get(verdict, verdict)
    if hop_type == "return" and not verdict:
        verdict = "RETURN"
    return {
        "table": table,
        "chain": chain,
        "type": hop_type,
        "rule": None,
        "handle": handle,
        "verdict": verdict.upper() if verdict and ":" not in verdict else verdict,
        "rule_text": _iptables_rule_text(rule_text.strip()) or None,
    }


def _without_text(event):
    event.pop("text", None)
    return event


def _iptables_rule_text(text):
    """'-4 -t nat -A DOCKER ...' (as xtables-monitor prints it) to '-A DOCKER ...'."""
    if text.startswith(("-4 ", "-6 ")):
        text = text[3:]
    if text.startswith("-t "):
        text = text.split(" ", 2)[2] if text.count(" ") >= 2 else ""
    return text


def parse_nft_line(line):
    """Parse one ``nft monitor trace`` line into an event (packet lines: kind "packet").

    Raises ValueError for a line that is not nft trace output.
    """
    match = _NFT_LINE.match(line.strip())
    if not match:
        raise ValueError("not an nft monitor trace line")
    kind = match.group("kind")
    rest = match.group("rest").strip()
    event = {
        "trace_id": match.group("id"),
        "family": match.group("family"),
        "table": match.group("table"),
        "chain": match.group("chain"),
    }
    if kind == "packet:":
        event["kind"] = "packet"
        event.update(_nft_packet_fields(rest))
        return event
    event["kind"] = "hop"
    handle = _NFT_HANDLE.search(rest)
    event["handle"] = int(handle.group(1)) if handle else None
    if kind == "policy":
        event.update(type="policy", verdict=rest.upper() or None, rule_text=None)
    elif kind == "verdict":
        event.update(type="return", verdict=_nft_verdict(rest), rule_text=None)
    else:
        verdict = _NFT_VERDICT.search(rest)
        text = rest[:verdict.start()] if verdict else rest
        event.update(type="rule", verdict=_nft_verdict(verdict.group("verdict")) if verdict else None,
                     rule_text=_NFT_HANDLE.sub("", text).strip() or None)
        if kind == "unknown rule handle" and event["handle"] is None:
            event["handle"] = _int(rest.split()[0]) if rest else None
    return event


def _nft_verdict(text):
    """'jump DOCKER' -> 'JUMP:DOCKER', 'accept' -> 'ACCEPT'."""
    words = text.split()
    if not words:
        return None
    if len(words) > 1 and words[0] in ("jump", "goto"):
        return "%s:%s" % (words[0].upper(), words[1])
    return words[0].upper()


def _nft_packet_fields(text):
    """Headers from the text after 'packet:'."""
    words = text.split()
    fields = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word in _NFT_IFACE_KEYS and i + 1 < len(words):
            fields[_NFT_IFACE_KEYS[word]] = words[i + 1].strip('"')
            i += 2
        elif word.startswith("@"):
            i += 2
        elif i + 2 < len(words) and words[i + 2] == "==" and i + 3 < len(words):
            fields[word + " " + words[i + 1]] = words[i + 3]
            i += 4
        elif i + 2 < len(words):
            fields[word + " " + words[i + 1]] = words[i + 2]
            i += 3
        else:
            break
    packet = {
        "in": fields.get("iif", ""),
        "out": fields.get("oif", ""),
        "src": fields.get("ip saddr") or fields.get("ip6 saddr"),
        "dst": fields.get("ip daddr") or fields.get("ip6 daddr"),
        "len": _int(fields.get("ip length")),
        "ttl": _int(fields.get("ip ttl")),
        "ip_id": _int(fields.get("ip id")),
        "proto": None,
    }
    if packet["src"] is None or packet["dst"] is None:
        raise ValueError("packet line without addresses (truncated)")
    for proto in ("tcp", "udp"):
        if proto + " sport" in fields:
            packet.update(proto=proto.upper(), sport=_int(fields.get(proto + " sport")),
                          dport=_int(fields.get(proto + " dport")))
    if "tcp flags" in fields:
        packet["tcp_flags"] = _nft_tcp_flags(fields["tcp flags"])
    if "icmp type" in fields:
        icmp_type = fields["icmp type"]
        packet.update(proto="ICMP",
                      icmp_type=_ICMP_TYPES.get(icmp_type, _int(icmp_type)),
                      icmp_id=_int(fields.get("icmp id")),
                      icmp_seq=_int(fields.get("icmp sequence")))
    elif packet["proto"] is None and fields.get("ip protocol"):
        packet["proto"] = fields["ip protocol"].upper()
    return packet


def _nft_tcp_flags(text):
    """'syn' / 'syn,ack' / '0x12' to ['SYN', 'ACK']."""
    if text.startswith("0x"):
        bits = int(text, 16)
        names = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR")
        return [name for bit, name in enumerate(names) if bits & (1 << bit)]
    return [flag.upper() for flag in re.split(r"[,|]", text) if flag]
