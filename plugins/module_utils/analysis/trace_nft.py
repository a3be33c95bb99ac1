# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parse ``nft monitor trace`` output (nftables, and iptables-nft's tables as nft text).

The packet is printed once per hook (a packet line) and each rule, policy or
verdict on a line of its own, tied together by a trace id. The id is not a
packet identity (measured: it changes mid-path and is reused), so every event
carries the packet headers of its packet line.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.fields import (
    NotTraceLine,
    check_fields,
    number,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import (
    ICMP_TYPES,
    ICMPV6_ECHO,
    ICMPV6_TYPES,
    TCP_FLAGS,
)

# nft prints "ip6 length" as the payload length; the packet is 40 bytes of IPv6 header longer.
_IPV6_HEADER = 40

_NFT_LINE = re.compile(
    r"trace id (?P<id>[0-9a-f]+) (?P<family>\S+) (?P<table>\S+) (?P<chain>\S+) "
    r"(?P<kind>packet:|rule|verdict|policy|unknown rule handle)(?P<rest>.*)$"
)
_NFT_VERDICT = re.compile(r"\(verdict (?P<verdict>[^)]*)\)\s*$")
_NFT_HANDLE = re.compile(r"# handle (\d+)")
_NFT_IFACE_KEYS = {"iif": "iif", "iifname": "iif", "oif": "oif", "oifname": "oif"}
# The header names a packet line's "<header> <field> [==] <value>" triples start with; other words
# (an elided "..", a field this parser does not know) are skipped one by one.
_NFT_HEADERS = frozenset(("ether", "vlan", "arp", "ip", "ip6", "tcp", "udp", "sctp", "icmp", "icmpv6", "th", "meta"))
PACKETS_KEPT = 4096
# nft's names of IPv6 next headers, as the other formats name the protocol.
_PROTOCOL_NAMES = {"ipv6-icmp": "ICMPv6"}


class NftMonitorParser:
    """Stateful parser of ``nft monitor trace``: each rule, policy or verdict line gets the
    headers of the packet line with the same trace id, which nft prints first."""

    def __init__(self, on_orphan=None):
        """A rule line without its packet line cannot be read (ValueError): nothing waits,
        so no line is ever orphaned and on_orphan is not needed."""
        del on_orphan
        self.packets = OrderedDict()

    @staticmethod
    def detect(line):
        """True when the line is nft monitor trace output."""
        stripped = line.lstrip()
        return stripped.startswith("trace id ") and _NFT_LINE.match(stripped) is not None

    def feed(self, line, number=None):
        """Parse one line; return the events it finishes (none for a packet line).

        Raises ValueError for a line that is not nft trace output, or a rule line
        whose packet line was not seen.
        """
        try:
            event = parse_nft_line(line)
        except NotTraceLine:
            raise
        except ValueError:
            self.packets.pop(line.split()[2], None)  # its rule lines must not take older headers
            raise
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

    def wants_for(self, flow_filter):
        """The line pre-filter of a flow: a function of one line, False when it can be skipped."""
        self._line_may_match = flow_filter.line_may_match
        return self._wants

    def _wants(self, line):
        """Packet lines by the flow's headers; the others by their packet's trace id."""
        words = line.lstrip().split(" ", 3)
        if len(words) < 3:
            return True
        if " packet: " in line:
            if self._line_may_match(line):
                return True
            self._remember(words[2], None)
            return False
        return self.packets.get(words[2], True) is not None

    def _remember(self, trace_id, packet):
        """The packet line of a trace id (None: of a flow that is not wanted); bounded."""
        self.packets[trace_id] = packet
        self.packets.move_to_end(trace_id)
        if len(self.packets) > PACKETS_KEPT:
            self.packets.popitem(last=False)


def int_or_none(value):
    """Decimal text to int; None when missing or unreadable."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_nft_line(line):
    """Parse one ``nft monitor trace`` line into an event (packet lines: kind "packet").

    Raises ValueError for a line that is not nft trace output.
    """
    match = _NFT_LINE.match(line.strip())
    if not match:
        raise NotTraceLine("not an nft monitor trace line")
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
        text = rest[: verdict.start()] if verdict else rest
        event.update(
            type="rule",
            verdict=_nft_verdict(verdict.group("verdict")) if verdict else None,
            rule_text=_NFT_HANDLE.sub("", text).strip() or None,
        )
        if kind == "unknown rule handle" and event["handle"] is None:
            event["handle"] = int_or_none(rest.split()[0]) if rest else None
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
    fields = _nft_words(text.split())
    packet = {
        "in": fields.get("iif", ""),
        "out": fields.get("oif", ""),
        "src": fields.get("ip saddr"),
        "dst": fields.get("ip daddr"),
        "len": number(fields.get("ip length"), "ip length"),
        "ttl": number(fields.get("ip ttl"), "ip ttl"),
        "ip_id": number(fields.get("ip id"), "ip id"),
        "proto": None,
    }
    if "ip6 saddr" in fields:
        length = number(fields.get("ip6 length"), "ip6 length")
        packet.update(
            src=fields["ip6 saddr"],
            dst=fields.get("ip6 daddr"),
            len=None if length is None else length + _IPV6_HEADER,
            hop_limit=number(fields.get("ip6 hoplimit"), "ip6 hoplimit"),
            flow_label=number(fields.get("ip6 flowlabel"), "ip6 flowlabel"),
        )
    if packet["src"] is None or packet["dst"] is None:
        raise ValueError("packet line without addresses (truncated)")
    for proto in ("tcp", "udp"):
        if proto + " sport" in fields or proto + " dport" in fields or proto + " flags" in fields:
            packet.update(
                proto=proto.upper(),
                sport=number(fields.get(proto + " sport"), proto + " sport"),
                dport=number(fields.get(proto + " dport"), proto + " dport"),
            )
    if "tcp flags" in fields:
        packet["tcp_flags"] = _nft_tcp_flags(fields["tcp flags"])
    for proto, names, name in (("icmp", ICMP_TYPES, "ICMP"), ("icmpv6", ICMPV6_TYPES, "ICMPv6")):
        if proto + " type" in fields:
            icmp_type = fields[proto + " type"]
            packet.update(
                proto=name,
                icmp_type=names.get(icmp_type) if icmp_type in names else number(icmp_type, proto + " type"),
                icmp_id=number(fields.get(proto + " id"), proto + " id"),
                icmp_seq=number(fields.get(proto + " sequence"), proto + " sequence"),
            )
    if packet.get("icmp_type") in ICMPV6_ECHO and packet["proto"] == "ICMPv6" and packet["icmp_id"] is None:
        _add_echo_word(packet, fields.get("icmpv6 parameter-problem"))
    if packet["proto"] is None:
        protocol = fields.get("ip protocol") or fields.get("ip6 nexthdr")
        packet["proto"] = _PROTOCOL_NAMES.get(protocol, protocol.upper()) if protocol else None
    check_fields(packet)
    return packet


def _add_echo_word(packet, word):
    """nft 1.0.6 prints an ICMPv6 echo's id and sequence as one 32-bit "icmpv6 parameter-problem"
    (measured: 492109824 for id 7509 seq 0): split it."""
    value = number(word, "icmpv6 parameter-problem")
    if value is not None:
        packet["icmp_id"], packet["icmp_seq"] = value >> 16, value & 0xFFFF


def _nft_words(words):
    """{"ip saddr": "192.0.2.1", "iif": "eth0", ...} from the words of a packet line."""
    fields = {}
    i = 0
    count = len(words)
    while i < count:
        word = words[i]
        if word in _NFT_IFACE_KEYS and i + 1 < count:
            fields[_NFT_IFACE_KEYS[word]] = words[i + 1].strip('"')
            i += 2
        elif word in _NFT_HEADERS and i + 2 < count:
            value = i + 3 if words[i + 2] == "==" else i + 2
            if value < count:
                fields[word + " " + words[i + 1]] = words[value]
            i = value + 1
        else:
            i += 1
    return fields


def _nft_tcp_flags(text):
    """'syn' / 'syn,ack' / '0x12' to ['SYN', 'ACK']."""
    if text.startswith("0x"):
        bits = int(text, 16)
        return [name for bit, name in enumerate(TCP_FLAGS) if bits & (1 << bit)]
    return [flag.upper() for flag in re.split(r"[,|]", text) if flag]
