"""Native nftables tables next to iptables-nft's, read from `nft -a list ruleset` recorded on this machine
(tests/unit/fixtures/nft/README.md): rule texts by handle, and which tables are not iptables-nft's."""

import os

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys
from ansible_collections.dockernet.packetflow.plugins.module_utils.host import nft_rules

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "nft")


class Recorded:
    """A runner that answers `nft -a list ruleset` with the recorded output."""

    def __init__(self, name):
        with open(os.path.join(FIXTURES, name)) as handle:
            self.out = handle.read()

    def run(self, argv, timeout=10, check=False):
        assert argv == ["nft", "-a", "list", "ruleset"]
        return 0, self.out, ""


def test_rules_by_handle_and_the_native_tables():
    rules, native = nft_rules.read_ruleset(Recorded("firewalld-next-to-iptables-nft.txt"))
    assert native == [("inet", "firewalld")]
    assert rules[("firewalld", "filter_INPUT", 2)] == "ip saddr 198.51.100.0/24 tcp dport 18474 drop"
    assert rules[("filter", "DOCKER-USER", 2)] == "ip saddr 10.0.0.0/8 counter packets 0 bytes 0 drop"


def test_a_firewalld_drop_traced_by_handle_gets_its_text():
    with open(os.path.join(FIXTURES, "firewalld-drop.xtables-monitor")) as handle:
        lines = handle.read().splitlines()
    packets = build_journeys(lines, trace_format="xtables-monitor")["packets"]
    rules, dummy = nft_rules.read_ruleset(Recorded("firewalld-next-to-iptables-nft.txt"))
    nft_rules.fill_rule_texts(packets, rules)
    assert packets[0]["fate"] == "dropped"
    assert packets[0]["fate_at"]["table"] == "firewalld"
    assert [hop["family"] for hop in packets[0]["hops"]] == ["ip", "ip", "inet"]
    assert packets[0]["fate_at"]["rule_text"] == "ip saddr 198.51.100.0/24 tcp dport 18474 drop"


def test_no_nft_means_nothing_native():
    class Missing:
        def run(self, argv, timeout=10, check=False):
            return 127, "", "nft: not found"

    assert nft_rules.read_ruleset(Missing()) == ({}, [])
