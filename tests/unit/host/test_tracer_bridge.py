"""Bridge-layer tracing: the exact arm and disarm commands per back end, their ownership and their cleanup,
and the bridge-family events xtables-monitor prints."""

from host_fakes import FakeRunner

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys
from ansible_collections.dockernet.packetflow.plugins.module_utils.host import ownership
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.cleanup import Cleaner
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.trace_scope import directions, nft_matches
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.tracer import Tracer
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.tracer_bridge import (
    BridgeTrace,
    ebtables_matches,
)

RUN = "pf-20261201-abcdef"
TAG = "packetflow:" + RUN
TABLE = "pf_pf_20261201_abcdef_br"
LEGS = directions([{"src": "172.18.0.2", "dst": "172.18.0.3", "proto": "icmp"}])
HOOKS = [("nat", "PREROUTING"), ("filter", "INPUT"), ("filter", "FORWARD"), ("filter", "OUTPUT"),
         ("nat", "POSTROUTING")]


def bridge(backend, runner):
    return BridgeTrace(backend, RUN, LEGS, nft_matches, runner=runner)


def test_nft_back_ends_make_a_bridge_table_of_the_run_and_delete_it():
    for backend in ("nft", "nftables"):
        runner = FakeRunner()
        trace = bridge(backend, runner)
        remembered = []
        trace.arm(remembered.append)
        rule = 'add rule bridge %s %s ip saddr %s ip daddr %s meta l4proto icmp meta nftrace set 1 comment "%s"'
        statements = ["add table bridge " + TABLE]
        for hook in ("prerouting", "input", "forward", "output", "postrouting"):
            chain = hook.upper()
            add_chain = "add chain bridge %s %s { type filter hook %s priority -310 ; }"
            statements.append(add_chain % (TABLE, chain, hook))
            statements += [rule % (TABLE, chain, "172.18.0.2", "172.18.0.3", TAG),
                           rule % (TABLE, chain, "172.18.0.3", "172.18.0.2", TAG)]
        # One nft call, so one transaction: the table comes whole or not at all.
        assert runner.calls == [["nft", "; ".join(statements)]] and remembered == []
        runner.calls = []
        assert trace.disarm() == [] and runner.calls == [["nft", "delete", "table", "bridge", TABLE]]
        runner.calls = []
        assert trace.disarm() == [] and runner.calls == []


def test_legacy_logs_in_ebtables_chains_of_the_run_and_removes_them_and_the_tables_ebtables_nft_made():
    runner = FakeRunner().on(["nft", "list", "table", "bridge"], rc=1, err="Error: No such file or directory")
    trace = bridge("legacy", runner)
    remembered = []
    trace.arm(remembered.append)
    created = [["chain", "bridge", "filter", "INPUT"], ["chain", "bridge", "filter", "FORWARD"],
               ["chain", "bridge", "filter", "OUTPUT"], ["table", "bridge", "filter"],
               ["chain", "bridge", "nat", "PREROUTING"], ["chain", "bridge", "nat", "POSTROUTING"],
               ["chain", "bridge", "nat", "OUTPUT"], ["table", "bridge", "nat"]]
    assert remembered == [created]
    arming = runner.calls[2:]
    assert arming[:4] == [
        ["ebtables", "-t", "nat", "-N", "pf-abcdef-PREROUTING", "-P", "RETURN"],
        ["ebtables", "-t", "nat", "-I", "PREROUTING", "1", "-j", "pf-abcdef-PREROUTING"],
        ["ebtables", "-t", "nat", "-A", "pf-abcdef-PREROUTING", "-p", "IPv4", "--ip-src", "172.18.0.2",
         "--ip-dst", "172.18.0.3", "--ip-proto", "icmp", "--log-level", "warning", "--log-ip", "--log-ip6",
         "--log-prefix", "TRACE: eb:nat:PREROUTING"],
        ["ebtables", "-t", "nat", "-A", "pf-abcdef-PREROUTING", "-p", "IPv4", "--ip-src", "172.18.0.3",
         "--ip-dst", "172.18.0.2", "--ip-proto", "icmp", "--log-level", "warning", "--log-ip", "--log-ip6",
         "--log-prefix", "TRACE: eb:nat:PREROUTING"]]
    assert [argv[4] for argv in arming if argv[3] == "-I"] == [base for dummy, base in HOOKS]
    runner.calls, runner.canned = [], []
    empty = "table bridge filter {\n\tchain FORWARD {\n\t\ttype filter hook forward priority filter;\n\t}\n}\n"
    runner.on(["nft", "list", "chain"], out=empty).on(["nft", "list", "table"], out="table bridge filter {\n}\n")
    assert trace.disarm() == []
    undo = [argv for argv in runner.calls if argv[0] == "ebtables"]
    assert undo[:3] == [["ebtables", "-t", "nat", "-D", "POSTROUTING", "-j", "pf-abcdef-POSTROUTING"],
                        ["ebtables", "-t", "nat", "-F", "pf-abcdef-POSTROUTING"],
                        ["ebtables", "-t", "nat", "-X", "pf-abcdef-POSTROUTING"]]
    assert len(undo) == 15
    assert [argv[2:] for argv in runner.calls if argv[:2] == ["nft", "delete"]] == created


