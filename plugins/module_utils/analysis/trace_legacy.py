# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parse iptables-legacy TRACE lines written by nf_log to the kernel log.

Accepted wrappers: rsyslog RFC 3339 and traditional (CentOS 7) files,
``journalctl -k -o short-iso``, ``dmesg`` and raw ``/dev/kmsg`` records.
"""

from __future__ import annotations

import re
from datetime import datetime

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.fields import (
    NotTraceLine,
    check_fields,
    ipv6_text,
    key_values,
    number,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.trace_ebtables import bridge_event

MARKER = "TRACE: "

# "2026-11-25T18:55:21.292049+00:00 vm kernel: " (rsyslog, journalctl short-iso)
_ISO_PREFIX = re.compile(
    r"(?P<stamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+(?P<host>\S+)\s+kernel:\s*$"
)
# "Nov 25 18:55:21 master kernel: " (traditional syslog, no year)
_TRADITIONAL_PREFIX = re.compile(r"(?P<stamp>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)\s+(?P<host>\S+)\s+kernel:\s*$")
# "4,1234,110795331,-;" (/dev/kmsg: priority, sequence, microseconds since boot, flags)
_KMSG_PREFIX = re.compile(r"\d+,\d+,(?P<usec>\d+),[^;]*;$")
_UPTIME = re.compile(r"\[\s*(?P<sec>\d+\.\d+)\]\s*$")
_HEADER_PATTERN = r"(?P<table>[a-z]+):(?P<chain>[^: ]+):(?P<type>rule|return|policy):(?P<num>\d+)"
_HEADER = re.compile(_HEADER_PATTERN)
_TCP_FLAGS = re.compile(r"RES=0x[0-9a-f]+ ((?:[A-Z]+ )*)URGP=")


class LegacyParser:
    """Kernel log lines (nf_log TRACE records) to events: one line, one event."""

    def __init__(self, on_orphan=None):
        """Each line stands alone: nothing waits, so no line is ever orphaned and
        on_orphan is not needed."""
        del on_orphan
        self._body = None
        self._template: dict = {}
        self._tcp_flags = None
        self._headers: dict[str, tuple] = {}

    @staticmethod
    def detect(line):
        """True when the line is a readable TRACE record."""
        if MARKER not in line:
            return False
        try:
            return parse_line(line) is not None
        except ValueError:
            return False

    def feed(self, line, number=None):
        """The event of one line, in a list.

        Raises ValueError for a line without a TRACE record or one that cannot be read.
        """
        event = self._usual(line)
        if event is None:
            event = parse_line(line)
            if event is None:
                raise NotTraceLine("not a TRACE line")
        event["line"] = number
        return [event]

    def _usual(self, line):
        """What parse_line gives for a line the one-pass pattern covers, None for the others.
        The body (the text after the TRACE header) is read only when it is not the last
        line's: most lines repeat it, one per chain the packet crosses."""
        pos = line.find(MARKER)
        end = line.find(" ", pos + 7)
        if pos < 0 or end < 0:
            return None
        body = line[end:]
        if body != self._body and not self._read_body(line, end, body):
            return None
        text = line[pos + 7 : end]
        header = self._headers.get(text) or self._header(text)
        wrapper = _PREFIX.fullmatch(line, 0, pos)
        if not header or wrapper is None:
            return None
        event = self._template.copy()
        _add_wrapper(event, wrapper.groups())
        event["table"], event["chain"], event["type"], event["rule"] = header
        if self._tcp_flags is not None:
            event["tcp_flags"] = self._tcp_flags[:]
        return event

    def _read_body(self, line, end, body):
        """Parse a new body into the event template; False when the one-pass pattern cannot."""
        match = _BODY.match(line, end)
        if match is None:
            match = _BODY6.match(line, end)
            if match is None or "[" in match.group("tail") or MARKER in body:
                return False
            fields = _body6_fields(match.groups())
        elif "[" in match.group("tail") or MARKER in body:
            return False
        else:
            fields = _body_fields(match.groups())
        check_fields(fields)
        self._template = dict(_EMPTY_HEAD, **fields)
        self._tcp_flags = self._template.get("tcp_flags")
        self._body = body
        return True

    def _header(self, text):
        """(table, chain, type, rule number) of a TRACE header, () when unreadable; remembered."""
        if len(self._headers) > 4096:
            self._headers.clear()
        match = _HEADER.fullmatch(text)
        found = (match["table"], match["chain"], match["type"], int(match["num"])) if match else ()
        self._headers[text] = found
        return found

    def finish(self):
        """Nothing waits in this format."""

    @staticmethod
    def wants_for(flow_filter):
        """The line pre-filter of a flow: a function of one line, False when it can be skipped."""
        return flow_filter.line_may_match


