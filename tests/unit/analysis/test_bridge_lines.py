# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ebtables log lines (TRACE: eb:<table>:<chain>) among iptables TRACE lines, recorded on this machine."""

from __future__ import annotations

from analysis_support import read_lines

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys


def test_ebtables_lines_are_bridge_hops_beside_the_iptables_ones():
    result = build_journeys(read_lines("ebtables-bridge.kmsg.txt"))
    assert result["format"] == "legacy" and result["counts"]["unparsed"] == 0 and result["warnings"] == []
    bridged = [packet for packet in result["packets"] if packet["hops"][0].get("family") == "bridge"]
    assert [[(hop["table"], hop["chain"]) for hop in packet["hops"]] for packet in bridged] == [
        [("nat", "PREROUTING"), ("filter", "FORWARD")],
        [("nat", "PREROUTING"), ("filter", "FORWARD")],
        [("nat", "PREROUTING"), ("filter", "INPUT")],
    ]
    first = bridged[0]["hops"][1]
    assert (first["src"], first["dst"], first["proto"], first["in"], first["out"]) == (
        "198.51.100.11",
        "198.51.100.12",
        "ICMP",
        "pfeb-a-p",
        "pfeb-b-p",
    )
    assert len(result["packets"]) > len(bridged)  # the iptables TRACE lines of the same log
