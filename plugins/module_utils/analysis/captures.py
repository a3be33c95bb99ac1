# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Match captured packets (pcap, pcapng) to traced ones, and place captures among the hops."""

from __future__ import annotations

import os
from collections import OrderedDict

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.narrate import summarize
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.pcap import read_capture
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.resolve import FLOW_FIELDS, flow_of
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import ICMP_REPLIES

CAPTURE_KEYS = (
    "ts",
    "iface",
    "ifindex",
    "direction",
    "src",
    "dst",
    "sport",
    "dport",
    "proto",
    "ip_id",
    "flow_label",
    "hop_limit",
    "pcap",
    "index",
)


def journey_of(packet):
    """Hops and captures interleaved: an inbound capture on X before the first hop
    entering by X, an outbound one after the last hop leaving by X."""
    hops = packet["hops"]
    entries: list[tuple[float, int, dict]] = [(index, 0, dict(kind="hook", **hop)) for index, hop in enumerate(hops)]
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
    index: dict[tuple, list] = {}
    for packet in packets:
        for key in _capture_keys(packet["flow"]):
            index.setdefault(key, []).append(packet)
    untraced = OrderedDict()
    first_records: dict[int, dict] = {}
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
            key = (
                record.get("proto"),
                _identity(record),
                record.get("tcp_seq"),
                record.get("icmp_seq"),
                record["src"],
                record["dst"],
            )
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
    if packet["direction"] == "request" and packet["flow"].get("icmp_type") in ICMP_REPLIES:
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
            name = name[: -len(suffix)]
    iface = name.rsplit(".", 1)[-1]
    return "any" if iface.startswith("any") else iface


def _identity(headers):
    """What tells a packet from the others of its flow: the IP id, or an IPv6 packet's flow label."""
    ip_id = headers.get("ip_id")
    return headers.get("flow_label") if ip_id is None else ip_id


def _capture_keys(flow):
    return [(flow.get("proto"), _identity(flow))]


def _matching_packet(index, record):
    """The traced packet this capture is (same IP id or flow label and protocol, compatible headers).
    An IPv6 packet, told by its flow label alone (0 on all of neighbour discovery), goes to the first
    packet with both addresses of a hop the same, else to the first with one side the same (NAT)."""
    identity = _identity(record)
    candidates = index.get((record.get("proto"), identity), [])
    if not candidates:
        candidates = index.get((None, identity), [])
    by_label = record.get("ip_id") is None and identity is not None
    one_side = None
    for packet in candidates:
        flow = packet["flow"]
        if flow.get("tcp_seq") not in (None, record.get("tcp_seq")):
            continue
        if flow.get("icmp_seq") is not None and flow.get("icmp_seq") != record.get("icmp_seq"):
            continue
        if flow.get("icmp_type") not in (None, record.get("icmp_type")):
            continue
        hops = packet["hops"]
        if not any(_same_packet_headers(hop, record) for hop in hops):
            continue
        if not by_label:
            return packet
        if _same_size_and_flags(hops, record):
            if any((hop["src"], hop["dst"]) == (record["src"], record["dst"]) for hop in hops):
                return packet
            one_side = one_side or packet
    return one_side


def _same_size_and_flags(hops, record):
    """An IPv6 flow label is the same on every packet of a connection: a hop of the same length
    and TCP flags tells which packet it is (a bare ACK from the data that follows at its sequence)."""
    flags = set(record.get("tcp_flags") or ())
    return any(
        hop.get("len") in (None, record.get("len")) and (hop.get("tcp_flags") is None or set(hop["tcp_flags"]) == flags)
        for hop in hops
    )


def _same_packet_headers(hop, event):
    """One NAT step changes one side only: the other side must stay the same."""
    return (hop.get("src"), hop.get("sport")) == (event.get("src"), event.get("sport")) or (
        hop.get("dst"),
        hop.get("dport"),
    ) == (event.get("dst"), event.get("dport"))


def _capture_entry(record):
    return {
        key: record.get(key) for key in CAPTURE_KEYS if record.get(key) is not None or key in ("iface", "direction")
    }


def _untraced_packet(record, order):
    return {
        "_order": order,
        "summary": summarize(record),
        "direction": "reply" if record.get("icmp_type") in ICMP_REPLIES else "request",
        "flow": flow_of(record),
        "hops": [],
        "captures": [],
        "nat": [],
        "fate": "unknown",
        "fate_at": None,
        "flags": ["captured_not_traced"],
    }