def parse_prefix(prefix):
    """Return (host, ts, uptime, stamp) from what precedes 'TRACE: ', or None."""
    uptime = None
    prefix = prefix.lstrip()
    match = _UPTIME.search(prefix)
    if match:
        uptime = float(match.group("sec"))
        prefix = prefix[: match.start()]
    if not prefix.strip():
        return None, None, uptime, None
    match = _KMSG_PREFIX.match(prefix)
    if match:
        return None, None, int(match.group("usec")) / 1e6, None
    match = _ISO_PREFIX.match(prefix)
    if match:
        return match.group("host"), _iso_to_epoch(match.group("stamp")), uptime, match.group("stamp")
    match = _TRADITIONAL_PREFIX.match(prefix)
    if match:
        return match.group("host"), None, uptime, match.group("stamp")
    raise ValueError("unknown log line prefix")


def _iso_to_epoch(stamp):
    """RFC 3339 / ISO 8601 stamp to float epoch seconds (None when it has no zone)."""
    if stamp.endswith("Z"):
        stamp = stamp[:-1] + "+00:00"
    elif stamp[-5] in "+-" and stamp[-3] != ":":
        stamp = stamp[:-2] + ":" + stamp[-2:]
    parsed = datetime.fromisoformat(stamp)
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


# The usual nf_log line in one pass, in parts: the wrapper's prefix, the TRACE header and the
# body (the packet); anything it does not cover goes the slow way.
_PREFIX_PATTERN = (
    r"\s*(?:(?P<stamp>(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?P<frac>\.\d+)?(?P<zone>Z|[+-]\d\d:?\d\d)?)"
    r"\s+(?P<host>\S+)\s+kernel:\s*"
    r"|(?P<trad>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)\s+(?P<thost>\S+)\s+kernel:\s*"
    r"|\d+,\d+,(?P<usec>\d+),[^;]*;)?"
    r"(?:\[\s*(?P<up>\d+\.\d+)\]\s*)?"
)
_IFACES_PATTERN = (
    r" IN=(?P<in>\S*) OUT=(?P<out>\S*) (?:PHYSIN=(?P<physin>\S+) )?(?:PHYSOUT=(?P<physout>\S+) )?(?:MAC=(?P<mac>\S*) )?"
)
_L4_PATTERN = (
    r"(?: PROTO=(?P<proto>[A-Za-z0-9]+)"
    r"(?: SPT=(?P<sport>\d+) DPT=(?P<dport>\d+)(?!\S)"
    r"(?: SEQ=(?P<seq>\d+) ACK=(?P<ack>\d+) WINDOW=\d+ RES=0x[0-9a-f]+ (?P<tcpflags>(?:[A-Z]+ )*)URGP=\d+(?!\S))?"
    r"| TYPE=(?P<itype>\d+) CODE=(?P<icode>\d+)(?: ID=(?P<iid>\d+) SEQ=(?P<iseq>\d+))?(?!\S))?)?"
    r"(?P<tail>.*)$"
)
_BODY_PATTERN = (
    _IFACES_PATTERN
    + r"SRC=(?P<src>[0-9a-fA-F.:]+) DST=(?P<dst>[0-9a-fA-F.:]+) LEN=(?P<len>\d+) TOS=\S+ PREC=\S+ TTL=(?P<ttl>\d+)"
    r" ID=(?P<id>\d+)(?!\S)"
    r"(?P<ipflags>(?: CE| DF| MF)*)(?: FRAG=\d+)?(?: OPT \([0-9A-F]*\))?" + _L4_PATTERN
)
# nf_log_ipv6's body: the IPv6 header (no id, no flags), then the same transport fields.
_BODY6_PATTERN = (
    _IFACES_PATTERN + r"SRC=(?P<src>[0-9a-f:]+) DST=(?P<dst>[0-9a-f:]+) LEN=(?P<len>\d+) TC=\d+ HOPLIMIT=(?P<hl>\d+)"
    r" FLOWLBL=(?P<fl>\d+)" + _L4_PATTERN
)
_PREFIX = re.compile(_PREFIX_PATTERN)
_BODY = re.compile(_BODY_PATTERN)
_BODY6 = re.compile(_BODY6_PATTERN)
_FAST = re.compile(_PREFIX_PATTERN + "TRACE: " + _HEADER_PATTERN + _BODY_PATTERN)
_PREFIX_GROUPS = _PREFIX.groups
_HEAD_GROUPS = _PREFIX.groups + _HEADER.groups
# The first fields of every event, in order: from the wrapper and the TRACE header.
_EMPTY_HEAD = dict.fromkeys(("host", "ts", "uptime", "stamp", "table", "chain", "type", "rule"))
_TAIL_FIELDS = re.compile(r"\b(MARK|UID|GID)=(\S+)")
_EPOCH_CACHE: dict[tuple, float | None] = {}


