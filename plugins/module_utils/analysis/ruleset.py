# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rule text and targets by table, chain and rule number or nft handle.

Reads ``iptables-save`` output (either back end) and ``nft -j list ruleset``, and the pasted
forms of ruleset_text (``iptables -S``, ``iptables -L -n -v --line-numbers``, ``nft list ruleset``).
"""

from __future__ import annotations

import json

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.ruleset_text import (
    detect_ruleset_format,
    parse_iptables_list,
    parse_iptables_rules,
    parse_nft_text,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import (
    HOOK_NAMES,
    HOOKS,
    NAT_TARGETS,
)

BUILTIN_TARGETS = {
    "ACCEPT": "ACCEPT",
    "DROP": "DROP",
    "RETURN": "RETURN",
    "REJECT": "REJECT",
    "QUEUE": "QUEUE",
    "NFQUEUE": "QUEUE",
}


class Ruleset:
    """Chains of one ruleset: {(table, chain): {"policy", "hook", "rules": [rule]}},
    each rule {"handle", "text", "target"}."""

    def __init__(self, chains):
        self.chains = chains
        self._resolved = {}

    def hook_of(self, table, chain):
        """Hook name of a base chain, None for a user chain or an unknown one."""
        entry = self.chains.get((table, chain))
        if entry and entry.get("hook"):
            return entry["hook"]
        return chain if chain in HOOKS and entry is not None else None

    def has_table(self, table):
        """True when the ruleset has chains in this table."""
        return any(key[0] == table for key in self.chains)

    def has_hook(self, hook):
        """True when some table has a base chain on this hook."""
        return any(entry.get("hook") == hook for entry in self.chains.values())

    def resolve(self, table, chain, hop_type, rule=None, handle=None, rule_text=None):
        """What the ruleset says about one hop: rule number, rule_text, target, verdict.
        The rule is found by number, else by nft handle, else by its exact text."""
        key = (table, chain, hop_type, rule, handle, rule_text)
        found = self._resolved.get(key)
        if found is None:
            if len(self._resolved) > 65536:
                self._resolved.clear()
            found = self._resolved[key] = self._lookup(table, chain, hop_type, rule, handle, rule_text)
        return found

    def _lookup(self, table, chain, hop_type, rule, handle, rule_text):
        entry = self.chains.get((table, chain))
        if entry is None:
            return {}
        rules = entry["rules"]
        if hop_type == "policy":
            return {"rule": len(rules) + 1, "verdict": entry.get("policy")}
        if hop_type == "return":
            return {"rule": len(rules) + 1, "verdict": "RETURN"}
        if rule is None and handle is not None:
            rule = next((pos for pos, item in enumerate(rules, 1) if item["handle"] == handle), None)
        if rule is None and rule_text:
            rule = next((pos for pos, item in enumerate(rules, 1) if item["text"] == rule_text), None)
        if rule is None or not 1 <= rule <= len(rules):
            return {}
        item = rules[rule - 1]
        return {
            "rule": rule,
            "rule_text": item["text"],
            "target": item["target"],
            "verdict": verdict_of_target(item["target"], item.get("goto", False), self.chains, table),
        }


def verdict_of_target(target, goto, chains, table):
    """Turn a rule target into a hop verdict (JUMP:x, GOTO:x, ACCEPT, DNAT, CONTINUE...)."""
    if not target:
        return "CONTINUE"
    if target in BUILTIN_TARGETS:
        return BUILTIN_TARGETS[target]
    if (table, target) in chains:
        return ("GOTO:" if goto else "JUMP:") + target
    if target in NAT_TARGETS:
        return target
    return "CONTINUE"


def load_ruleset(ruleset):
    """Build a Ruleset from {"format": one of RULESET_FORMATS or None (detected), "text": str}; an
    iptables-save ruleset of the nft back end may add "base_chains": ["table:chain", ...].

    Returns None for None; raises ValueError for anything unreadable.
    """
    if ruleset is None:
        return None
    if not isinstance(ruleset, dict) or "text" not in ruleset:
        raise ValueError("ruleset must be a dict with 'format' and 'text'")
    kind = ruleset.get("format") or detect_format(ruleset["text"])
    if kind == "iptables-save":
        chains = parse_iptables_save(ruleset["text"])
        existing = ruleset.get("base_chains")
        if existing is not None:
            # iptables-nft-save lists every built-in chain; only these hook into netfilter.
            for (table, name), entry in chains.items():
                if entry["hook"] and "%s:%s" % (table, name) not in existing:
                    entry["hook"] = None
        return Ruleset(chains)
    if kind == "nft-json":
        return Ruleset(parse_nft_json(ruleset["text"]))
    if kind == "iptables-S":
        return Ruleset(parse_iptables_rules(ruleset["text"], _iptables_target))
    if kind == "iptables-L":
        return Ruleset(parse_iptables_list(ruleset["text"]))
    if kind == "nft-text":
        return Ruleset(parse_nft_text(ruleset["text"]))
    raise ValueError("unknown ruleset format %r (%s)" % (kind, ", ".join(RULESET_FORMATS)))


# The ruleset formats load_ruleset reads (detected from the text when none is given).
RULESET_FORMATS = ("iptables-save", "nft-json", "iptables-S", "iptables-L", "nft-text")


def detect_format(text):
    """The ruleset format of a text (ruleset_text.detect_ruleset_format)."""
    return detect_ruleset_format(text)


def parse_iptables_save(text):
    """Chains of iptables-save output, rules numbered in order from 1."""
    chains: dict[tuple, dict] = {}
    table = None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":") and table:
            name, policy = (line[1:].split() + ["-"])[:2]
            chains[(table, name)] = {
                "policy": None if policy == "-" else policy,
                "hook": name if policy != "-" else None,
                "rules": [],
            }
        elif line.startswith("-A ") and table:
            name = line.split()[1]
            entry = chains.setdefault((table, name), {"policy": None, "hook": None, "rules": []})
            target, goto = _iptables_target(line)
            entry["rules"].append({"handle": None, "text": line, "target": target, "goto": goto})
        else:
            raise ValueError("iptables-save line %d not understood: %r" % (number, line[:80]))
    return chains


def _iptables_target(line):
    """(target, is_goto) of an iptables-save rule line."""
    words = line.split()
    for pos, word in enumerate(words[:-1]):
        if word in ("-j", "--jump"):
            return words[pos + 1], False
        if word in ("-g", "--goto"):
            return words[pos + 1], True
    return None, False


def parse_nft_json(text):
    """Chains of ``nft -j list ruleset`` output, keyed by (table, chain)."""
    try:
        items = json.loads(text)["nftables"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("not nft -j list ruleset output: %s" % exc) from None
    chains: dict[tuple, dict] = {}
    for item in items:
        if "chain" in item:
            chain = item["chain"]
            policy = chain.get("policy")
            chains[(chain["table"], chain["name"])] = {
                "policy": policy.upper() if policy else None,
                "hook": HOOK_NAMES.get(chain.get("hook")),
                "rules": [],
            }
        elif "rule" in item:
            rule = item["rule"]
            entry = chains.setdefault((rule["table"], rule["chain"]), {"policy": None, "hook": None, "rules": []})
            target, goto = _nft_target(rule.get("expr", []))
            entry["rules"].append(
                {
                    "handle": rule.get("handle"),
                    "text": render_nft_rule(rule.get("expr", [])),
                    "target": target,
                    "goto": goto,
                }
            )
    return chains


def _nft_target(exprs):
    """(target, is_goto) from the statements of an nft rule."""
    for expr in exprs:
        for key in ("accept", "drop", "return", "reject", "queue"):
            if key in expr:
                return key.upper(), False
        if "jump" in expr:
            return expr["jump"]["target"], False
        if "goto" in expr:
            return expr["goto"]["target"], True
        for key in ("dnat", "snat", "masquerade", "redirect"):
            if key in expr:
                return key.upper(), False
        if "xt" in expr and expr["xt"].get("type") == "target":
            return expr["xt"].get("name"), False
    return None, False


def render_nft_rule(exprs):
    """Short nft-syntax text of a rule's expressions (counters left out)."""
    return " ".join(part for part in (_render_expr(expr) for expr in exprs) if part)


