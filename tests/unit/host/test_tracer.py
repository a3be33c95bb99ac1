"""Tracer arm and disarm: the exact commands on each back end, and disarm undoing arm in reverse."""

import os

from host_fakes import FakeRunner, Recorder

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.tracer import Tracer

RUN = "pf-20261201-abcdef"
TAG = "packetflow:" + RUN
LEGS = [{"src": "172.17.0.1", "dst": "172.17.0.2", "proto": "icmp"}]


def iptables(backend, action, chain, src, dst, position=()):
    return (["iptables-%s" % backend, "-w", "5", "-t", "raw", action, chain] + list(position)
            + ["-s", src, "-d", dst, "-p", "icmp", "-m", "comment", "--comment", TAG, "-j", "TRACE"])


def restore(backend, tmp_path, prefix=()):
    wait = ["-w", "5"] if backend == "legacy" else []
    tool = ["iptables-%s-restore" % backend, "--noflush"]
    return list(prefix) + tool + wait + [str(tmp_path / "trace-rules.restore")]


def transaction(commands):
    """What iptables-restore is given for these iptables commands: one raw-table transaction."""
    return ["*raw"] + [" ".join(argv[5:]) for argv in commands] + ["COMMIT"]


def armed(backend, runner, tmp_path, pid=None):
    tracer = Tracer(backend, RUN, LEGS, str(tmp_path), pid=pid, runner=runner)
    remembered = []
    tracer.arm(remember=remembered.append)
    return tracer, remembered


def test_legacy_inserts_at_position_1_both_chains_both_directions_and_deletes_in_reverse(tmp_path):
    runner = Recorder()
    tracer, remembered = armed("legacy", runner, tmp_path)
    inserts = [iptables("legacy", "-I", chain, src, dst, ["1"])
               for chain in ("PREROUTING", "OUTPUT")
               for src, dst in (("172.17.0.1", "172.17.0.2"), ("172.17.0.2", "172.17.0.1"))]
    assert runner.calls == [restore("legacy", tmp_path)] and remembered == []
    assert runner.restored == [transaction(inserts)]
    runner.calls = []
    assert tracer.disarm() == []
    deletes = [iptables("legacy", "-D", argv[6], argv[9], argv[11]) for argv in reversed(inserts)]
    assert runner.calls == [restore("legacy", tmp_path)] and runner.restored[1] == transaction(deletes)
    assert not os.path.exists(tmp_path / "trace-rules.restore")
    runner.calls = []
    assert tracer.disarm() == [] and runner.calls == []


EMPTY_RAW = ("table ip raw {\n\tchain PREROUTING {\n\t\ttype filter hook prerouting priority raw; policy accept;\n"
             "\t}\n\tchain OUTPUT {\n\t\ttype filter hook output priority raw; policy accept;\n\t}\n}\n")


def test_nft_remembers_the_raw_objects_it_creates_and_removes_them_after_the_rules(tmp_path):
    runner = Recorder().on(["nft", "list", "table"], rc=1)
    tracer, remembered = armed("nft", runner, tmp_path)
    created = [["chain", "ip", "raw", "PREROUTING"], ["chain", "ip", "raw", "OUTPUT"], ["table", "ip", "raw"]]
    assert remembered == [created]
    assert runner.calls == [["nft", "list", "table", "ip", "raw"], restore("nft", tmp_path)]
    inserts = [iptables("nft", "-I", chain, src, dst, ["1"])
               for chain in ("PREROUTING", "OUTPUT")
               for src, dst in (("172.17.0.1", "172.17.0.2"), ("172.17.0.2", "172.17.0.1"))]
    assert runner.restored == [transaction(inserts)]
    runner.calls, runner.canned = [], []
    runner.on(["nft", "list", "table", "ip", "raw"], out=EMPTY_RAW)
    assert tracer.disarm() == []
    deletes = [iptables("nft", "-D", argv[6], argv[9], argv[11]) for argv in reversed(inserts)]
    assert runner.restored[1] == transaction(deletes)
    assert runner.calls == [restore("nft", tmp_path), ["nft", "list", "table", "ip", "raw"],
                            ["nft", "delete chain ip raw PREROUTING; delete chain ip raw OUTPUT; delete table ip raw"]]


def test_nft_keeps_existing_raw_chains_and_only_makes_the_missing_one(tmp_path):
    listing = ("table ip raw {\n\tchain PREROUTING {\n"
               "\t\ttype filter hook prerouting priority raw; policy accept;\n"
               "\t\tip daddr 172.17.0.2 iifname != \"docker0\" counter drop\n\t}\n}\n")
    runner = Recorder().on(["nft", "list", "table"], out=listing)
    tracer, remembered = armed("nft", runner, tmp_path)
    assert remembered == [[["chain", "ip", "raw", "OUTPUT"]]]
    runner.calls = []
    tracer.disarm()
    assert runner.calls[-1] == ["nft", "list", "table", "ip", "raw"]  # OUTPUT is gone already: nothing to delete