def parse_line(line):
    """Parse one TRACE line into an event dict; None when the line holds no TRACE.

    Raises ValueError for a line that holds a TRACE marker but cannot be read
    (truncated, interleaved with another record, unknown prefix).
    """
    pos = line.find(MARKER)
    if pos < 0:
        return None
    match = _FAST.match(line)
    if match is None or "[" in match.group("tail") or MARKER in match.group("tail"):
        return _parse_slow(line, pos)
    groups = match.groups()
    event = dict(_EMPTY_HEAD)
    _add_wrapper(event, groups[:_PREFIX_GROUPS])
    table, chain, hop_type, number = groups[_PREFIX_GROUPS:_HEAD_GROUPS]
    event.update(table=table, chain=chain, type=hop_type, rule=int(number))
    event.update(_body_fields(groups[_HEAD_GROUPS:]))
    check_fields(event)
    return event


def _add_wrapper(event, groups):
    """Set host, stamp, ts and uptime from the groups of the wrapper's prefix."""
    stamp, iso, frac, zone, host, trad, thost, usec, uptime = groups
    event["host"] = host or thost
    if iso:
        event["stamp"] = stamp
        event["ts"] = _epoch(iso, zone, frac)
    elif trad:
        event["stamp"] = trad
    if usec:
        event["uptime"] = int(usec) / 1e6
    elif uptime:
        event["uptime"] = float(uptime)


def _body_fields(groups):
    """The packet's fields, in the event's order, from the body's groups."""
    in_iface, out_iface, physin, physout, mac, src, dst, length, ttl, ip_id, ipflags = groups[:11]
    fields = {
        "family": "ip",
        "in": in_iface,
        "out": out_iface,
        "physin": physin,
        "physout": physout,
        "mac": mac,
        "src": src,
        "dst": dst,
        "len": int(length),
        "ttl": int(ttl),
        "ip_id": int(ip_id),
        "df": " DF" in ipflags,
        "proto": groups[11],
    }
    _add_l4_groups(fields, groups[11:])
    return fields


def _body6_fields(groups):
    """The packet's fields from the groups of an IPv6 body (addresses in short form)."""
    in_iface, out_iface, physin, physout, mac, src, dst, length, hop_limit, flow_label = groups[:10]
    fields = {
        "family": "ip6",
        "in": in_iface,
        "out": out_iface,
        "physin": physin,
        "physout": physout,
        "mac": mac,
        "src": ipv6_text(src),
        "dst": ipv6_text(dst),
        "len": int(length),
        "ttl": None,
        "ip_id": None,
        "df": False,
        "proto": groups[10],
        "hop_limit": int(hop_limit),
        "flow_label": int(flow_label),
    }
    _add_l4_groups(fields, groups[10:])
    return fields


def _add_l4_groups(fields, groups):
    """Add the transport fields from the groups of _L4_PATTERN (proto first, tail last)."""
    _proto, sport, dport, seq, ack, tcpflags, itype, icode, iid, iseq, tail = groups
    if sport is not None:
        fields["sport"] = int(sport)
        fields["dport"] = int(dport)
        if seq is not None:
            fields["tcp_seq"] = int(seq)
            fields["tcp_ack"] = int(ack)
            fields["tcp_flags"] = tcpflags.split()
    elif itype is not None:
        fields["icmp_type"] = int(itype)
        fields["icmp_code"] = int(icode)
        fields["icmp_id"] = int(iid) if iid else None
        fields["icmp_seq"] = int(iseq) if iseq else None
    if "=" in tail:
        for key, value in _TAIL_FIELDS.findall(tail):
            fields[key.lower()] = value


