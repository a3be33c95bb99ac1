# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Native nftables tables next to Docker's rules (firewalld's, a user's own): their rules' text by
handle, for hops a trace names only by handle, and which tables exist. Read only."""

from __future__ import annotations

import re

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.commands import RUNNER
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import owns_table

_TABLE = re.compile(r"^table (\S+) (\S+) \{")
_CHAIN = re.compile(r"^\s+chain (\S+) \{")
_RULE = re.compile(r"^\s+(.*\S)\s+# handle (\d+)$")
# The tables iptables-nft and ip6tables-nft make: the iptables table names in the ip and ip6 families.
IPTABLES_TABLES = {
    (family, name) for family in ("ip", "ip6") for name in ("filter", "nat", "raw", "mangle", "security")
}


def read_ruleset(runner=RUNNER):
    """(rules, native): {(table, chain, handle): text} of every rule, and the [(family, table)] that are
    neither iptables-nft's nor a run's of ours."""
    rc, out, dummy = runner.run(["nft", "-a", "list", "ruleset"])
    if rc != 0:
        return {}, []
    rules, tables = {}, []
    table = chain = None
    for line in out.splitlines():
        found = _TABLE.match(line)
        if found:
            table, chain = found.groups(), None
            tables.append(table)
            continue
        found = _CHAIN.match(line)
        if found:
            chain = found.group(1)
            continue
        found = _RULE.match(line)
        if found and table and chain:
            rules[(table[1], chain, int(found.group(2)))] = found.group(1)
    native = [t for t in tables if t not in IPTABLES_TABLES and not owns_table(t[1])]
    return rules, native


def fill_rule_texts(packets, rules):
    """Give each hop that names a rule by handle only the text of that rule."""
    for packet in packets:
        for hop in packet.get("hops", []):
            key = (hop.get("table"), hop.get("chain"), hop.get("handle"))
            if not hop.get("rule_text") and key in rules:
                hop["rule_text"] = rules[key]
        at = packet.get("fate_at") or {}
        key = (at.get("table"), at.get("chain"), at.get("handle"))
        if not at.get("rule_text") and key in rules:
            at["rule_text"] = rules[key]
