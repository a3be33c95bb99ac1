# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a connection's NAT lets the headers of its packets become, from what the trace showed of it.

Conntrack rewrites every packet of a connection as it rewrote the first: a request's destination
from the first packet's original one to the one it got (DNAT), its source to the one it got (SNAT);
a reply's destination back to the request's source (the un-SNAT), its source back to the request's
destination (the un-DNAT). A first packet's DNAT goes to the target its traced nat rule names. A change
of header that none of these gives is damage in the log, not NAT.
"""

from __future__ import annotations

import ipaddress
import re
from collections import OrderedDict

# "-j DNAT --to-destination 172.17.0.2:80", "dnat to 172.17.0.2:80", "dnat ip6 to [2001:db8::2]:80"
_DNAT_TARGET = re.compile(
    r"(?:--to-destination|\bdnat(?: ip6?)? to) "
    r"(\[[0-9a-fA-F:.]+\]|\d+\.\d+\.\d+\.\d+|[0-9a-fA-F]*:[0-9a-fA-F:.]*)(?::(\d+))?(\S*)"
)
_BEFORE_NAT = ("raw", "mangle")
_SNAT_HOOKS = ("INPUT", "POSTROUTING")
_IPTABLES = ("raw", "mangle", "nat", "filter", "security")
_FAMILIES = ("ip", "ip6")
_STAGES = {"PREROUTING": 0, "OUTPUT": 0, "INPUT": 1, "FORWARD": 1, "POSTROUTING": 2}
CONNECTION_LIMIT = 8192


def endpoint(hop, side):
    """(address, port) of one side (src or dst) of a hop."""
    return hop[side], hop.get("sport" if side == "src" else "dport")


def _tuple(hop):
    return hop.get("proto"), endpoint(hop, "src"), endpoint(hop, "dst")


def _spelled(found):
    """address:port, the address alone without a port, ? when not known."""
    if found is None:
        return "?"
    address, port = found
    return str(address) if port is None else "%s:%s" % (address, port)


class NatHistory:
    """The NAT of each connection whose first packet was traced: (proto, source, destination) of a
    packet at any point of its path → (its connection's NAT, request or reply)."""

    def __init__(self, rule_text_of):
        self.rule_text_of = rule_text_of
        self.tuples: OrderedDict = OrderedDict()

    def check(self, hops, changes, runs_nat):
        """A NatCheck of a packet's hops (changes: the indexes of the hops whose headers differ from the
        hop before; runs_nat: a hop is of the nat table), or None when nothing is known to judge them by."""
        targets = []
        if runs_nat:
            targets = [(index, self._dnat_target(hop)) for index, hop in enumerate(hops) if hop["table"] == "nat"]
            targets = [(index, target) for index, target in targets if target is not None]
        found = None if runs_nat else self._connection(hops, changes)
        if found is None and not targets:
            return None
        return NatCheck(hops, found, targets)

    def learn(self, hops, changes, runs_nat):
        """Remember the NAT a connection's first packet shows (one that runs the nat table, or the first
        of its connection the trace shows); a reply of a connection whose SNAT was not seen tells what
        the request's source became."""
        if not hops or hops[0].get("family") not in _FAMILIES or hops[-1].get("family") not in _FAMILIES:
            return
        found = None if runs_nat else self._connection(hops, changes)
        if found is None:
            self._remember(_first_nat(hops))
            return
        nat, direction = found
        if direction == "reply" and nat["src_to"] is None and _spans_dst_point(hops):
            self._remember(dict(nat, src_to=endpoint(hops[0], "dst")))

    def _connection(self, hops, changes):
        """(NAT, request or reply) of the connection of a packet that does not run the nat table (one that
        does is a connection's first: its own rule decides); None when its connection was not seen."""
        tuples = self.tuples
        for index in [0, *changes]:
            found = tuples.get(_tuple(hops[index]))
            if found is not None:
                return found
        return None

    def _remember(self, nat):
        proto, (src, dst, dst_to, src_to) = nat["proto"], (nat["src"], nat["dst"], nat["dst_to"], nat["src_to"])
        keys = [((proto, src, dst), "request"), ((proto, dst, src), "reply")]
        if dst_to is not None:
            keys += [((proto, src, dst_to), "request"), ((proto, dst_to, src), "reply")]
            if src_to is not None:
                keys += [((proto, src_to, dst_to), "request"), ((proto, dst_to, src_to), "reply")]
        for key, direction in keys:
            self.tuples[key] = (nat, direction)
            self.tuples.move_to_end(key)
        while len(self.tuples) > CONNECTION_LIMIT:
            self.tuples.popitem(last=False)

    def _dnat_target(self, hop):
        """(address, port or None) a DNAT rule's hop names as its one target, else None."""
        if hop["type"] != "rule":
            return None
        text = self.rule_text_of(hop)
        found = _DNAT_TARGET.search(text) if text else None
        if found is None or found.group(3):
            return None  # no DNAT, or a range of addresses or ports: not one target
        port = found.group(2)
        try:
            address = ipaddress.ip_address(found.group(1).strip("[]"))
        except ValueError:
            return None
        return address, None if port is None else int(port)


def _first_nat(hops):
    """The NAT a connection's first packet shows: its original source and destination, the destination
    it got (None when the trace ends before the DNAT point), the source it got (its own when a nat table
    where SNAT happens let it through untouched, else None)."""
    first, last = hops[0], hops[-1]
    nat = {"line": first.get("line"), "proto": first.get("proto")}
    nat.update(src=endpoint(first, "src"), dst=endpoint(first, "dst"))
    nat["dst_to"] = endpoint(last, "dst") if _past_dst_point(last) and _one_pass(hops) else None
    nat["src_to"] = None
    snat_points = [index for index, hop in enumerate(hops) if hop["table"] == "nat" and hop["hook"] in _SNAT_HOOKS]
    if nat["dst_to"] is not None and snat_points:
        after = hops[snat_points[-1] :]
        if after[0]["type"] in ("policy", "return") and all(hop["table"] in _IPTABLES for hop in after):
            nat["src_to"] = nat["src"]
    return nat


def _past_dst_point(hop):
    return hop["hook"] in ("INPUT", "FORWARD", "POSTROUTING") or (
        hop["hook"] == "OUTPUT" and hop["table"] in ("filter", "security")
    )


def _spans_dst_point(hops):
    return hops[0]["hook"] in ("PREROUTING", "OUTPUT") and hops[0]["table"] in _BEFORE_NAT and _past_dst_point(hops[-1])


def _one_pass(hops):
    """True when the hops of known hook run through the hooks once (no loopback or second pass)."""
    order = [_STAGES[hop["hook"]] for hop in hops if hop["hook"] in _STAGES]
    return order == sorted(order)


class NatCheck:
    """Whether a change of a header between two hops of one packet is one its connection's NAT gives."""

    def __init__(self, hops, found, targets):
        self.hops, self.targets = hops, targets
        self.nat: dict | None = None
        self.direction: str | None = None
        if found is not None:
            self.nat, self.direction = found

    def against_rule(self, index):
        """True when the destination of hops[index] is not the target of the last DNAT rule before it."""
        before = [target for rule, target in self.targets if rule < index]
        return bool(before) and not _matches(endpoint(self.hops[index], "dst"), before[-1])

    def allows(self, earlier, later, side):
        """True when the side (src or dst) of hops[earlier] may become that of hops[later]."""
        return self._objection(earlier, later, side) is None

    def objection(self, one, other, side):
        """None, or plain words: why the side (src or dst) of one hop cannot become that of the other."""
        places = sorted(index for index, hop in enumerate(self.hops) if hop is one or hop is other)
        return self._objection(places[0], places[-1], side)

    def _objection(self, start, end, side):
        first, second = self.hops[start], self.hops[end]
        before, after = endpoint(first, side), endpoint(second, side)
        if side == "dst":
            for index, target in self.targets:
                if start <= index < end and not _matches(after, target):
                    return "the DNAT rule of line %s rewrites the destination to %s" % (
                        self.hops[index].get("line"),
                        _spelled(target),
                    )
        if self.nat is None or first.get("family") not in _FAMILIES or second.get("family") not in _FAMILIES:
            return None
        nat, reply = self.nat, self.direction == "reply"
        # A reply's source is the request's destination turned back, its destination the request's source.
        request_side = {"src": "dst", "dst": "src"}[side] if reply else side
        original, rewritten = nat[request_side], nat[request_side + "_to"]
        if reply and after == original and rewritten in (None, before):
            return None
        if not reply and before == original and rewritten in (None, after):
            return None
        start, end = (rewritten, original) if reply else (original, rewritten)
        spelled = _spelled(end) if start == end else "%s to %s" % (_spelled(start), _spelled(end))
        return "its connection's NAT (first packet at line %s) %s the %s %s %s" % (
            nat["line"],
            "keeps" if start == end else "takes",
            "reply's" if reply else "request's",
            "source" if side == "src" else "destination",
            spelled,
        )


def _matches(found, target):
    address, port = target
    try:
        same = ipaddress.ip_address(found[0]) == address
    except ValueError:
        same = False
    return same and (port is None or found[1] == port)
