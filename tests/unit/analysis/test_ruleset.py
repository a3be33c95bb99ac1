# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rule text by number, handle or text, from the real ruleset dumps."""

from __future__ import annotations

import json

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.ruleset import load_ruleset, render_nft_rule
from analysis_support import ruleset_of


def test_iptables_save_numbers_rules_from_one_and_chain_end_after_the_last():
    rules = load_ruleset(ruleset_of("legacy.iptables-save"))
    found = rules.resolve("nat", "DOCKER", "rule", rule=4)
    assert found["rule_text"] == "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 18080 -j DNAT --to-destination 172.17.0.2:80"
    assert found["verdict"] == "DNAT"
    assert rules.resolve("filter", "FORWARD", "rule", rule=1)["verdict"] == "JUMP:DOCKER-USER"
    assert rules.resolve("filter", "FORWARD", "policy") == {"rule": 15, "verdict": "ACCEPT"}  # as dumped
    assert rules.resolve("filter", "DOCKER-USER", "return")["verdict"] == "RETURN"
    assert rules.resolve("raw", "PREROUTING", "rule", rule=1)["verdict"] == "CONTINUE"   # -j TRACE
    assert rules.resolve("filter", "FORWARD", "rule", rule=99) == {}


def test_nft_json_resolves_handles_to_positions_and_hooks():
    rules = load_ruleset(ruleset_of("nft.ruleset.json"))
    document = json.loads(ruleset_of("nft.ruleset.json")["text"])["nftables"]
    dnat = [item["rule"] for item in document if "rule" in item and item["rule"]["chain"] == "DOCKER"
            and item["rule"]["table"] == "nat" and "DNAT" in json.dumps(item["rule"]["expr"])][0]
    found = rules.resolve("nat", "DOCKER", "rule", handle=dnat["handle"])
    assert found["rule"] == 4 and found["target"] == "DNAT"
    assert rules.hook_of("filter", "FORWARD") == "FORWARD"
    assert rules.hook_of("filter", "DOCKER-USER") is None
    assert rules.has_hook("FORWARD") and not rules.has_hook("INPUT")


def test_native_table_base_chains_get_their_hook():
    rules = load_ruleset(ruleset_of("nftables.ruleset.json"))
    assert rules.hook_of("pfa_fixture", "pre") == "PREROUTING"
    assert rules.hook_of("pfa_fixture", "out") == "OUTPUT"


def test_rule_found_by_its_text_when_the_dump_has_no_handles():
    rules = load_ruleset(ruleset_of("nft.iptables-save"))
    found = rules.resolve("filter", "DOCKER-USER", "rule", rule_text="-A DOCKER-USER -j RETURN")
    assert found["rule"] == 1 and found["verdict"] == "RETURN"


def test_render_of_nft_expressions():
    exprs = [{"match": {"op": "!=", "left": {"meta": {"key": "iifname"}}, "right": "docker0"}},
             {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 18080}},
             {"counter": {"packets": 0, "bytes": 0}},
             {"dnat": {"addr": "172.17.0.2", "port": 80}}]
    assert render_nft_rule(exprs) == "meta iifname != docker0 tcp dport 18080 dnat to 172.17.0.2:80"


@pytest.mark.parametrize("ruleset, message", [
    ({"format": "nft-json", "text": "not json"}, "not nft -j"),
    ({"format": "iptables-save", "text": "*filter\nhello\n"}, "line 2 not understood"),
    ({"format": "yaml", "text": "x"}, "unknown ruleset format"),
    ("text", "must be a dict"),
])
def test_bad_rulesets_raise_value_error(ruleset, message):
    with pytest.raises(ValueError, match=message):
        load_ruleset(ruleset)
