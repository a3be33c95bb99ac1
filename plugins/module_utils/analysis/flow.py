# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Keep one flow out of a trace: a cheap line pre-filter and an exact event test.

A flow is any subset of {src, dst, proto, sport, dport} and matches either
direction. NAT changes addresses and ports along the path, so the tuples seen
on packets that matched are learned and match too.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.fields import ipv6_text

FLOW_KEYS = ("src", "dst", "proto", "sport", "dport")
_LEARNED_LIMIT = 4096
_NEEDLE_LIMIT = 64


def normalize_flow(flow):
    """Validate a flow dict; return it with ports as int, proto upper-case (ICMPv6 as the parsers
    name it) and IPv6 addresses in short form.

    Raises ValueError for unknown keys or bad values.
    """
    if not isinstance(flow, dict):
        raise ValueError("flow must be a dict with keys among %s" % ", ".join(FLOW_KEYS))
    unknown = sorted(set(flow) - set(FLOW_KEYS))
    if unknown:
        raise ValueError("unknown flow keys: %s (allowed: %s)" % (", ".join(unknown), ", ".join(FLOW_KEYS)))
    clean: dict[str, int | str] = {}
    for key, value in flow.items():
        if value is None or value == "":
            continue
        if key in ("sport", "dport"):
            try:
                port = int(value)
            except (TypeError, ValueError):
                raise ValueError("flow %s must be a port number, got %r" % (key, value)) from None
            if not 0 <= port <= 65535:
                raise ValueError("flow %s out of range: %r" % (key, value))
            clean[key] = port
        elif key == "proto":
            clean[key] = "ICMPv6" if str(value).upper() == "ICMPV6" else str(value).upper()
        else:
            clean[key] = ipv6_text(str(value))
    return clean


class FlowFilter:
    """Decide which lines to parse and which events belong to the flow."""

    def __init__(self, flow):
        self.flow = normalize_flow(flow)
        self.learned = {}
        self.addresses = set(self.flow[key] for key in ("src", "dst") if key in self.flow)
        if self.addresses:
            # "SRC=a DST=b " (legacy, xtables-monitor) and "ip saddr a " (nft monitor)
            self.needles = _address_needles(self.addresses)
        else:
            # "SPT=p" (legacy), "SPORT=p" (xtables-monitor), "sport p" (nft monitor)
            self.needles = sorted(
                set(
                    form % self.flow[key]
                    for key in ("sport", "dport")
                    if key in self.flow
                    for form in ("=%d ", "port %d ")
                )
            )

    def line_may_match(self, line):
        """Cheap test: False only when the line cannot concern the flow."""
        for needle in self.needles:
            if needle in line:
                return True
        return not self.needles

    def matches(self, event):
        """True when the event's headers match the flow, in either direction, or
        a tuple learned from a matching packet."""
        if _header_tuple(event) in self.learned:
            return True
        proto = self.flow.get("proto")
        if proto and event.get("proto") and event["proto"] != proto:
            return False
        return self._matches_one_way(event, "src", "dst", "sport", "dport") or self._matches_one_way(
            event, "dst", "src", "dport", "sport"
        )

    def _matches_one_way(self, event, src, dst, sport, dport):
        flow = self.flow
        return all(
            (
                "src" not in flow or event.get(src) == flow["src"],
                "dst" not in flow or event.get(dst) == flow["dst"],
                "sport" not in flow or event.get(sport) == flow["sport"],
                "dport" not in flow or event.get(dport) == flow["dport"],
            )
        )

    def learn(self, event):
        """Remember the tuple of an event that belongs to the flow (both directions), and
        make its addresses (address flows, when NAT rewrote both ends) or its ports (port
        flows) line needles too, so the rewritten hops that follow are read."""
        forward = _header_tuple(event)
        if forward in self.learned:
            return
        if len(self.learned) >= _LEARNED_LIMIT:
            self.learned.pop(next(iter(self.learned)))
        self.learned[forward] = True
        self.learned[reverse(forward)] = True
        if not self.needles:
            return
        if self.addresses:
            if not self.addresses.intersection((event["src"], event["dst"])):
                self.addresses.update((event["src"], event["dst"]))
                self._set_needles(_address_needles(self.addresses))
        else:
            ports = [event.get(key) for key in ("sport", "dport") if event.get(key) is not None]
            new = [form % port for port in ports for form in ("=%d ", "port %d ")]
            if not set(new).issubset(self.needles):
                self._set_needles(set(self.needles).union(new))

    def _set_needles(self, needles):
        """Too many needles to test on every line: read every line (exact matching stays)."""
        self.needles = sorted(needles) if len(needles) <= _NEEDLE_LIMIT else []


def _address_needles(addresses):
    """The texts an address is written as in trace lines: an IPv6 one also with all 32 digits (nf_log)."""
    needles = set()
    for address in addresses:
        needles.add("%s " % address)
        if ":" in address:
            try:
                needles.add("%s " % ipaddress.IPv6Address(address).exploded)
            except ValueError:
                pass
    return sorted(needles)


def _header_tuple(event):
    """(proto, src, sport, dst, dport) exactly as the event's headers give them."""
    return (event.get("proto"), event.get("src"), event.get("sport"), event.get("dst"), event.get("dport"))


def reverse(five_tuple):
    """The (proto, src, sport, dst, dport) tuple of the other direction."""
    return (five_tuple[0], five_tuple[3], five_tuple[4], five_tuple[1], five_tuple[2])
