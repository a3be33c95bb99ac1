# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a run traces: the two directions of its legs, as iptables and nft matches, and the addresses and ports
that tell its own trace lines from others'."""

from __future__ import annotations

import ipaddress


def is_six(leg):
    """Whether a leg is IPv6 (an address of it has a colon)."""
    return ":" in "%s%s" % (leg.get("src") or "", leg.get("dst") or "")


def iptables_matches(leg):
    """iptables (ip6tables for IPv6) match arguments for one direction of a leg {src, dst, proto, sport, dport}."""
    args = []
    for opt, key in (("-s", "src"), ("-d", "dst"), ("-p", "proto"), ("--sport", "sport"), ("--dport", "dport")):
        if leg.get(key):
            value = "ipv6-icmp" if key == "proto" and leg[key] == "icmp" and is_six(leg) else leg[key]
            args += [opt, str(value)]
    return args


def nft_matches(leg):
    """nft match expression for one direction of a leg (ip6 saddr/daddr and ipv6-icmp for IPv6)."""
    parts = []
    ip = "ip6" if is_six(leg) else "ip"
    if leg.get("src"):
        parts.append("%s saddr %s" % (ip, leg["src"]))
    if leg.get("dst"):
        parts.append("%s daddr %s" % (ip, leg["dst"]))
    proto = "ipv6-icmp" if leg.get("proto") == "icmp" and is_six(leg) else leg.get("proto")
    if proto and (leg.get("sport") or leg.get("dport")):
        for key in ("sport", "dport"):
            if leg.get(key):
                parts.append("%s %s %s" % (proto, key, leg[key]))
    elif proto:
        parts.append("meta l4proto %s" % proto)
    return " ".join(parts)


def directions(legs):
    """Both directions of every leg, de-duplicated, in order."""
    seen = []
    for leg in legs:
        back = {
            "src": leg.get("dst"),
            "dst": leg.get("src"),
            "proto": leg.get("proto"),
            "sport": leg.get("dport"),
            "dport": leg.get("sport"),
        }
        for one in (dict(leg), back):
            one = {k: one.get(k) for k in ("src", "dst", "proto", "sport", "dport")}
            if one not in seen:
                seen.append(one)
    return seen


def flow_addresses(legs):
    """Addresses the legs name, or None when a leg names none (then any address is ours). IPv6 addresses are
    there in the kernel log's form too, with all 32 digits."""
    addresses: set = set()
    for leg in legs:
        if not (leg.get("src") or leg.get("dst")):
            return None
        addresses.update(address for address in (leg.get("src"), leg.get("dst")) if address)
    return addresses | {ipaddress.ip_address(a).exploded for a in addresses if ":" in a}


def flow_ports(legs):
    """Ports the TCP and UDP legs name, or None when one names none (then any port is ours)."""
    ports: set = set()
    for leg in legs:
        if leg.get("proto") in ("tcp", "udp"):
            named = {str(leg[key]) for key in ("sport", "dport") if leg.get(key)}
            if not named:
                return None
            ports |= named
    return ports
