# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Find the hops of a packet whose headers were damaged in the log: an address or port that changes
between two hops where the kernel rewrites nothing cannot be NAT.

The kernel rewrites the destination (DNAT, and the un-SNAT of a reply) right after the nat table of
PREROUTING and OUTPUT, and the source (SNAT, MASQUERADE, the un-DNAT of a reply) right after the nat
table of POSTROUTING and INPUT, whether a nat rule is traced or conntrack does it. Between hops of
known place (an iptables table of the ip or ip6 family, at a known hook) the rest of the path keeps
the headers; where the place is not known (another nft table, a bridge hop), nothing is judged.
Where the kernel may rewrite, a NatCheck (nat_history) may still say the change is not the one the
packet's traced nat rule or its connection's NAT gives.
"""

from __future__ import annotations

# Priority of the iptables tables at a hook (the nat table: see _NAT_POINTS).
_PRIORITIES = {"raw": -300, "mangle": -150, "filter": 0, "security": 50}
# hook: (the side the kernel rewrites there, the priority of the nat table that does it).
_NAT_POINTS = {"PREROUTING": ("dst", -100), "OUTPUT": ("dst", -100), "POSTROUTING": ("src", 100), "INPUT": ("src", 100)}
# Order of the hooks along one pass of a packet: PREROUTING, then INPUT or FORWARD (OUTPUT for a
# packet the host sends), then POSTROUTING.
_STAGES = {"PREROUTING": 0, "INPUT": 1, "FORWARD": 1, "OUTPUT": 1, "POSTROUTING": 2}
_SIDES = (("src", "sport"), ("dst", "dport"))
_FAMILIES = ("ip", "ip6")


def split_damaged(hops, changes, hook_of, seen_before, nat_check=None):
    """(kept, damaged): a longest run of hops, in order, whose headers agree from each to the next, and
    the others (each a damaged line). A run with fewer values cut short (the start of what another
    hop shows where nothing rewrites it) or against the DNAT rule traced before them is kept first,
    then one with more hops whose headers an earlier packet showed, then a longer one, then one that
    ends later. hook_of(table, chain) is the hook a chain is known to hook into, or None;
    seen_before(hop) is True when an earlier packet showed its headers; changes are the indexes of the
    hops whose headers differ from the hop before; nat_check (or None) tells which changes the
    packet's NAT gives."""
    places = _Places(hops, hook_of, nat_check)
    if all(_agree(hops, places, index - 1, index) for index in changes):
        return hops, []
    weights = [
        (-(_looks_cut(hops, places, index) or _against_rule(nat_check, index)), int(seen_before(hop)), 1)
        for index, hop in enumerate(hops)
    ]
    best: list[tuple[int, int, int]] = []
    before: list[int | None] = []
    for index in range(len(hops)):
        weight = weights[index]
        score, previous = weight, None
        for earlier in range(index):
            candidate = (best[earlier][0] + weight[0], best[earlier][1] + weight[1], best[earlier][2] + 1)
            if candidate >= score and _agree(hops, places, earlier, index):
                score, previous = candidate, earlier
        best.append(score)
        before.append(previous)
    end: int | None = max(range(len(hops)), key=lambda index: (best[index], index))
    chosen = set()
    while end is not None:
        chosen.add(end)
        end = before[end]
    return [hop for index, hop in enumerate(hops) if index in chosen], [
        hop for index, hop in enumerate(hops) if index not in chosen
    ]


def damage_reason(hop, kept, hook_of, nat_check=None):
    """Plain words: which header of the hop disagrees with the packet's other hops, and where: no NAT
    can change it there, or the NAT that can does not (nat_check's objection)."""
    other = min(kept, key=lambda seen: abs(seen["line"] - hop["line"]))
    pair = sorted((hop, other), key=lambda seen: seen["line"])
    objection = None
    if nat_check is not None and _agree(pair, _Places(pair, hook_of, None), 0, 1):
        objection = next(
            filter(
                None,
                (
                    nat_check.objection(hop, other, side)
                    for side, port in _SIDES
                    if hop[side] != other[side] or hop.get(port) != other.get(port)
                ),
            ),
            None,
        )
    changed = " ".join(
        "%s=%s" % (key.upper(), hop.get(key))
        for key in ("src", "sport", "dst", "dport")
        if hop.get(key) != other.get(key)
    )
    return "%s disagrees with line %s (%s:%s) %s (damaged line)" % (
        changed,
        other.get("line"),
        other["table"],
        other["chain"],
        "where no NAT can change it" if objection is None else "and " + objection,
    )


