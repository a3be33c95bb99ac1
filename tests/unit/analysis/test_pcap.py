# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pcap reader on real tcpdump captures (Ethernet, LINUX_SLL2) and their pcapng copies."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.pcap import PcapError, decode_frame, read_capture
from analysis_support import fixture_path


def records(name, iface=None):
    return list(read_capture(fixture_path(name), iface))


def test_ethernet_capture_of_the_published_port_connection():
    packets = records("nft-published_port.docker0.pcap", "docker0")
    syn = packets[0]
    assert (syn["src"], syn["dst"], syn["sport"], syn["dport"]) == ("192.0.2.2", "172.17.0.2", 59882, 80)
    assert syn["tcp_flags"] == ["SYN"] and syn["tcp_seq"] == 3151245899
    assert syn["iface"] == "docker0" and syn["direction"] is None and syn["index"] == 1
    assert syn["ts"] == pytest.approx(1795634565.117081, abs=1e-6)
    assert [packet["index"] for packet in packets] == list(range(1, len(packets) + 1))


def test_sll2_capture_gives_interface_index_and_direction():
    packets = records("nft-cross_network.any-sll2.pcap", "any")
    assert len(packets) == 2
    assert {packet["direction"] for packet in packets} == {"in"}
    assert all(packet["ifindex"] > 0 for packet in packets)
    assert packets[0]["ifindex"] != packets[1]["ifindex"]          # veth, then the bridge
    assert (packets[0]["proto"], packets[0]["icmp_type"], packets[0]["icmp_seq"]) == ("ICMP", 8, 0)


def test_sll2_outgoing_packets_are_marked_out():
    packets = records("nft-host_to_container.any-sll2.pcap", "any")
    request = [packet for packet in packets if packet.get("icmp_type") == 8]
    assert request and all(packet["direction"] == "out" for packet in request)


@pytest.mark.parametrize("name", ["nft-published_port.docker0", "nft-cross_network.any-sll2"])
def test_pcapng_copy_reads_the_same_packets(name):
    plain = records(name + ".pcap")
    copy = records(name + ".pcapng")
    keys = ("src", "dst", "proto", "ip_id", "sport", "dport", "icmp_seq", "ifindex", "direction")
    assert [[packet.get(key) for key in keys] for packet in copy] == \
        [[packet.get(key) for key in keys] for packet in plain]
    assert [packet["ts"] for packet in copy] == pytest.approx([packet["ts"] for packet in plain], abs=1e-6)


def test_linux_sll_v1_frame():
    ip = bytes.fromhex("450000540001400040010000ac1e0102ac1e0202") + bytes([8, 0, 0, 0, 0, 7, 0, 1])
    frame = struct.pack("!HHH8sH", 4, 1, 6, b"\0" * 8, 0x0800) + ip
    packet = decode_frame(113, frame)
    assert packet["direction"] == "out" and packet["icmp_id"] == 7 and packet["dst"] == "172.30.2.2"


def test_errors_are_pcap_errors(tmp_path):
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"hello world, not a capture")
    truncated = tmp_path / "truncated.pcap"
    with open(fixture_path("nft-published_port.docker0.pcap"), "rb") as handle:
        truncated.write_bytes(handle.read()[:100])
    for path, message in ((empty, "empty"), (garbage, "not a pcap"), (truncated, "truncated"),
                          (tmp_path / "missing.pcap", "cannot open")):
        with pytest.raises(PcapError, match=message):
            list(read_capture(str(path)))
