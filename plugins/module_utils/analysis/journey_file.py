# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""collect_journeys written to a file in bounded memory: each packet kept holds its hops
compressed until it is written, and the caller gets only each packet's outcome.

The file holds exactly what collect_journeys returns, as JSON (docs/result-contract.md,
"Journeys written to a file"); 10,000 packets then take a few MB here, not hundreds.
"""

from __future__ import annotations

import json
import zlib

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.captures import journey_of
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import (
    collect_packets,
    collector_paused,
)

# What a packet's outcome holds: what users read in a task result.
OUTCOME_KEYS = ("id", "summary", "direction", "host", "fate", "fate_at", "fate_reason", "inferred", "flags")
_SPOOLED = object()


class HopSpool:
    """Keeps each packet's hops as compressed JSON, reading back one packet's at a time: the analysis
    after grouping (inference from replies, captures, writing) goes through the packets one by one."""

    def __init__(self):
        self.reading = None

    def __call__(self, packet):
        return SpooledPacket(packet, self)

    def read(self, packet):
        """The hops of packet, read back in its place; the packet read before is packed again."""
        if self.reading is not None and self.reading is not packet:
            self.reading.pack()
        self.reading = packet
        return json.loads(zlib.decompress(packet.packed))


class SpooledPacket(dict):
    """A finished packet whose hops wait packed until read (packet["hops"] reads them back in place)."""

    __slots__ = ("packed", "spool")

    def __init__(self, packet, spool):
        super().__init__(packet)
        self.spool = spool
        self.pack()

    def pack(self):
        """Compress the hops again (they may have changed while read)."""
        self.packed = zlib.compress(json.dumps(dict.__getitem__(self, "hops")).encode(), 1)
        dict.__setitem__(self, "hops", _SPOOLED)

    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        if value is _SPOOLED:
            value = self.spool.read(self)
            dict.__setitem__(self, key, value)
        return value

    def unpacked(self):
        """The packet as a plain dict with its hops, for its last use (it is not packed again)."""
        hops = self["hops"]
        self.spool.reading = None
        return dict(self, hops=hops)


def write_journeys(out, trace_lines, trace_format="auto", ruleset=None, pcaps=None, flow=None, max_packets=None):
    """collect_journeys' result written as JSON to the text file out; returns that result with
    each packet reduced to its outcome (OUTCOME_KEYS)."""
    with collector_paused():
        result = collect_packets(trace_lines, trace_format, ruleset, pcaps, flow, max_packets, HopSpool())
        outcomes = _write(out, result)
    result["packets"] = outcomes
    return result


def _write(out, result):
    """Write the result, each packet with its journey and then let go; the packets' outcomes."""
    packets = result["packets"]
    outcomes = []
    out.write('{"format": %s, "packets": [' % json.dumps(result["format"]))
    for index, packet in enumerate(packets):
        if isinstance(packet, SpooledPacket):
            packet = packet.unpacked()
        packet["journey"] = journey_of(packet)
        out.write(", " if index else "")
        out.write(json.dumps(packet))
        outcomes.append(dict((key, packet[key]) for key in OUTCOME_KEYS if key in packet))
        packets[index] = None
    out.write(
        '], "unparsed": %s, "counts": %s, "warnings": %s}'
        % (json.dumps(result["unparsed"]), json.dumps(result["counts"]), json.dumps(result["warnings"]))
    )
    return outcomes
