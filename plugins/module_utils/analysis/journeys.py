# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn trace output (and captures) into one journey per packet: the analysis core's entry points.

Lines are parsed by the parser of their format (formats), grouped into packets
(grouping), finished with rules, NAT and fate (resolve), then matched to the
captured packets (captures). See docs/result-contract.md.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.captures import attach_captures, journey_of
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.grouping import JourneyBuilder
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.infer import infer_from_replies
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.resolve import decide_fate


def build_journeys(trace_lines, trace_format="auto", ruleset=None, pcaps=None, flow=None):
    """trace_lines: iterable of str (a file object is fine: stream it).
    trace_format: "auto" | "legacy" | "xtables-monitor" | "nft-monitor".
    ruleset: None or {"format": "iptables-save" | "nft-json", "text": str}.
    pcaps: None or {iface_name: path} or list of paths (pcap/pcapng, incl. SLL/SLL2).
    flow: None or {"src", "dst", "proto", "sport", "dport"} (any subset), either direction.
    Returns {"format", "packets", "unparsed", "counts", "warnings"} (docs/result-contract.md).
    Raises ValueError for bad arguments and pcap.PcapError for unreadable captures.
    """
    return collect_journeys(trace_lines, trace_format, ruleset, pcaps, flow)


def collect_journeys(trace_lines, trace_format="auto", ruleset=None, pcaps=None, flow=None, max_packets=None):
    """build_journeys, keeping at most max_packets traced packets (all are counted)."""
    with collector_paused():
        result = collect_packets(trace_lines, trace_format, ruleset, pcaps, flow, max_packets)
        for packet in result["packets"]:
            packet["journey"] = journey_of(packet)
        return result


@contextmanager
def collector_paused():
    """Pause the cyclic garbage collector: the analysis makes no reference cycles, so the
    collector would only walk its millions of young dicts again and again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def collect_packets(trace_lines, trace_format, ruleset, pcaps, flow, max_packets, keep=None):
    """The result without its journeys (added by the caller); keep(packet) gives what is held
    of each packet kept (the packet itself when None)."""
    builder = JourneyBuilder(trace_format, ruleset, flow)
    packets: list[dict] = []
    total = 0
    for packet in builder.run(trace_lines):
        total += 1
        if max_packets is None or len(packets) < max_packets:
            packets.append(packet if keep is None else keep(packet))
    packets.sort(key=lambda packet: packet["_order"])
    infer_from_replies(packets, lambda hops: decide_fate(hops, builder.ruleset))
    captures = 0
    if pcaps:
        before = len(packets)
        captures = attach_captures(packets, pcaps, builder.flow_filter)
        total += len(packets) - before
        packets.sort(key=lambda packet: packet["_order"])
    for number, packet in enumerate(packets, 1):
        packet["id"] = number
        packet.pop("_order")
    builder.counts.update(packets=total, captures=captures)
    builder.unparsed.sort(key=lambda item: item["line"])
    return {
        "format": builder.format,
        "packets": packets,
        "unparsed": builder.unparsed,
        "counts": builder.counts,
        "warnings": builder.warnings(),
    }
