# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read IPv4 and IPv6 packets from pcap and pcapng files as tcpdump writes them.

Pure Python (struct) so it runs on any target without extra packages. Link
types: Ethernet, raw IP, Linux cooked v1 (SLL, ``-i any``: direction) and v2
(SLL2, ``-y LINUX_SLL2``: direction and interface index).
"""

from __future__ import annotations

import socket
import struct

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import (
    ICMPV6_ECHO,
    IP_PROTOCOLS,
    IPV6_EXTENSIONS,
    TCP_FLAGS,
)

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_LINUX_SLL2 = 276
# Linux packet types (sll_pkttype): 4 is PACKET_OUTGOING, the others arrive.
_OUTGOING = 4
_PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"


class PcapError(Exception):
    """A capture file that cannot be read."""


def read_capture(path, iface=None):
    """Yield one dict per IPv4 or IPv6 packet of a pcap or pcapng file, in file order.

    iface names the capture interface for link types that do not carry it.
    Raises PcapError for a missing, unreadable, or malformed file.
    """
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise PcapError("cannot open capture %s: %s" % (path, exc.strerror or exc)) from None
    with handle:
        magic = handle.read(4)
        if magic in _PCAP_MAGIC:
            records = _pcap_records(handle, magic)
        elif magic == _PCAPNG_SHB:
            records = _pcapng_records(handle)
        elif not magic:
            raise PcapError("capture %s is empty" % path)
        else:
            raise PcapError("%s is not a pcap or pcapng file" % path)
        for index, (ts, linktype, data, meta) in enumerate(records, 1):
            packet = decode_frame(linktype, data)
            if packet is None:
                continue
            packet["ts"] = ts
            packet["index"] = index
            packet["iface"] = meta.get("iface") or iface
            if packet.get("direction") is None:
                packet["direction"] = meta.get("direction")
            yield packet


def _read_exact(handle, size, what):
    data = handle.read(size)
    if len(data) != size:
        raise PcapError("truncated capture: %s cut short" % what)
    return data


def _pcap_records(handle, magic):
    endian, resolution = _PCAP_MAGIC[magic]
    header = _read_exact(handle, 20, "file header")
    linktype = struct.unpack(endian + "HHiIII", header)[5] & 0x0FFFFFFF
    record = struct.Struct(endian + "IIII")
    while True:
        head = handle.read(16)
        if not head:
            return
        if len(head) < 16:
            raise PcapError("truncated capture: record header cut short")
        seconds, fraction, caplen, _original_length = record.unpack(head)
        if caplen > 262144:
            raise PcapError("corrupt capture: record of %d bytes" % caplen)
        data = _read_exact(handle, caplen, "record")
        yield seconds + fraction * resolution, linktype, data, {}


def _pcapng_records(handle):
    """Records of a pcapng file: (ts, linktype, data, {iface, direction})."""
    endian = "<"
    interfaces: list[tuple] = []
    block_type = 0x0A0D0D0A
    first = True
    while True:
        if first:
            first = False
        else:
            raw_type = handle.read(4)
            if not raw_type:
                return
            if len(raw_type) < 4:
                raise PcapError("truncated capture: block header cut short")
            block_type = struct.unpack(endian + "I", raw_type)[0]
        raw_len = _read_exact(handle, 4, "block length")
        if block_type == 0x0A0D0D0A:
            order = _read_exact(handle, 4, "byte-order magic")
            endian = "<" if order == b"\x4d\x3c\x2b\x1a" else ">"
            interfaces = []
            length = struct.unpack(endian + "I", raw_len)[0]
            if length < 16 or length % 4:
                raise PcapError("corrupt capture: bad section header")
            _read_exact(handle, length - 12, "section header")
            continue
        length = struct.unpack(endian + "I", raw_len)[0]
        if length < 12 or length % 4 or length > 262144 + 64:
            raise PcapError("corrupt capture: bad block length %d" % length)
        body = _read_exact(handle, length - 12, "block")
        _read_exact(handle, 4, "block trailer")
        if block_type == 1:
            interfaces.append(_pcapng_interface(body, endian))
        elif block_type == 6:
            if_id, high, low, caplen = struct.unpack(endian + "IIII", body[:16])
            if if_id >= len(interfaces):
                raise PcapError("corrupt capture: packet for undeclared interface %d" % if_id)
            linktype, resolution, name = interfaces[if_id]
            options = _pcapng_options(body[20 + ((caplen + 3) & ~3) :], endian)
            meta = {"iface": name}
            if 2 in options and len(options[2]) >= 4:
                bound = struct.unpack(endian + "I", options[2][:4])[0] & 3
                meta["direction"] = {1: "in", 2: "out"}.get(bound)
            yield ((high << 32) + low) * resolution, linktype, body[20 : 20 + caplen], meta
        elif block_type == 3 and interfaces:
            linktype, _resolution, name = interfaces[0]
            yield None, linktype, body[4:], {"iface": name}


def _pcapng_interface(body, endian):
    """(linktype, seconds per tick, name) of an Interface Description Block."""
    linktype = struct.unpack(endian + "H", body[:2])[0]
    options = _pcapng_options(body[8:], endian)
    resolution = 1e-6
    if 9 in options and options[9]:
        value = options[9][0]
        resolution = 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0**-value
    name = options[2].decode("utf-8", "replace") if 2 in options else None
    return linktype, resolution, name


def _pcapng_options(data, endian):
    options = {}
    pos = 0
    while pos + 4 <= len(data):
        code, size = struct.unpack(endian + "HH", data[pos : pos + 4])
        if code == 0:
            break
        options[code] = data[pos + 4 : pos + 4 + size]
        pos += 4 + ((size + 3) & ~3)
    return options


def decode_frame(linktype, data):
    """Headers of one frame as a dict, or None when it is neither IPv4 nor IPv6."""
    meta = {}
    if linktype == LINKTYPE_ETHERNET and len(data) >= 14:
        ethertype, offset = struct.unpack("!H", data[12:14])[0], 14
        while ethertype in (0x8100, 0x88A8) and len(data) >= offset + 4:
            ethertype = struct.unpack("!H", data[offset + 2 : offset + 4])[0]
            offset += 4
    elif linktype == LINKTYPE_LINUX_SLL and len(data) >= 16:
        pkttype, ethertype = struct.unpack("!H", data[:2])[0], struct.unpack("!H", data[14:16])[0]
        offset = 16
        meta["direction"] = "out" if pkttype == _OUTGOING else "in"
    elif linktype == LINKTYPE_LINUX_SLL2 and len(data) >= 20:
        ethertype, _reserved, ifindex = struct.unpack("!HHI", data[:8])
        pkttype = data[10]
        offset = 20
        meta["direction"] = "out" if pkttype == _OUTGOING else "in"
        meta["ifindex"] = ifindex
    elif linktype in (LINKTYPE_RAW, LINKTYPE_IPV4):
        ethertype, offset = (0x86DD if data[:1] and data[0] >> 4 == 6 else 0x0800), 0
    else:
        return None
    if ethertype == 0x0800:
        packet = decode_ipv4(data[offset:])
    elif ethertype == 0x86DD:
        packet = decode_ipv6(data[offset:])
    else:
        return None
    if packet is not None:
        packet.update(meta)
    return packet


def decode_ipv4(data):
    """IPv4 and transport headers as a dict, or None when too short or not IPv4."""
    if len(data) < 20 or data[0] >> 4 != 4:
        return None
    ihl = (data[0] & 0x0F) * 4
    total, ip_id, frag, _ttl, proto = struct.unpack("!HHHBB", data[2:10])
    packet = {
        "src": socket.inet_ntoa(data[12:16]),
        "dst": socket.inet_ntoa(data[16:20]),
        "len": total,
        "ip_id": ip_id,
        "ttl": data[8],
        "proto": IP_PROTOCOLS.get(proto, str(proto)),
    }
    if not frag & 0x1FFF:
        _add_transport(packet, proto, data[ihl:])
    return packet


def decode_ipv6(data):
    """IPv6 and transport headers as a dict (extension headers skipped), or None when too short
    or not IPv6. len is the whole packet's, as nf_log gives it: payload length and header."""
    if len(data) < 40 or data[0] >> 4 != 6:
        return None
    first, payload, proto, hop_limit = struct.unpack("!IHBB", data[:8])
    packet = {
        "src": socket.inet_ntop(socket.AF_INET6, data[8:24]),
        "dst": socket.inet_ntop(socket.AF_INET6, data[24:40]),
        "len": payload + 40,
        "ip_id": None,
        "hop_limit": hop_limit,
        "flow_label": first & 0xFFFFF,
    }
    offset = 40
    while proto in IPV6_EXTENSIONS and len(data) >= offset + 8:
        proto, size = data[offset], (data[offset + 1] + 1) * 8
        offset += size
    packet["proto"] = IP_PROTOCOLS.get(proto, str(proto))
    _add_transport(packet, proto, data[offset:])
    return packet


def _add_transport(packet, proto, l4):
    """Add the TCP, UDP, ICMP or ICMPv6 header's fields (those that fit in l4) to packet."""
    if proto == 6 and len(l4) >= 14:
        sport, dport, seq, ack = struct.unpack("!HHII", l4[:12])
        packet.update(
            sport=sport,
            dport=dport,
            tcp_seq=seq,
            tcp_ack=ack,
            tcp_flags=[name for bit, name in enumerate(TCP_FLAGS) if l4[13] & (1 << bit)],
        )
    elif proto == 17 and len(l4) >= 4:
        packet["sport"], packet["dport"] = struct.unpack("!HH", l4[:4])
    elif proto in (1, 58) and len(l4) >= 4:
        packet.update(icmp_type=l4[0], icmp_code=l4[1])
        if l4[0] in ((0, 8, 13, 14) if proto == 1 else ICMPV6_ECHO) and len(l4) >= 8:
            packet["icmp_id"], packet["icmp_seq"] = struct.unpack("!HH", l4[4:8])