def test_a_bridge_table_someone_else_uses_stays_and_a_failed_chain_removal_is_reported():
    runner = FakeRunner().on(["nft", "list", "table", "bridge"], rc=1)
    trace = bridge("legacy", runner)
    trace.arm()
    runner.calls, runner.canned = [], []
    runner.on(["ebtables", "-t", "filter", "-X"], rc=1, err="Chain busy")
    busy = "table bridge filter {\n\tchain FORWARD {\n\t\ttype filter;\n\t\tlog\n\t}\n}\n"
    runner.on(["nft", "list", "chain"], out=busy)
    runner.on(["nft", "list", "table"], out="table bridge filter {\n\tchain FORWARD {\n\t}\n}\n")
    assert trace.disarm() == ["Chain busy"] * 3
    assert not [argv for argv in runner.calls if argv[:2] == ["nft", "delete"]]


def test_ebtables_matches_per_family_and_protocol():
    assert ebtables_matches({"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "tcp", "sport": None, "dport": 80}) == [
        "-p", "IPv4", "--ip-src", "10.0.0.1", "--ip-dst", "10.0.0.2", "--ip-proto", "tcp", "--ip-dport", "80"]
    assert ebtables_matches({"src": "fd00::2", "dst": "fd00::3", "proto": "icmp"}) == [
        "-p", "IPv6", "--ip6-src", "fd00::2", "--ip6-dst", "fd00::3", "--ip6-proto", "ipv6-icmp"]


def test_the_tracer_arms_the_bridge_layer_only_when_asked_and_never_inside_a_container(tmp_path):
    legs = [{"src": "172.18.0.2", "dst": "172.18.0.3", "proto": "icmp"}]
    assert not [r for r in Tracer("legacy", RUN, legs, str(tmp_path)).plan() if r.startswith("ebtables")]
    assert len([r for r in Tracer("legacy", RUN, legs, str(tmp_path), bridge=True).plan()
                if r.startswith("ebtables")]) == 20
    assert Tracer("nft", RUN, legs, str(tmp_path), pid=4242, bridge=True).bridge is None
    runner = FakeRunner()
    tracer = Tracer("nftables", RUN, legs, str(tmp_path), runner=runner, bridge=True)
    tracer.arm()
    assert [argv for argv in runner.calls if argv[1].startswith("add table bridge %s; " % TABLE)]
    runner.calls = []
    tracer.disarm()
    assert ["nft", "delete", "table", "bridge", TABLE] in runner.calls


def test_ownership_names_the_bridge_table_and_the_ebtables_chains():
    names = ownership.Names(RUN)
    assert names.nft_bridge_table == TABLE and names.eb_chain("FORWARD") == "pf-abcdef-FORWARD"
    assert ownership.owns_table(TABLE, RUN) and ownership.owns_table(TABLE)
    assert ownership.owns_eb_chain("pf-abcdef-POSTROUTING", RUN) and ownership.owns_eb_chain("pf-abcdef-INPUT")
    assert not ownership.owns_eb_chain("pf-abcdef-INPUT", "pf-20261201-bbbbbb")
    assert not ownership.owns_eb_chain("pf-abcdef-mine") and not ownership.owns_eb_chain("FORWARD")


def test_cleanup_removes_a_dead_runs_ebtables_chains_and_spares_others(tmp_path):
    listing = ("Bridge table: filter\n\nBridge chain: FORWARD, entries: 2, policy: ACCEPT\n-j pf-abcdef-FORWARD\n"
               "-j pf-bbbbbb-FORWARD\n\nBridge chain: pf-abcdef-FORWARD, entries: 1, policy: RETURN\n"
               "Bridge chain: pf-bbbbbb-FORWARD, entries: 1, policy: RETURN\nBridge chain: mine, entries: 0\n")
    runner = FakeRunner().on(["ebtables", "-t", "filter", "-L"], out=listing)
    removed, errors = Cleaner(RUN, None, runner=runner, state_dir=str(tmp_path), proc_root=str(tmp_path)).run()
    assert errors == [] and removed["rules"] == ["ebtables -t filter pf-abcdef-FORWARD"]
    assert [argv for argv in runner.calls if argv[0] == "ebtables" and argv[3] != "-L"] == [
        ["ebtables", "-t", "filter", "-D", "FORWARD", "-j", "pf-abcdef-FORWARD"],
        ["ebtables", "-t", "filter", "-F", "pf-abcdef-FORWARD"],
        ["ebtables", "-t", "filter", "-X", "pf-abcdef-FORWARD"]]


def test_xtables_monitor_bridge_events_join_the_ip_hops_of_their_packet():
    # Recorded here (xtables-monitor 1.8.9, kernel 6.18): a ping across a scratch bridge with a bridge table
    # setting nftrace beside iptables-nft TRACE; bridge PACKET lines carry the IP header only as NH= hex,
    # bytes of 0x80 and up sign-extended.
    lines = [
        "PACKET: 7 354181a1 IN=pfx-a-p MACSRC=52:35:2a:cf:fc:25 MACDST=ba:94:b9:ef:4d:f0 MACPROTO=0800 "
        "NH=450000547f794000400166ffffffb1ffffffc633640bffffffc633640c ",
        " TRACE: 7 354181a1 pf_x:PREROUTING:rule:0x4:CONTINUE  ",
        "PACKET: 2 354181a1 IN=pfxbr0 MACSRC=52:35:2a:cf:fc:25 MACDST=ba:94:b9:ef:4d:f0 MACPROTO=0800 "
        "SRC=198.51.100.11 DST=198.51.100.12 LEN=84 TOS=0x0 TTL=64 ID=32633 DF ",
        " TRACE: 2 354181a1 raw:PREROUTING:rule:0x2:CONTINUE  -4 -t raw -A PREROUTING -s 198.51.100.11/32 -j TRACE",
        "PACKET: 7 354181a1 IN=pfx-a-p OUT=pfx-b-p MACSRC=52:35:2a:cf:fc:25 MACDST=ba:94:b9:ef:4d:f0 MACPROTO=0800 "
        "NH=450000547f794000400166ffffffb1ffffffc633640bffffffc633640c ",
        " TRACE: 7 354181a1 pf_x:FORWARD:policy:ACCEPT ",
        "PACKET: 7 354181a1 OUT=pfx-b-p LL=0x0 ffffffbaffffff94ffffffb9ffffffef4dfffffff052352affffffcffffffffc250800 "
        "NH=450000547f794000400166ffffffb1ffffffc633640bffffffc633640c ",
        " TRACE: 7 354181a1 pf_x:POSTROUTING:policy:ACCEPT ",
    ]
    result = build_journeys(lines, trace_format="xtables-monitor")
    assert result["unparsed"] == []
    (packet,) = result["packets"]
    assert [(hop["family"], hop["table"], hop["hook"], hop["in"], hop["out"]) for hop in packet["hops"]] == [
        ("bridge", "pf_x", "PREROUTING", "pfx-a-p", ""),
        ("ip", "raw", "PREROUTING", "pfxbr0", ""),
        ("bridge", "pf_x", "FORWARD", "pfx-a-p", "pfx-b-p"),
        ("bridge", "pf_x", "POSTROUTING", "", "pfx-b-p"),
    ]
    first = packet["hops"][0]
    assert (first["src"], first["dst"], first["ip_id"], first["ttl"], first["len"]) == (
        "198.51.100.11", "198.51.100.12", 32633, 64, 84)
    assert packet["fate"] == "delivered"


def test_a_syn_dropped_in_iptables_forward_is_not_delivered_by_its_bridge_hops():
    # Recorded here like the ping above, with an iptables-nft DROP in FORWARD for tcp/80: the bridge's FORWARD
    # hook runs before iptables' FORWARD, so the frame's bridge hops end there and decide nothing.
    nh = "NH=4500003c2fffffffed40004006ffffffb650ffffffc633640bffffffc633640c "
    ip = "SRC=198.51.100.11 DST=198.51.100.12 LEN=60 TOS=0x0 TTL=64 ID=12269 DF SPORT=33442 DPORT=80 SYN "
    lines = [
        "PACKET: 7 fc487c77 IN=pfx-a-p MACSRC=62:13:93:1f:10:74 MACDST=26:a5:b:86:41:2 MACPROTO=0800 " + nh,
        " TRACE: 7 fc487c77 pf_x:PREROUTING:policy:ACCEPT ",
        "PACKET: 2 fc487c77 IN=pfxbr0 MACSRC=62:13:93:1f:10:74 MACDST=26:a5:b:86:41:2 MACPROTO=0800 " + ip,
        " TRACE: 2 fc487c77 raw:PREROUTING:policy:ACCEPT ",
        "PACKET: 7 fc487c77 IN=pfx-a-p OUT=pfx-b-p MACSRC=62:13:93:1f:10:74 MACDST=26:a5:b:86:41:2 MACPROTO=0800 " + nh,
        " TRACE: 7 fc487c77 pf_x:FORWARD:policy:ACCEPT ",
        "PACKET: 2 fc487c77 IN=pfxbr0 OUT=pfxbr0 MACSRC=62:13:93:1f:10:74 MACDST=26:a5:b:86:41:2 MACPROTO=0800 " + ip,
        " TRACE: 2 fc487c77 filter:FORWARD:rule:0x2:DROP  -4 -t filter -A FORWARD -s 198.51.100.11/32 -p tcp -m tcp "
        "--dport 80 -j DROP",
    ]
    packets = build_journeys(lines, trace_format="xtables-monitor")["packets"]
    assert sorted((packet["hops"][0]["family"], packet["fate"]) for packet in packets) == [
        ("bridge", "unknown"),
        ("ip", "dropped"),
    ]
