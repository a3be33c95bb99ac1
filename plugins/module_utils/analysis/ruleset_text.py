# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rulesets in the forms people paste: ``iptables -S``, ``iptables -L -n -v --line-numbers`` and
``nft list ruleset`` (text, with or without ``-a``), to the chains ruleset.Ruleset reads.

``iptables -S`` and ``-L`` print one table and do not name it: the table is taken from a pasted
command line before the output (``# iptables -t nat -S``), else nat when a rule rewrites, else filter.
"""

from __future__ import annotations

import re

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import HOOK_NAMES, NAT_TARGETS

_COMMAND_TABLE = re.compile(r"\biptables(?:-legacy|-nft)?\b.*?(?:-t\s*|--table[= ])(\w+)")
_COMMAND = re.compile(r"\biptables(?:-legacy|-nft)?\s")
_LIST_CHAIN = re.compile(r"Chain (\S+) \((?:policy (\w+)|\d+ references)")
_NFT_HANDLE = re.compile(r"\s*# handle (\d+)\s*$")
_NFT_BASE = re.compile(r"type \w+ hook (\w+)(?: device \S+)? priority [^;]+;(?:\s*policy (\w+);)?")
_NFT_TARGETS = ("accept", "drop", "return", "reject", "queue", "dnat", "snat", "masquerade", "redirect")
# Words of an ``iptables -L`` row where the target column is empty: the protocol comes first.
_PROTOCOLS = ("all", "0", "tcp", "6", "udp", "17", "icmp", "1", "icmpv6", "58", "sctp", "udplite")


def detect_ruleset_format(text):
    """The format of a ruleset text: nft-json, iptables-save, iptables-S, iptables-L or nft-text."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return "nft-json"
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("*") or line.startswith(":"):
            return "iptables-save"
        if _LIST_CHAIN.match(line):
            return "iptables-L"
        if line.startswith("table ") and "{" in line:
            return "nft-text"
        if line.startswith(("-P ", "-N ", "-A ")):
            return "iptables-S"
    return "iptables-save"


def _new_chain(chains, table, name, policy=None):
    return chains.setdefault((table, name), {"policy": policy, "hook": name if policy else None, "rules": []})


def _sections(text):
    """(table named by a pasted command line or None, lines) per iptables command pasted."""
    table: str | None = None
    lines: list[str] = []
    found: list[tuple[str | None, list[str]]] = []
    for line in text.splitlines():
        if _COMMAND.search(line) and not line.lstrip().startswith(("-A ", "-P ", "-N ")):
            if lines:
                found.append((table, lines))
            match = _COMMAND_TABLE.search(line)
            table, lines = (match.group(1) if match else "filter"), []
        elif line.strip():
            lines.append(line.strip())
    if lines:
        found.append((table, lines))
    return found


def _guessed_table(table, targets):
    if table:
        return table
    return "nat" if any(target in NAT_TARGETS for target in targets) else "filter"


def parse_iptables_rules(text, target_of):
    """Chains of ``iptables -S`` output (one or more tables); target_of(line) -> (target, goto)."""
    chains: dict[tuple, dict] = {}
    for named, lines in _sections(text):
        table = _guessed_table(named, [target_of(line)[0] for line in lines if line.startswith("-A ")])
        for number, line in enumerate(lines, 1):
            words = line.split()
            if words[0] == "-P" and len(words) == 3:
                _new_chain(chains, table, words[1], words[2])
            elif words[0] == "-N" and len(words) == 2:
                _new_chain(chains, table, words[1])
            elif words[0] == "-A" and len(words) >= 2:
                target, goto = target_of(line)
                entry = _new_chain(chains, table, words[1])
                entry["rules"].append({"handle": None, "text": line, "target": target, "goto": goto})
            else:
                raise ValueError("iptables -S line %d not understood: %r" % (number, line[:80]))
    return chains


def parse_iptables_list(text):
    """Chains of ``iptables -L -n [-v] [--line-numbers]`` output; rule text is the row as printed."""
    chains: dict[tuple, dict] = {}
    for named, lines in _sections(text):
        rows: list[tuple[tuple, tuple | None]] = []
        columns: list[str] = []
        chain = None
        for line in lines:
            match = _LIST_CHAIN.match(line)
            if match:
                chain = (match.group(1), match.group(2))
                rows.append((chain, None))
            elif line.split()[:2] in (["num", "pkts"], ["num", "target"], ["pkts", "bytes"], ["target", "prot"]):
                columns = line.split()
            elif chain is not None:
                rows.append((chain, _list_row(line, columns)))
            else:
                raise ValueError("iptables -L line not understood: %r" % line[:80])
        table = _guessed_table(named, [row[0] for _chain, row in rows if row])
        for (name, policy), row in rows:
            entry = _new_chain(chains, table, name, policy)
            if row is not None:
                target, goto, words = row
                entry["rules"].append({"handle": None, "text": " ".join(words), "target": target, "goto": goto})
    return chains


def _list_row(line, columns):
    """(target, goto, words of the rule) of one ``iptables -L`` row."""
    words = line.split()
    skip = sum(1 for name in ("num", "pkts", "bytes") if name in columns)
    words = words[skip:]
    if not words:
        raise ValueError("iptables -L row without a rule: %r" % line[:80])
    if words[0] in _PROTOCOLS:
        return None, False, words
    return words[0], "[goto]" in words, words


def parse_nft_text(text):
    """Chains of ``nft [-a] list ruleset`` text, rules in order; other blocks (sets, maps) skipped."""
    chains: dict[tuple, dict] = {}
    table = chain = None
    depth = 0
    for number, raw in enumerate(text.splitlines(), 1):
        handle_match = _NFT_HANDLE.search(raw)
        line = raw[: handle_match.start()].strip() if handle_match else raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if depth == 0 and words[0] == "table" and line.endswith("{"):
            table, depth = words[-2], 1
        elif depth == 1 and words[0] == "chain" and line.endswith("{"):
            chain, depth = _new_chain(chains, table, words[1]), 2
        elif line == "}":
            depth -= 1
            chain = None if depth < 2 else chain
        elif line.endswith("{"):
            depth += 1
        elif depth == 2 and chain is not None:
            _nft_line(chain, line, handle_match)
        elif depth < 1:
            raise ValueError("nft list ruleset line %d not understood: %r" % (number, line[:80]))
    if depth != 0:
        raise ValueError("nft list ruleset text ends inside a block (cut?)")
    return chains


def _nft_line(chain, line, handle_match):
    base = _NFT_BASE.match(line)
    if base:
        chain["hook"] = HOOK_NAMES.get(base.group(1))
        chain["policy"] = base.group(2).upper() if base.group(2) else "ACCEPT"
        return
    if line.startswith("policy "):
        chain["policy"] = line.split()[1].rstrip(";").upper()
        return
    words = line.split()
    target, goto = None, False
    for pos, word in enumerate(words):
        if word in ("jump", "goto") and pos + 1 < len(words):
            target, goto = words[pos + 1], word == "goto"
        elif word in _NFT_TARGETS:
            target = word.upper()
        elif word == "xt" and words[pos + 1 : pos + 2] == ["target"] and pos + 2 < len(words):
            target = words[pos + 2]
    handle = int(handle_match.group(1)) if handle_match else None
    chain["rules"].append({"handle": handle, "text": line, "target": target, "goto": goto})
