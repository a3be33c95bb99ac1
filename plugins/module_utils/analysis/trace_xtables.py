# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parse ``xtables-monitor --trace`` output (iptables-nft).

The packet is printed once per hook (a PACKET line) and each rule, policy or
verdict on a TRACE line, tied together by a trace id. The id is not a packet
identity (measured: it changes mid-path and is reused), so every event carries
the packet headers of its PACKET line.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.fields import (
    NotTraceLine,
    check_fields,
    number,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import FAMILIES, TCP_FLAGS

# Verdict codes that xtables-monitor prints as hex (include/uapi nf_tables.h).
_VERDICT_CODES = {
    "0xffffffff": "CONTINUE",
    "0xfffffffe": "BREAK",
    "0xfffffffd": "JUMP",
    "0xfffffffc": "GOTO",
    "0xfffffffb": "RETURN",
}
_FIELD = re.compile(r"([A-Z]+)=(\S*)")
_IP_ID = re.compile(r"\bID=(\S+)")
# Some iptables releases print fields glued ("ID=43007SPORT=80"): a key right after a value.
_GLUED = re.compile(r"(?<=[0-9a-f])(?=[A-Z]{2,}(?:=|\s|$))")
# xtables-monitor prints an IPv6 packet's LEN as its payload length plus 20 (measured: 52 for a
# neighbour solicitation of 72 bytes, which nf_log and pcaps show as 72); the true length is 20 more.
_IPV6_LEN_OFFSET = 20
# xtables-monitor prints the TCP flags from the highest bit down.
_TCP_FLAGS = TCP_FLAGS[::-1]
PACKETS_KEPT = 4096
RULES_KEPT = 4096
WAITING_PER_ID = 256
WAITING_IDS = 1024
WANTED_IDS = 8


class XtablesParser:
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
        self.wanted = OrderedDict()
        self.seen_packet = False
        self.rule_first = False
        self.unreadable = set()
        self.parsed: dict[str, tuple] = {}

    @staticmethod
    def detect(line):
        """True when the line is xtables-monitor trace output."""
        stripped = line.lstrip()
        return stripped.startswith("PACKET: ") or (
            stripped.startswith("TRACE: ") and " " in stripped[7:] and stripped[7:8].isdigit()
        )

    def feed(self, line, number=None):
        """Parse one line; return a list of finished events (possibly empty).

        Raises ValueError for a line that is not xtables-monitor trace output.
        """
        stripped = line.strip()
        if stripped.startswith("PACKET: "):
            trace_id, packet = self._packet(stripped[8:])
            self.unreadable.discard(trace_id)
            self.packets[trace_id] = packet
            if len(self.packets) > PACKETS_KEPT:
                self.packets.pop(next(iter(self.packets)))
            return [_without_text(dict(event, **packet)) for event in self.pending.pop(trace_id, [])]
        if stripped.startswith("TRACE: "):
            trace_id, event = self._trace(stripped[7:])
            event["line"] = number
            packet = self.packets.get(trace_id)
            if packet is None:
                if trace_id in self.unreadable:
                    raise ValueError("the PACKET line of trace id %s could not be read" % trace_id)
                self._wait(trace_id, event, stripped)
                return []
            event.update(packet)
            return [event]
        raise NotTraceLine("not an xtables-monitor trace line")

    def finish(self):
        """Report the TRACE lines still waiting for a PACKET line."""
        for events in self.pending.values():
            self._orphan(events)
        self.pending = {}

    def wants_for(self, flow_filter):
        """The line pre-filter of a flow: a function of one line, False when it can be skipped."""
        self._line_may_match = flow_filter.line_may_match
        return self._wants

    def _wants(self, line):
        """PACKET lines by the flow's headers; TRACE lines when they carry the trace id
        of one of the last wanted PACKET lines (all of them in the older rule-first order)."""
        if line.startswith("PACKET: "):
            self.seen_packet = True
            words = line.split(" ", 3)
            trace_id = words[2] if len(words) > 3 else ""
            if not trace_id or self._line_may_match(line):
                self.wanted[trace_id] = True
                self.wanted.move_to_end(trace_id)
                if len(self.wanted) > WANTED_IDS:
                    self.wanted.popitem(last=False)
                return True
            self.wanted.pop(trace_id, None)
            self._drop(trace_id)
            return False
        if not self.seen_packet:
            self.rule_first = True
        if self.rule_first:
            return True
        for trace_id in self.wanted:
            if trace_id in line:
                return True
        return False

    def _packet(self, text):
        """(trace id, headers) of a PACKET line; an unreadable one also makes the TRACE lines of
        its id unreadable (those waiting, and those after it), never tied to older headers."""
        found = self.parsed.get(text)
        if found is not None:
            return found
        try:
            found = self.parsed[text] = _packet(text)
            if len(self.parsed) > PACKETS_KEPT:
                self.parsed.clear()
            return found
        except ValueError:
            trace_id = text.split(" ", 2)[1] if text.count(" ") >= 2 else ""
            self.packets.pop(trace_id, None)
            self.unreadable.add(trace_id)
            self._orphan(self.pending.pop(trace_id, []))
            raise

    def _drop(self, trace_id):
        """Forget a trace id: its PACKET line belongs to a flow that is not wanted."""
        self.packets.pop(trace_id, None)
        self.pending.pop(trace_id, None)

    def _wait(self, trace_id, event, text):
        """Keep a TRACE line until its PACKET line comes; bounded."""
        event["text"] = text
        self.pending.setdefault(trace_id, []).append(event)
        if len(self.pending[trace_id]) > WAITING_PER_ID or len(self.pending) > WAITING_IDS:
            oldest = trace_id if len(self.pending[trace_id]) > WAITING_PER_ID else next(iter(self.pending))
            self._orphan(self.pending.pop(oldest))

    def _orphan(self, events):
        for event in events:
            if self.on_orphan is not None:
                self.on_orphan(event["line"], event["text"])

    def _trace(self, text):
        """(trace id, event) of a TRACE line; the rule part is parsed once per distinct text."""
        parts = text.split(" ", 2)
        if len(parts) < 3:
            raise ValueError("TRACE line without a rule (truncated)")
        rule = self.rules.get(parts[2])
        if rule is None:
            if len(self.rules) > RULES_KEPT:
                self.rules.clear()
            rule = self.rules[parts[2]] = _trace_rule(parts[2])
        return parts[1], dict(rule)


def _packet(text):
    """(trace id, headers) of the text after 'PACKET: '."""
    family, trace_id, fields = (text.split(" ", 2) + ["", ""])[:3]
    if not trace_id:
        raise ValueError("PACKET line without trace id")
    if _GLUED.search(fields):
        fields = _GLUED.sub(" ", fields)
    values = dict(_FIELD.findall(fields))
    if "SRC" not in values and "NH" in values:
        values.update(network_header(values["NH"]))
    if "SRC" not in values or "DST" not in values:
        raise ValueError("PACKET line without SRC/DST (truncated)")
    ip_id = _IP_ID.search(fields if "NH" not in values else " ID=%s" % values.get("ID"))
    words = set(fields.split())
    packet = {
        "trace_id": trace_id,
        "family": FAMILIES.get(family),
        "in": values.get("IN", ""),
        "out": values.get("OUT", ""),
        "src": values["SRC"],
        "dst": values["DST"],
        "len": number(values.get("LEN"), "LEN"),
        "ttl": number(values.get("TTL"), "TTL"),
        "ip_id": number(ip_id.group(1), "ID") if ip_id else None,
        "proto": None,
    }
    if "HOPLIMIT" in values:
        packet["hop_limit"] = number(values["HOPLIMIT"], "HOPLIMIT")
        packet["flow_label"] = number(values.get("FLOWLBL"), "FLOWLBL")
        if packet["len"] is not None:
            packet["len"] += _IPV6_LEN_OFFSET
    if "SPORT" in values:
        packet["sport"] = number(values.get("SPORT"), "SPORT")
        packet["dport"] = number(values.get("DPORT"), "DPORT")
        flags = [flag for flag in _TCP_FLAGS if flag in words]
        packet["proto"] = "TCP" if flags else "UDP"
        if flags:
            packet["tcp_flags"] = flags
    check_fields(packet)
    return trace_id, packet


def network_header(text):
    """The fields of a bridge-family PACKET line's ``NH=`` hex dump (xtables-monitor decodes only the ip
    and ip6 families): SRC, DST, LEN, TTL and ID (IPv6: HOPLIMIT, FLOWLBL), as in an ip-family line.
    xtables-monitor 1.8.9 prints bytes of 0x80 and up sign-extended ("ffffffc6" for c6)."""
    data = _hex_bytes(text)
    if len(data) >= 20 and data[0] >> 4 == 4:
        fields = {
            "SRC": ".".join(str(byte) for byte in data[12:16]),
            "DST": ".".join(str(byte) for byte in data[16:20]),
            "LEN": str(data[2] << 8 | data[3]),
            "TTL": str(data[8]),
            "ID": str(data[4] << 8 | data[5]),
        }
    elif len(data) >= 40 and data[0] >> 4 == 6:
        words = [data[pos] << 8 | data[pos + 1] for pos in range(8, 40, 2)]
        fields = {
            "SRC": ":".join("%x" % word for word in words[:8]),
            "DST": ":".join("%x" % word for word in words[8:]),
            "LEN": str(data[4] << 8 | data[5]),
            "HOPLIMIT": str(data[7]),
            "FLOWLBL": str((data[1] & 0x0F) << 16 | data[2] << 8 | data[3]),
        }
    else:
        return {}
    return fields


def _hex_bytes(text):
    """Bytes of a hex dump, plain or with sign-extended bytes."""
    try:
        if len(text) in (40, 80):
            return [int(text[pos : pos + 2], 16) for pos in range(0, len(text), 2)]
        data, pos = [], 0
        while pos + 1 < len(text):
            if text.startswith("ffffff", pos) and len(text) >= pos + 8:
                data.append(int(text[pos + 6 : pos + 8], 16))
                pos += 8
            else:
                data.append(int(text[pos : pos + 2], 16))
                pos += 2
        return data
    except ValueError:
        return []


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
    if verdict is not None:
        verdict = _VERDICT_CODES.get(verdict, verdict)
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