def _render_expr(expr):
    key, value = next(iter(expr.items()))
    if key == "match":
        operator = "" if value.get("op") in ("==", "in") else value.get("op") + " "
        return "%s %s%s" % (_render_value(value.get("left")), operator, _render_value(value.get("right")))
    if key == "counter":
        return ""
    if key in ("jump", "goto"):
        return "%s %s" % (key, value["target"])
    if key in ("accept", "drop", "return", "continue", "masquerade"):
        return key
    if key == "xt":
        return "xt %s %s" % (value.get("type"), value.get("name"))
    if key in ("dnat", "snat"):
        target = _render_value(value.get("addr")) if value.get("addr") is not None else ""
        if value.get("port") is not None:
            target += ":%s" % _render_value(value["port"])
        return "%s to %s" % (key, target)
    if key == "mangle":
        return "%s set %s" % (_render_value(value.get("key")), _render_value(value.get("value")))
    return "%s %s" % (key, json.dumps(value, sort_keys=True)) if value is not None else key


def _render_value(value):
    if isinstance(value, dict):
        if "meta" in value:
            return "meta %s" % value["meta"]["key"]
        if "payload" in value:
            payload = value["payload"]
            return "%s %s" % (payload.get("protocol", "@"), payload.get("field", ""))
        if "prefix" in value:
            return "%s/%s" % (value["prefix"]["addr"], value["prefix"]["len"])
        if "set" in value:
            return "{ %s }" % ", ".join(_render_value(item) for item in value["set"])
        if "range" in value:
            return "%s-%s" % tuple(_render_value(item) for item in value["range"])
        if "ct" in value:
            return "ct %s" % value["ct"].get("key")
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return "{ %s }" % ", ".join(_render_value(item) for item in value)
    return str(value)
