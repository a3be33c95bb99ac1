"""Whose rule decided: every rule of Docker's own real rulesets (recorded on this machine) reads as
Docker's; a user's, ufw's and a policy read as theirs."""

import json
import os

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.owners import owner

RECORDED = os.path.join(os.path.dirname(__file__), "..", "fixtures", "results", "recorded")


def rules(backend):
    """(table, chain, text) of every -A rule in a recorded iptables-save ruleset."""
    with open(os.path.join(RECORDED, backend, "results.json")) as handle:
        doc = json.load(handle)
    found, table = [], None
    for line in doc["scenarios"][0]["ruleset"]["text"].splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith("-A "):
            found.append((table, line.split()[1], line))
    return doc, found


@pytest.mark.parametrize("backend", ["legacy", "nft"])
def test_every_rule_docker_wrote_is_dockers(backend):
    doc, found = rules(backend)
    assert len(found) > 30
    for table, chain, text in found:
        want = None if text.endswith("-j TRACE") else "docker"
        assert owner({"table": table, "chain": chain, "type": "rule", "rule_text": text}) == want, text


@pytest.mark.parametrize("hop,want", [
    ({"table": "filter", "chain": "DOCKER-USER", "type": "rule", "rule_text": "-A DOCKER-USER -s 10.0.0.0/8 -j DROP"},
     "user"),
    ({"table": "filter", "chain": "DOCKER-USER", "type": "rule", "rule_text": "-A DOCKER-USER -j RETURN"}, "docker"),
    ({"table": "filter", "chain": "ufw-user-input", "type": "rule",
      "rule_text": "-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT"}, "ufw"),
    ({"table": "filter", "chain": "INPUT", "type": "rule", "rule_text": "-A INPUT -j ufw-before-input"}, "user"),
    ({"table": "filter", "chain": "FORWARD", "type": "policy", "rule_text": None}, "policy"),
    ({"table": "firewalld", "chain": "filter_FORWARD", "type": "rule", "rule_text": "reject with icmpx admin-prohibited"},
     "firewalld"),
    ({"table": "filter", "chain": "INPUT", "type": "rule", "rule_text": "-A INPUT -s 192.0.2.0/24 -j DROP"}, "user"),
    ({"table": "filter", "chain": "FORWARD", "type": "rule", "rule_text": "-A FORWARD -i lab0 -o lab0 -j ACCEPT"},
     "docker"),
])
def test_owner_of_rules_that_are_not_dockers(hop, want):
    assert owner(hop, bridges={"lab0"}) == want
