# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ruleset as the report shows it: every line, with the rules that packets hit marked."""

from __future__ import annotations

import re
from collections import Counter

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import ruleset as nf_ruleset


def nft_json_lines(text):
    """``nft -j list ruleset`` output as nft-like lines, each rule ending in ``# handle N``."""
    try:
        chains = nf_ruleset.parse_nft_json(text)
    except ValueError:
        return str(text).splitlines()
    lines, table = [], None
    for (tname, cname), chain in chains.items():
        if tname != table:
            lines += (["}"] if table is not None else []) + ["table %s {" % tname]
            table = tname
        hook = " # hook %s, policy %s" % (chain["hook"], chain["policy"]) if chain["hook"] else ""
        lines.append("  chain %s {%s" % (cname, hook))
        lines += ["    %s # handle %s" % (rule["text"], rule["handle"]) for rule in chain["rules"]]
        lines.append("  }")
    return lines + (["}"] if table is not None else [])


def nft_text(text):
    """An nft rule's text without handle comment, counters, quotes and ``meta``, for comparing."""
    text = re.sub(r"#\s*handle \d+\s*$", "", str(text or "")).replace('"', "")
    text = re.sub(r"\bcounter( packets \d+ bytes \d+)?|\bmeta\b", "", text)
    return " ".join(text.split())


def ruleset_view(ruleset, packets):
    """Lines of the ruleset with the rules that packets hit marked.

    iptables-save rules are matched by table, chain and number; nft rules by table and
    handle, or by table, chain and text when the trace gave no handle.
    """
    ruleset = ruleset or {}
    hits: Counter = Counter()
    for packet in packets:
        for hop in packet.get("hops") or []:
            if hop.get("type") == "rule":
                table, chain = hop.get("table"), hop.get("chain")
                hits[(table, chain, hop.get("rule"))] += 1
                if hop.get("handle") is not None:
                    hits[("handle", table, str(hop.get("handle")))] += 1
                else:
                    hits[("text", table, chain, nft_text(hop.get("rule_text")))] += 1
    for hit in ruleset.get("hit") or []:
        key = (hit.get("table"), hit.get("chain"), hit.get("rule"))
        hits[key] = hits[key] or 1
    text = str(ruleset.get("text") or "")
    raw = nft_json_lines(text) if ruleset.get("format") == "nft-json" else text.splitlines()
    lines, table, chain = [], None, None
    counts: Counter = Counter()
    for line in raw:
        stripped = line.strip()
        count = None
        if stripped.startswith("*"):
            table = stripped[1:]
        elif stripped.startswith("-A "):
            name = stripped.split()[1]
            counts[(table, name)] += 1
            count = hits.get((table, name, counts[(table, name)]), 0)
        elif stripped.startswith("table "):
            table = stripped.split()[-2] if stripped.endswith("{") else stripped.split()[-1]
        elif stripped.startswith("chain "):
            chain = stripped.split()[1]
        else:
            match = re.search(r"# handle (\d+)\s*$", stripped)
            if match:
                count = hits.get(("handle", table, match.group(1)), 0) or hits.get(
                    ("text", table, chain, nft_text(stripped)), 0
                )
        lines.append(dict(text=line, hit=count or 0, rule=count is not None))
    return dict(
        format=ruleset.get("format") or "",
        lines=lines,
        hit=sum(1 for line in lines if line["hit"]),
        total=sum(1 for line in lines if line["rule"]),
    )
