# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The format registry: one parser per format, told apart by their real lines."""

from __future__ import annotations

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import formats
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.flow import FlowFilter
from analysis_support import read_lines

FIRST_TRACE_LINE = {  # format: (fixture, index of its first trace line)
    "legacy": ("legacy-cross_network.kmsg", 1),
    "xtables-monitor": ("nft-cross_network.trace", 0),
    "nft-monitor": ("nftables-cross_network.trace", 0),
}


def test_one_list_of_format_names():
    assert formats.TRACE_FORMATS == ("legacy", "xtables-monitor", "nft-monitor")
    assert sorted(formats.PARSERS) == sorted(formats.TRACE_FORMATS)


@pytest.mark.parametrize("name", sorted(FIRST_TRACE_LINE))
def test_each_format_is_detected_from_its_own_lines_only(name):
    fixture, index = FIRST_TRACE_LINE[name]
    line = read_lines(fixture)[index]
    assert formats.detect_format(line) == name
    assert [other for other, parser in formats.PARSERS.items() if parser.detect(line)] == [name]


def test_lines_of_no_format():
    assert formats.detect_format(read_lines("legacy-cross_network.kmsg")[0]) is None
    assert formats.detect_format("TRACE: raw:PREROUTING:rule:1 IN=eth0") is None
    with pytest.raises(ValueError, match=r"unknown trace format 'iptables' \(auto, legacy, xtables-monitor"):
        formats.check_format("iptables")


def read_events(name, flow):
    """Events of a format's fixture through the parser interface, keeping the lines the flow wants."""
    fixture, _index = FIRST_TRACE_LINE[name]
    orphans = []
    parser = formats.PARSERS[name](lambda number, text: orphans.append(number))
    wants = parser.wants_for(FlowFilter(flow)) if flow else None
    events = []
    for number, line in enumerate(read_lines(fixture), 1):
        if wants is not None and not wants(line):
            continue
        try:
            events.extend(parser.feed(line, number))
        except ValueError:
            assert "pfa-fixture" in line
    parser.finish()
    assert orphans == []
    return events


@pytest.mark.parametrize("name", sorted(FIRST_TRACE_LINE))
def test_every_parser_reads_its_fixture_through_the_same_interface(name):
    events = read_events(name, None)
    assert len(events) >= 9 and all(event["line"] and event["src"] == "172.30.1.2" for event in events)
    assert read_events(name, {"dst": "172.30.2.2"}) == events
    assert read_events(name, {"dst": "203.0.113.9"}) == []


def test_detect_stream_gives_every_line_back_decoded():
    lines = [line.encode() for line in read_lines("nft-cross_network.trace")]
    found, numbered = formats.detect_stream(enumerate(lines, 1))
    assert found == "xtables-monitor"
    assert list(numbered) == [(number, line.decode()) for number, line in enumerate(lines, 1)]
    found, numbered = formats.detect_stream(enumerate(["hello\n"] * 3, 1))
    assert (found, len(list(numbered))) == ("legacy", 3)
