"""IPv6 runs on the host side: the tracer's ip6tables and ip6 commands, the reader it picks, the addresses that
tell its kernel log lines, cleanup of ip6tables rules, ULA and documentation subnets, and the refusals."""

import ipaddress

import pytest
from host_fakes import FakeHost, FakeRunner, Recorder

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import family
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.cleanup import Cleaner
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.trace_scope import (
    flow_addresses,
    iptables_matches,
    nft_matches,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.tracer import Tracer

RUN = "pf-20261202-abcdef"
TAG = "packetflow:" + RUN
LEGS = [{"src": "fd00:70f:1::1", "dst": "fd00:70f:1::242:ac11:2", "proto": "icmp"}]


def test_ipv6_matches_name_ip6_and_icmpv6():
    leg = dict(LEGS[0])
    assert iptables_matches(leg) == ["-s", leg["src"], "-d", leg["dst"], "-p", "ipv6-icmp"]
    assert nft_matches(leg) == "ip6 saddr %s ip6 daddr %s meta l4proto ipv6-icmp" % (leg["src"], leg["dst"])
    tcp = {"src": "2001:db8:1::2", "dst": "2001:db8:1::1", "proto": "tcp", "dport": 8080}
    assert nft_matches(tcp) == "ip6 saddr 2001:db8:1::2 ip6 daddr 2001:db8:1::1 tcp dport 8080"
    assert iptables_matches({"src": "172.17.0.1", "proto": "icmp"}) == ["-s", "172.17.0.1", "-p", "icmp"]


def test_kernel_log_addresses_match_in_their_32_digit_form():
    found = flow_addresses(LEGS)
    assert "fd00:70f:1::1" in found and "fd00:070f:0001:0000:0000:0000:0000:0001" in found
    tracer = Tracer("legacy", RUN, LEGS, "/tmp", runner=FakeRunner())
    line = ("TRACE: raw:PREROUTING:policy:2 IN=docker0 OUT= SRC=fd00:070f:0001:0000:0000:0242:ac11:0002 "
            "DST=fd00:070f:0001:0000:0000:0000:0000:0001 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=129 ")
    assert tracer._ours(line)
    assert not tracer._ours(line.replace("0242:ac11:0002", "0242:ac11:0009").replace("0000:0001 LEN", "0000:0009 LEN"))


@pytest.mark.parametrize("backend", ["legacy", "nft"])
def test_ip6tables_trace_rules_go_in_one_ip6tables_restore_and_come_out_again(tmp_path, backend):
    runner = Recorder()
    runner.on(["nft", "list", "table", "ip6", "raw"], rc=1)
    tracer = Tracer(backend, RUN, LEGS, str(tmp_path), runner=runner)
    remembered = []
    tracer.arm(remember=remembered.append)
    tool = "ip6tables-%s-restore" % backend
    assert [call[0] for call in runner.calls if call[0].endswith("restore")] == [tool]
    lines = runner.restored[0]
    assert lines[0] == "*raw" and lines[-1] == "COMMIT" and len(lines) == 6
    assert all(line.startswith("-I ") and "-p ipv6-icmp" in line and TAG in line for line in lines[1:-1])
    assert {line.split()[1] for line in lines[1:-1]} == {"PREROUTING", "OUTPUT"}
    if backend == "nft":
        # ip6tables-nft makes table ip6 raw and its chains: remembered first, removed once empty.
        assert remembered == [[["chain", "ip6", "raw", "PREROUTING"], ["chain", "ip6", "raw", "OUTPUT"],
                               ["table", "ip6", "raw"]]]
        assert tracer.reader == "nftables" and tracer.trace_format == "nft-monitor"
    else:
        assert remembered == [] and tracer.trace_format == "legacy"
    tracer.disarm()
    assert all(line.startswith("-D ") for line in runner.restored[1][1:-1])


def test_nftables_back_end_traces_ipv6_in_an_ip6_table_of_its_own(tmp_path):
    runner = FakeRunner()
    tracer = Tracer("nftables", RUN, LEGS, str(tmp_path), runner=runner)
    tracer.arm()
    assert runner.calls[0] == ["nft", "add", "table", "ip6", "pf_pf_20261202_abcdef"]
    assert all("ip6 saddr" in call[1] for call in runner.calls if call[1].startswith("add rule"))
    tracer.disarm()
    assert runner.calls[-1] == ["nft", "delete", "table", "ip6", "pf_pf_20261202_abcdef"]


def test_cleanup_finds_ip6tables_trace_rules_on_both_back_ends(tmp_path):
    host = FakeHost()
    mine = "-A PREROUTING -s fd00:70f:1::1/128 -p ipv6-icmp -m comment --comment %s -j TRACE" % TAG
    other = mine.replace(RUN, "pf-20261202-bbbbbb")
    host.rules["nft6"] += [mine, other]
    host.rules["legacy6"] += [mine.replace("PREROUTING", "OUTPUT")]
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "ip6_tables_names").write_text("raw\n")
    host.proc_root = str(proc)
    removed, errors = Cleaner(RUN, None, runner=host, state_dir=str(tmp_path / "state"), proc_root=str(proc)).run()
    assert errors == [] and len(removed["rules"]) == 2
    assert host.rules["nft6"] == [other] and host.rules["legacy6"] == []
    assert any(r.startswith("ip6tables-legacy -w 5 -t raw -D OUTPUT") for r in removed["rules"])