def _epoch(seconds, zone, fraction):
    """Epoch of an ISO stamp split in parts, cached per second (None without a zone)."""
    key = (seconds, zone)
    base = _EPOCH_CACHE.get(key)
    if base is None:
        if len(_EPOCH_CACHE) > 4096:
            _EPOCH_CACHE.clear()
        base = _EPOCH_CACHE[key] = _iso_to_epoch(seconds + (zone or ""))
    if base is None:
        return None
    return base + float(fraction) if fraction else float(base)


def _parse_slow(line, pos):
    """Field by field: lines the one-pass pattern does not cover (ICMP errors, odd kernels)."""
    body = line[pos + len(MARKER) :].rstrip("\r\n")
    if MARKER in body:
        raise ValueError("two TRACE records on one line (interleaved)")
    host, ts, uptime, stamp = parse_prefix(line[:pos])
    header, _space, body = body.partition(" ")
    if header.startswith("eb:"):
        return bridge_event((host, ts, uptime, stamp), header, body)
    match = _HEADER.fullmatch(header)
    if not match:
        raise ValueError("bad TRACE header %r" % header[:60])
    ip_part, has_proto, l4_part = body.partition(" PROTO=")
    ip = key_values(ip_part)
    if not ip.get("SRC") or not ip.get("DST"):
        raise ValueError("TRACE line without SRC/DST (truncated)")
    ipv6 = "HOPLIMIT" in ip
    event = {
        "host": host,
        "ts": ts,
        "uptime": uptime,
        "stamp": stamp,
        "table": match.group("table"),
        "chain": match.group("chain"),
        "type": match.group("type"),
        "rule": int(match.group("num")),
        "in": ip.get("IN", ""),
        "out": ip.get("OUT", ""),
        "physin": ip.get("PHYSIN"),
        "physout": ip.get("PHYSOUT"),
        "mac": ip.get("MAC"),
        "src": ipv6_text(ip["SRC"]) if ipv6 else ip["SRC"],
        "dst": ipv6_text(ip["DST"]) if ipv6 else ip["DST"],
        "len": number(ip.get("LEN"), "LEN"),
        "ttl": number(ip.get("TTL"), "TTL"),
        "ip_id": number(ip.get("ID"), "ID"),
        "df": " DF " in ip_part + " ",
        "proto": None,
        "family": "ip6" if ipv6 else "ip",
    }
    if ipv6:
        event["hop_limit"] = number(ip["HOPLIMIT"], "HOPLIMIT")
        event["flow_label"] = number(ip.get("FLOWLBL"), "FLOWLBL")
    if has_proto:
        _add_l4(event, l4_part)
    check_fields(event)
    return event


def _add_l4(event, text):
    """Add protocol fields (after PROTO=) to event; stop at an ICMP error's inner packet."""
    proto, _space, rest = text.partition(" ")
    rest = rest.partition("[")[0]
    fields = key_values(rest)
    event["proto"] = proto
    if proto in ("TCP", "UDP", "SCTP", "UDPLITE"):
        event["sport"] = number(fields.get("SPT"), "SPT")
        event["dport"] = number(fields.get("DPT"), "DPT")
        if proto == "TCP":
            event["tcp_seq"] = number(fields.get("SEQ"), "SEQ")
            event["tcp_ack"] = number(fields.get("ACK"), "ACK")
            flags = _TCP_FLAGS.search(rest)
            event["tcp_flags"] = flags.group(1).split() if flags else []
    elif proto in ("ICMP", "ICMPv6"):
        event["icmp_type"] = number(fields.get("TYPE"), "TYPE")
        event["icmp_code"] = number(fields.get("CODE"), "CODE")
        event["icmp_id"] = number(fields.get("ID"), "ID")
        event["icmp_seq"] = number(fields.get("SEQ"), "SEQ")
    for key, name in (("MARK", "mark"), ("UID", "uid"), ("GID", "gid")):
        if key in fields:
            event[name] = fields[key]
