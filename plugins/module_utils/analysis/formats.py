# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The trace formats: one parser class per format (TraceParser), and how a format is told
from its lines."""

from __future__ import annotations

from itertools import chain
from typing import Callable, Iterator, Protocol

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.flow import FlowFilter
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.trace_legacy import LegacyParser
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.trace_nft import NftMonitorParser
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.trace_xtables import XtablesParser


class TraceParser(Protocol):
    """What every parser of a trace format offers (each keeps its own pairing of lines)."""

    def __init__(self, on_orphan: Callable[[int, str], None] | None = None) -> None:
        """on_orphan(line number, text) hears of lines held back for a later line that never came."""

    @staticmethod
    def detect(line: str) -> bool:
        """True when the line is of this format."""

    def feed(self, line: str, number: int | None = None) -> list[dict]:
        """The events that this line finishes; ValueError for a line that cannot be read."""

    def finish(self) -> None:
        """At the end of the lines: report what still waits."""

    def wants_for(self, flow_filter: FlowFilter) -> Callable[[str], bool]:
        """A cheap test of one line: False when the line cannot concern the flow."""


PARSERS: dict[str, type[TraceParser]] = {
    "legacy": LegacyParser,
    "xtables-monitor": XtablesParser,
    "nft-monitor": NftMonitorParser,
}
# The names a caller may give as trace_format (besides "auto").
TRACE_FORMATS = tuple(PARSERS)
# Tried in this order: the kernel log's test (a full parse) last, as it costs the most.
_DETECTION_ORDER = ("xtables-monitor", "nft-monitor", "legacy")
DETECT_LINES = 1000


def detect_format(line):
    """Format of one line: legacy, xtables-monitor, nft-monitor, or None."""
    for name in _DETECTION_ORDER:
        if PARSERS[name].detect(line):
            return name
    return None


def check_format(trace_format):
    """Raise ValueError unless trace_format is "auto" or one of TRACE_FORMATS."""
    if trace_format not in ("auto",) + TRACE_FORMATS:
        raise ValueError("unknown trace format %r (auto, %s)" % (trace_format, ", ".join(TRACE_FORMATS)))


def detect_stream(numbered, trace_format=None):
    """(format, numbered lines): the format given, or detected from the first lines
    (legacy when none tells); all lines again, decoded when they come as bytes."""
    buffered = []
    for number, line in numbered:
        buffered.append((number, line))
        if trace_format is not None:
            break
        trace_format = detect_format(_text(line))
        if trace_format or len(buffered) >= DETECT_LINES:
            break
    lines: Iterator[tuple[int, str]] = chain(buffered, numbered)
    if buffered and isinstance(buffered[0][1], bytes):
        lines = ((number, _text(line)) for number, line in lines)
    return trace_format or "legacy", lines


def _text(line):
    if isinstance(line, bytes):
        return line.decode("utf-8", "replace")
    return line
