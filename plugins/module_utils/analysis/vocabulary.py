# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Facts of netfilter and of the headers it sees, named once for the parsers, the narration and the report."""

from __future__ import annotations

# The five netfilter hooks, PREROUTING first; iptables names its base chains after them.
HOOKS = ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")
# nft names hooks in lower case: "prerouting" -> "PREROUTING".
HOOK_NAMES = {hook.lower(): hook for hook in HOOKS}
# iptables' tables, in the order they run at a hook.
TABLES = ("raw", "mangle", "nat", "filter", "security")
# The iptables tables that hook into each hook (security left out: it follows filter where it exists).
HOOK_TABLES = {
    "PREROUTING": ("raw", "mangle", "nat"),
    "INPUT": ("mangle", "nat", "filter"),
    "FORWARD": ("mangle", "filter"),
    "OUTPUT": ("raw", "mangle", "nat", "filter"),
    "POSTROUTING": ("mangle", "nat"),
}
# Targets that rewrite addresses (and end the traversal of the nat table for this packet).
NAT_TARGETS = ("DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP")
# TCP flags by bit, from bit 0 (FIN) up.
TCP_FLAGS = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR")
# ICMP types by the names nft prints.
ICMP_TYPES = {
    "echo-reply": 0,
    "destination-unreachable": 3,
    "source-quench": 4,
    "redirect": 5,
    "echo-request": 8,
    "router-advertisement": 9,
    "router-solicitation": 10,
    "time-exceeded": 11,
    "parameter-problem": 12,
    "timestamp-request": 13,
    "timestamp-reply": 14,
}
ICMP_NAMES = {number: name for name, number in ICMP_TYPES.items()}
# ICMPv6 types by the names nft prints (the echo and neighbour discovery ones, and the errors).
ICMPV6_TYPES = {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "echo-reply": 129,
    "nd-router-solicit": 133,
    "nd-router-advert": 134,
    "nd-neighbor-solicit": 135,
    "nd-neighbor-advert": 136,
}
# ICMP types that answer (echo, timestamp) and those that ask.
ICMP_REPLIES = (0, 14)
ICMP_REQUESTS = (8, 13)
# IP protocol numbers of the headers the analysis reads.
IP_PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP"}