def test_nft_leaves_a_raw_table_that_still_holds_chains_and_chains_that_hold_rules(tmp_path):
    runner = Recorder().on(["nft", "list", "table"], rc=1)
    tracer, dummy = armed("nft", runner, tmp_path)
    runner.canned = []
    listing = EMPTY_RAW.replace("accept;\n\t}\n\tchain OUTPUT", "accept;\n\t\tcounter\n\t}\n\tchain OUTPUT")
    runner.on(["nft", "list", "table", "ip", "raw"], out=listing + "table ip raw {\n\tchain OTHER {\n\t}\n}\n")
    runner.calls = []
    tracer.disarm()
    assert runner.calls[-1] == ["nft", "delete chain ip raw OUTPUT"]


def test_nftables_makes_a_table_of_its_own_and_deletes_it(tmp_path):
    runner = FakeRunner()
    tracer, dummy = armed("nftables", runner, tmp_path)
    table = "pf_pf_20261201_abcdef"
    rule = 'add rule ip %s %s ip saddr %s ip daddr %s meta l4proto icmp meta nftrace set 1 comment "%s"'
    assert runner.calls == [
        ["nft", "add", "table", "ip", table],
        ["nft", "add chain ip %s prerouting { type filter hook prerouting priority -350 ; }" % table],
        ["nft", rule % (table, "prerouting", "172.17.0.1", "172.17.0.2", TAG)],
        ["nft", rule % (table, "prerouting", "172.17.0.2", "172.17.0.1", TAG)],
        ["nft", "add chain ip %s output { type filter hook output priority -350 ; }" % table],
        ["nft", rule % (table, "output", "172.17.0.1", "172.17.0.2", TAG)],
        ["nft", rule % (table, "output", "172.17.0.2", "172.17.0.1", TAG)]]
    runner.calls = []
    assert tracer.disarm() == []
    assert runner.calls == [["nft", "delete", "table", "ip", table]]


def test_inside_a_container_every_command_enters_its_namespace(tmp_path):
    runner = FakeRunner()
    tracer, remembered = armed("nft", runner, tmp_path, pid=4242)
    assert all(argv[:2] == ["nsenter", "--net=/proc/4242/ns/net"] for argv in runner.calls)
    assert remembered == []
    runner.calls = []
    tracer.disarm()
    assert runner.calls and all(argv[:2] == ["nsenter", "--net=/proc/4242/ns/net"] for argv in runner.calls)


def test_a_failed_delete_is_reported_rule_by_rule(tmp_path):
    runner = Recorder()
    tracer, dummy = armed("legacy", runner, tmp_path)
    runner.on(["iptables-legacy-restore"], rc=1, err="iptables-restore: line 2 failed")
    runner.on(["iptables-legacy"], rc=1, err="iptables: Bad rule")
    assert tracer.disarm() == ["iptables: Bad rule"] * 4


def test_a_failed_insert_leaves_nothing_armed(tmp_path):
    runner = Recorder().on(["iptables-legacy-restore"], rc=2, err="iptables-restore: line 2 failed")
    tracer = Tracer("legacy", RUN, LEGS, str(tmp_path), runner=runner)
    try:
        tracer.arm()
    except RuntimeError as exc:
        assert "line 2 failed" in str(exc)
    else:
        raise AssertionError("arm() did not fail")
    runner.calls = []
    assert tracer.disarm() == [] and runner.calls == []


def test_plan_is_the_arm_commands(tmp_path):
    runner = Recorder()
    tracer, dummy = armed("legacy", runner, tmp_path)
    plan = Tracer("legacy", RUN, LEGS, str(tmp_path), runner=FakeRunner()).plan()
    assert transaction([line.split() for line in plan]) == runner.restored[0]


def recorded_line(port):
    """A real legacy TRACE line (tests/unit/fixtures/traces/legacy-published_port.kmsg), its port changed."""
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "traces", "legacy-published_port.kmsg")
    line = next(text for text in open(path, encoding="utf-8") if "PROTO=TCP" in text and "DPT=18080" in text)
    return line.rstrip("\n").replace("DPT=18080", "DPT=%d" % port)


def test_kernel_lines_of_another_host_on_the_same_addresses_are_told_apart_by_port(tmp_path):
    # Two Docker hosts on one kernel both trace 192.0.2.2 -> 192.0.2.2: only this run's port is ours.
    legs = [{"src": "192.0.2.2", "dst": "192.0.2.2", "proto": "tcp", "dport": 18080}]
    tracer = Tracer("legacy", RUN, legs, str(tmp_path), runner=FakeRunner())
    assert tracer._ours(recorded_line(18080))
    assert not tracer._ours(recorded_line(18081))
    # The reply carries the port as its source.
    assert tracer._ours(recorded_line(40000).replace("SPT=38504", "SPT=18080"))


def test_a_leg_without_ports_keeps_every_port(tmp_path):
    legs = [{"src": "192.0.2.2", "dst": "192.0.2.2", "proto": "tcp"}]
    tracer = Tracer("legacy", RUN, legs, str(tmp_path), runner=FakeRunner())
    assert tracer._ours(recorded_line(18081))
    assert not Tracer("legacy", RUN, [dict(legs[0], src="10.0.0.1", dst="10.0.0.2")], str(tmp_path),
                      runner=FakeRunner())._ours(recorded_line(18081))
