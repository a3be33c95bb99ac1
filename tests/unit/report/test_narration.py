"""The narration module's words: one vocabulary for the analysis core, the modules and the report."""

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import ICMP_TYPES


def test_summaries_name_icmp_types_as_nft_does_and_put_syn_first():
    for name, number in ICMP_TYPES.items():
        assert narrate.summarize(dict(src="a", dst="b", proto="ICMP", icmp_type=number)) == "a > b ICMP " + name
    assert narrate.summarize(dict(src="a", dst="b", proto="ICMP", icmp_type=42)) == "a > b ICMP type 42"
    tcp = dict(src="a", dst="b", proto="TCP", sport=1, dport=2, tcp_flags=["ACK", "FIN", "SYN"])
    assert narrate.summarize(tcp) == "a:1 > b:2 TCP SYN,FIN,ACK"


def test_nat_text_names_the_rule_or_conntrack():
    rule = dict(table="nat", chain="DOCKER", rule=None, handle=15)
    assert narrate.nat_text("DNAT", "192.0.2.2:8080", "172.17.0.2:80", rule) == (
        "DNAT 192.0.2.2:8080 \u2192 172.17.0.2:80 by nat DOCKER rule handle 15")
    assert narrate.nat_text("conntrack", "172.17.0.2", None, None) == (
        "conntrack 172.17.0.2 \u2192 (address of the outgoing interface) by conntrack "
        "(the NAT of this connection, decided by its first packet)")


def test_packets_are_described_by_their_icmp_type():
    packet = dict(flow=dict(proto="ICMP", icmp_type=3, src="172.17.0.1", dst="172.17.0.2"), fate="dropped",
                  fate_at=dict(table="filter", chain="DOCKER", type="rule", rule=2, rule_text="-A DOCKER -j DROP"))
    assert narrate.fate_sentence(packet) == (
        "The ICMP destination unreachable from 172.17.0.1 to 172.17.0.2 was dropped by filter DOCKER rule 2 (-j DROP).")
    packet["flow"]["icmp_type"] = None
    assert narrate.describe(packet).startswith("the ICMP packet from")


def test_path_and_verdict_labels():
    assert narrate.path_label(["PREROUTING", "FORWARD"], "dropped", "DOCKER-ISOLATION-STAGE-2") == (
        "PRE\u2192FWD \u2717 DOCKER-ISOLATION-STAGE-2")
    assert narrate.path_label([], "unknown") == "no hooks ?"
    assert narrate.verdict_label(dict(fate="delivered", hops=[dict(out="docker0")])) == "\u2713 out docker0"
    assert narrate.verdict_label(dict(fate="delivered", hops=[dict(out="")])) == "\u2713 to local process"
    assert narrate.verdict_label(dict(fate="unknown")) == "? not followed further"
