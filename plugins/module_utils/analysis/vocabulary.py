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
# ICMPv6 types by the names nft prints: the errors, echo, multicast listener and neighbour discovery.
ICMPV6_TYPES = {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "echo-reply": 129,
    "mld-listener-query": 130,
    "mld-listener-report": 131,
    "mld-listener-done": 132,
    "nd-router-solicit": 133,
    "nd-router-advert": 134,
    "nd-neighbor-solicit": 135,
    "nd-neighbor-advert": 136,
    "nd-redirect": 137,
    "router-renumbering": 138,
    "ind-neighbor-solicit": 141,
    "ind-neighbor-advert": 142,
    "mld2-listener-report": 143,
}
ICMPV6_NAMES = {number: name for name, number in ICMPV6_TYPES.items()}
# nft also prints mld-listener-reduction for type 132.
ICMPV6_TYPES["mld-listener-reduction"] = 132
# ICMP types that answer (echo, timestamp) and those that ask; ICMPv6 echo and neighbour
# discovery's solicitation and advertisement (the two numberings do not overlap here).
ICMP_REPLIES = (0, 14, 129, 136)
ICMP_REQUESTS = (8, 13, 128, 135)
# ICMPv6 types that carry an echo id and sequence number.
ICMPV6_ECHO = (128, 129)
# IP protocol numbers of the headers the analysis reads.
IP_PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6"}
# Address families by the number netfilter gives them (NFPROTO_*, as text), named as nft names them.
FAMILIES = {"1": "inet", "2": "ip", "3": "arp", "5": "netdev", "7": "bridge", "10": "ip6"}
# IPv6 extension headers a pcap reader skips to reach the transport header (hop-by-hop,
# routing, destination options); the fragment header (44) ends the reading.
IPV6_EXTENSIONS = (0, 43, 60)