def _agree(hops, places, earlier, later):
    """True when every header that differs between hops[earlier] and hops[later] may have been
    rewritten between them."""
    first, second = hops[earlier], hops[later]
    for address, port in _SIDES:
        if first[address] != second[address] or first.get(port) != second.get(port):
            if not _may_rewrite(places[earlier], places[later], address):
                return False
            if places.nat_check is not None and not places.nat_check.allows(earlier, later, address):
                return False
    return True


def _may_rewrite(first, second, side):
    """True when the kernel may rewrite the side (src or dst) between two places (hook, priority or
    None when not known), or the places are not known well enough to say it cannot."""
    if first is None or second is None:
        return True
    (hook_a, priority_a), (hook_b, priority_b) = first, second
    low = -1000 if priority_a is None else priority_a
    high = 1000 if priority_b is None else priority_b
    if hook_a == hook_b:
        return high < low or _rewrites(hook_a, side, low, high)
    if _STAGES[hook_b] <= _STAGES[hook_a]:
        return True  # another pass (loopback, a bridge then routing): not judged
    return _rewrites(hook_a, side, low, 1000) or _rewrites(hook_b, side, -1000, high)


def _rewrites(hook, side, after, before):
    """True when the hook rewrites the side at a priority from after (included) to before (excluded):
    the nat table's own hops still see the headers it is about to rewrite."""
    point = _NAT_POINTS.get(hook)
    return point is not None and point[0] == side and after <= point[1] < before


class _Places(dict):
    """(hook, priority) of each hop by its index, worked out when first asked, None where not known.
    An iptables table's hop has both (its user chains run at the hook of the base chain before
    them); a hop of another table of the ip or ip6 family has the hook its chain hooks into (leading
    hops of unknown hook: that of the first hop whose hook is known), at a priority not known."""

    def __init__(self, hops, hook_of, nat_check):
        super().__init__()
        self.hops, self.hook_of, self.nat_check = hops, hook_of, nat_check
        self.first_known: tuple[int, str | None] | None = None

    def __missing__(self, index):
        place = self[index] = self._own(self.hops[index])
        if place == ("", None):
            first, hook = self._first_known()
            place = self[index] = (hook, None) if hook and index < first else None
        return place

    def _own(self, hop):
        hook, table = hop.get("hook"), hop["table"]
        if hop.get("family") not in _FAMILIES:
            return None
        if table == "nat":
            point = _NAT_POINTS.get(hook)
            return (hook, point[1]) if point else None
        if table in _PRIORITIES:
            return (hook, _PRIORITIES[table]) if hook in _STAGES else None
        own = self.hook_of(table, hop["chain"])
        return (own, None) if own in _STAGES else ("", None)

    def _first_known(self):
        if self.first_known is None:
            self.first_known = (len(self.hops), None)
            for index, hop in enumerate(self.hops):
                place = self._own(hop)
                if place and place[0]:
                    self.first_known = (index, place[0])
                    break
        return self.first_known


def _against_rule(nat_check, index):
    """1 when the destination of hops[index] is not the target of a DNAT rule traced before it, else 0."""
    return int(nat_check is not None and nat_check.against_rule(index))


def _looks_cut(hops, places, index):
    """1 when a header of hops[index] is a shorter start of the same header of another hop where nothing
    rewrites it between them (a cut value), else 0."""
    hop = hops[index]
    for place, other in enumerate(hops):
        if place == index or (
            _agree(hops, places, place, index) if place < index else _agree(hops, places, index, place)
        ):
            continue
        for key in ("src", "sport", "dst", "dport"):
            value, full = str(hop.get(key)), str(other.get(key))
            if value != full and full.startswith(value):
                return 1
    return 0
