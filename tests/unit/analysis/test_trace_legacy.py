# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""iptables-legacy nf_log TRACE lines in every wrapper, on the real kernel log fixtures."""

from __future__ import annotations

import glob
import os

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import trace_legacy
from analysis_support import FIXTURES, read_lines


def trace_lines(name):
    return [line for line in read_lines(name) if "TRACE: " in line]


def parsed(name):
    return [trace_legacy.parse_line(line) for line in trace_lines(name)]


KEYS = ("table", "chain", "type", "rule", "in", "out", "physin", "src", "dst", "ip_id", "proto",
        "icmp_type", "icmp_id", "icmp_seq")


@pytest.mark.parametrize("wrapper", ["dmesg", "kern.log", "traditional.log", "journal"])
def test_every_wrapper_gives_the_same_events_as_kmsg(wrapper):
    reference = [tuple(event.get(key) for key in KEYS) for event in parsed("legacy-cross_network.kmsg")]
    other = [tuple(event.get(key) for key in KEYS) for event in parsed("legacy-cross_network." + wrapper)]
    assert other == reference
    assert len(reference) == 10


def test_kmsg_record_gives_uptime_from_microseconds():
    line = trace_lines("legacy-cross_network.kmsg")[0]
    event = trace_legacy.parse_line(line)
    usec = int(line.split(",")[2])
    assert event["uptime"] == usec / 1e6
    assert event["ts"] is None and event["host"] is None


def test_rsyslog_rfc3339_line_gives_epoch_host_and_uptime():
    line = trace_lines("legacy-cross_network.kern.log")[0]
    event = trace_legacy.parse_line(line)
    stamp = line.split()[0]
    from datetime import datetime
    assert event["ts"] == pytest.approx(datetime.fromisoformat(stamp).timestamp(), abs=1e-6)
    assert event["host"] == "vm"
    assert event["uptime"] == float(line.split("[")[1].split("]")[0])


def test_traditional_centos7_line_gives_host_and_stamp_without_year():
    event = parsed("legacy-cross_network.traditional.log")[0]
    assert event["host"] == "master"
    assert event["ts"] is None
    assert event["stamp"].startswith("Nov 25 ")


def test_journalctl_short_iso_line_gives_epoch():
    event = parsed("legacy-cross_network.journal")[0]
    reference = parsed("legacy-cross_network.kern.log")[0]
    assert event["ts"] == pytest.approx(int(reference["ts"]), abs=1)


def test_bridged_icmp_fields_of_the_dropped_ping():
    first = parsed("legacy-cross_network.kmsg")[0]
    assert (first["table"], first["chain"], first["type"], first["rule"]) == ("raw", "PREROUTING", "rule", 3)
    assert first["in"].startswith("br-") and first["out"] == ""
    assert first["physin"].startswith("veth")
    assert (first["src"], first["dst"], first["proto"]) == ("172.30.1.2", "172.30.2.2", "ICMP")
    assert (first["icmp_type"], first["icmp_code"], first["icmp_seq"]) == (8, 0, 0)
    assert first["ttl"] == 64 and first["len"] == 84 and first["df"] is True


def test_tcp_fields_of_the_published_port_syn():
    syn = parsed("legacy-published_port.kmsg")[0]
    assert syn["proto"] == "TCP" and syn["dport"] == 18080
    assert syn["tcp_flags"] == ["SYN"] and syn["tcp_ack"] == 0 and syn["tcp_seq"] > 0
    assert syn["uid"] == "0" and syn["gid"] == "0"


LEGACY_NAMES = ("legacy-external_to_published.kern.log", "legacy-published_port.kmsg", "legacy-cross_network.dmesg",
                "legacy-cross_network.traditional.log", "legacy-cross_network.journal", "legacy-busy-window.kmsg")


def test_fast_and_slow_paths_agree_on_every_real_line():
    names = sorted(os.path.basename(path) for path in glob.glob(os.path.join(FIXTURES, "legacy-*")))
    names = [name for name in names if not name.endswith((".pcap", ".iptables-save"))]
    checked = 0
    for name in names:
        for line in trace_lines(name):
            fast = trace_legacy.parse_line(line)
            slow = trace_legacy._parse_slow(line, line.find("TRACE: "))
            for key in set(fast) | set(slow):
                assert fast.get(key) == slow.get(key), (name, key, line)
            checked += 1
    assert checked > 500


def test_parser_reads_a_repeated_body_once_and_gives_parse_lines_events_in_order():
    lines = [line for wrapper in LEGACY_NAMES for line in trace_lines(wrapper)]
    parser = trace_legacy.LegacyParser()
    repeated = 0
    for number, line in enumerate(lines, 1):
        repeated += line[line.find(" ", line.find("TRACE: ") + 7) :] == parser._body
        usual = parser._usual(line)
        expected = trace_legacy.parse_line(line)
        assert usual == expected and list(usual) == list(expected), line
        assert parser.feed(line, number) == [dict(expected, line=number)]
    assert repeated > len(lines) / 2


def test_line_without_trace_is_none():
    assert trace_legacy.parse_line("4,2820,1786692196,-;docker0: port 1(veth1) entered forwarding state") is None


@pytest.mark.parametrize("line, message", [
    ("[  1.0] TRACE: raw:PREROUTING:policy:4 IN=docker0 OUT= SRC=1.2.3.4 DST=1.2.3.5 LEN=84 TRACE: "
     "raw:PREROUTING:policy:4 IN=docker0", "interleaved"),
    ("[  1.0] TRACE: raw:PREROUTING:policy:4 IN=docker0 OUT= MAC=02:42", "truncated"),
    ("[  1.0] TRACE: raw:PREROUTING:pol", "bad TRACE header"),
    ("garbage before TRACE: raw:PREROUTING:policy:4 IN= OUT=lo SRC=1.2.3.4 DST=1.2.3.5 LEN=1", "prefix"),
])
def test_unreadable_trace_lines_raise_value_error(line, message):
    with pytest.raises(ValueError, match=message):
        trace_legacy.parse_line(line)


def test_icmp_error_inner_packet_does_not_override_outer_headers():
    line = ("[ 5.0] TRACE: filter:INPUT:policy:1 IN=eth0 OUT= MAC=00 SRC=192.0.2.1 DST=192.0.2.2 LEN=112 "
            "TOS=0x00 PREC=0xC0 TTL=64 ID=1 PROTO=ICMP TYPE=3 CODE=3 [SRC=192.0.2.2 DST=192.0.2.1 LEN=84 "
            "TOS=0x00 PREC=0x00 TTL=64 ID=2 PROTO=UDP SPT=1 DPT=2 LEN=64 ] MARK=0x1")
    event = trace_legacy.parse_line(line)
    assert (event["src"], event["ip_id"], event["icmp_type"], event["icmp_code"]) == ("192.0.2.1", 1, 3, 3)
    assert event.get("sport") is None