def test_legacy_ip6tables_raw_is_not_read_unless_loaded(tmp_path):
    host = FakeHost()
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    host.proc_root = str(proc)
    Cleaner(RUN, None, runner=host, state_dir=str(tmp_path / "state"), proc_root=str(proc)).run()
    assert not any(call[0].startswith("ip6tables-legacy") for call in host.calls)
    assert ["ip6tables-nft-save", "-t", "raw"] in host.calls


def test_free_subnets_avoid_what_is_used_and_stay_in_their_range():
    used = [ipaddress.ip_network("fd00::/64")]
    picks = iter([b"\0" * 16, b"\0" * 15 + b"\x07"])  # the first candidate, fd00::/48, overlaps fd00::/64
    net = family.free_subnet6("fd00::/8", 48, used, random_bytes=lambda n: next(picks))
    assert net == ipaddress.ip_network("fd00:0:7::/48")
    doc = family.free_subnet6("2001:db8::/32", 64, [])
    assert doc.subnet_of(ipaddress.ip_network("2001:db8::/32")) and doc.prefixlen == 64
    assert family.free_subnet6("fd00::/8", 48, [ipaddress.ip_network("fd00::/8")], tries=3) is None


@pytest.mark.parametrize("facts, words", [
    ({"docker_ipv6": False}, ("EnableIPv6 false", "docker_engine_ipv6", "docker_engine_fixed_cidr_v6",
                              "experimental")),
    ({"docker_ipv6": True, "docker_ip6tables": False}, ("ip6tables is off", "docker_engine_ip6tables")),
    ({"docker_ipv6": True, "docker_ip6tables": True, "backend": "legacy", "nf_log_ipv6": "NONE"},
     ("nf_log.10 is NONE", "dockernet.packetflow.nf_log")),
])
def test_ipv6_refusals_name_the_fix(facts, words):
    with pytest.raises(RuntimeError) as err:
        family.check_ipv6(facts, "cross_network")
    assert "family=ipv6" in str(err.value) and "cross_network" in str(err.value)
    for word in words:
        assert word in str(err.value)


def test_a_host_ready_for_ipv6_is_not_refused():
    family.check_ipv6({"docker_ipv6": True, "docker_ip6tables": True, "backend": "nft"}, "cross_network")


def test_docker_ip6tables_reads_where_docker_keeps_its_ipv6_rules():
    def saved(out, rc=0):
        return lambda argv: (rc, out, "")
    assert family.docker_ip6tables("nft", saved("*filter\n:DOCKER - [0:0]\n"))
    assert not family.docker_ip6tables("nft", saved("*filter\n:FORWARD ACCEPT [0:0]\n"))
    assert family.docker_ip6tables("nftables", saved("", 0)) and not family.docker_ip6tables("nftables", saved("", 1))
    assert not family.docker_ip6tables(None, saved(":DOCKER "))
