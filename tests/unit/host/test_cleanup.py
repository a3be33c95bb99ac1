"""The cleaner against a fake host: finds by ownership, removes only what a run owns, idempotent."""

import json
import os
import signal

import pytest
from host_fakes import FakeDocker, FakeHost, fake_process

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import ownership
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.cleanup import Cleaner

RUN = "pf-20261201-aaaaaa"
LONGER = "pf-20261201-aaaaaab"
OTHER = "pf-20261201-bbbbbb"
FOREIGN_RULE = '-A PREROUTING -s 10.0.0.1/32 -m comment --comment "keep me" -j TRACE'


def rule(run_id, chain="PREROUTING"):
    return "-A %s -s 172.17.0.1/32 -p icmp -m comment --comment packetflow:%s -j TRACE" % (chain, run_id)


@pytest.fixture
def world(tmp_path):
    """Two runs' leftovers (RUN and OTHER), one whose id extends RUN's, and things nobody of ours made."""
    host, engine = FakeHost(), FakeDocker()
    for run_id in (RUN, OTHER, LONGER):
        names = ownership.Names(run_id)
        host.rules["nft"] += [rule(run_id), rule(run_id, "OUTPUT")]
        host.tables.add(("ip", names.nft_table))
        host.netns.add(names.netns)
        host.links.add(names.host_veth)
        engine.add("container", "web-" + names.short, names.labels)
        engine.add("network", names.network(0), names.labels)
    host.rules["nft"].append(FOREIGN_RULE)
    host.rules["legacy"].append(rule(RUN))
    host.tables |= {("ip", "filter"), ("inet", "firewalld")}
    host.netns.add("blue")
    host.links |= {"eth0", "docker0", "veth1a2b3c"}
    engine.add("container", "web1", {"app": "mine"})
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "ip_tables_names").write_text("raw\n")
    fake_process(proc, 101, {"PATH": "/bin", ownership.ENV_TAG: RUN})
    fake_process(proc, 102, {ownership.ENV_TAG: OTHER})
    fake_process(proc, 103, {"PATH": "/bin"})
    sysctl = tmp_path / "nf_log_all_netns"
    sysctl.write_text("1\n")
    state = ownership.State(RUN, str(tmp_path / "state"))
    state.data["sysctls"][str(sysctl)] = "0"
    state.data["pids"] = [101, 103]
    state.save()
    host.proc_root = str(proc)
    return {"host": host, "engine": engine, "proc": str(proc), "state_dir": str(tmp_path / "state"),
            "sysctl": sysctl, "state": state}


def cleaner(world, run_id=RUN, check_mode=False):
    return Cleaner(run_id, world["engine"], check_mode, runner=world["host"], state_dir=world["state_dir"],
                   proc_root=world["proc"])


def test_removes_what_one_run_owns_and_nothing_else(world):
    host, engine = world["host"], world["engine"]
    removed, errors = cleaner(world).run()
    names = ownership.Names(RUN)
    assert errors == []
    assert removed["processes"] == [101]
    assert host.killed == [(101, signal.SIGKILL)]
    assert len(removed["rules"]) == 3
    assert all(r.endswith("--comment packetflow:%s -j TRACE" % RUN) for r in removed["rules"])
    assert removed["nft_tables"] == ["table ip %s" % names.nft_table]
    assert removed["containers"] == ["web-aaaaaa"] and removed["networks"] == [names.network(0)]
    assert removed["netns"] == [names.netns] and removed["links"] == [names.host_veth]
    assert removed["sysctls"] == {str(world["sysctl"]): "0"}
    assert world["sysctl"].read_text() == "0"
    assert removed["state_files"] == [world["state"].path] and not os.path.exists(world["state_dir"])
    assert host.rules["legacy"] == []
    assert host.rules["nft"] == [rule(OTHER), rule(OTHER, "OUTPUT"), rule(LONGER), rule(LONGER, "OUTPUT"),
                                 FOREIGN_RULE]
    assert ("ip", "filter") in host.tables and ("inet", "firewalld") in host.tables
    assert "blue" in host.netns and ownership.Names(LONGER).netns in host.netns
    assert {"eth0", "docker0", "veth1a2b3c"} <= host.links
    assert sorted(o.name for o in engine.objects if o.kind == "container") == ["web-aaaaaab", "web-bbbbbb", "web1"]


def test_every_run_when_no_run_id_is_given(world):
    removed, errors = cleaner(world, run_id=None).run()
    assert errors == []
    assert sorted(removed["processes"]) == [101, 102]
    assert len(removed["rules"]) == 7
    assert world["host"].rules["nft"] == [FOREIGN_RULE]
    assert world["host"].netns == {"blue"} and world["host"].links == {"eth0", "docker0", "veth1a2b3c"}
    assert [o.name for o in world["engine"].objects] == ["web1"]


def test_a_second_cleanup_removes_nothing(world):
    cleaner(world).run()
    again = cleaner(world)
    removed, errors = again.run()
    assert errors == [] and not any(removed.values())
    assert again.diff() == {"before": removed, "after": removed}


def test_things_gone_meanwhile_are_no_error(world):
    host = world["host"]
    names = ownership.Names(RUN)
    host.vanishing = {RUN, names.nft_table, names.netns, names.host_veth}

    def died_meanwhile(pid, signum):
        os.remove(os.path.join(world["proc"], str(pid), "environ"))
        raise ProcessLookupError(3, "No such process")

    host.kill = died_meanwhile
    removed, errors = cleaner(world).run()
    assert errors == []
    assert removed["rules"] == [] and removed["nft_tables"] == [] and removed["netns"] == []
    assert removed["links"] == [] and removed["processes"] == []
    assert removed["state_files"] == [world["state"].path]


def test_a_container_removed_by_someone_else_is_no_error(world):
    engine = world["engine"]
    mine = engine.containers.list(filters={"label": "%s=%s" % (ownership.LABEL, RUN)})[0]
    real_remove = mine.remove

    def removed_first(force=False):
        real_remove(force=force)
        raise RuntimeError("404 Client Error: No such container")

    mine.remove = removed_first
    removed, errors = cleaner(world).run()
    assert errors == [] and removed["containers"] == []


def test_a_state_file_vanishing_while_read_is_no_error(world):
    os.symlink(os.path.join(world["state_dir"], "gone.json"), os.path.join(world["state_dir"], OTHER + ".json"))
    states, errors = ownership.load_states(None, world["state_dir"])
    assert errors == [] and [s["run_id"] for dummy, s in states] == [RUN]
    os.remove(world["state"].path)
    ownership.remove_state_file(world["state"].path)


def test_an_unreadable_state_file_is_an_error_and_kept(world):
    path = os.path.join(world["state_dir"], OTHER + ".json")
    with open(path, "w") as handle:
        handle.write("{not json")
    removed, errors = cleaner(world, run_id=None).run()
    assert len(errors) == 1 and OTHER in errors[0]
    assert removed["state_files"] == [] and os.path.exists(world["state"].path)


def test_check_mode_lists_and_changes_nothing(world):
    host = world["host"]
    before = (json.dumps(host.rules), sorted(host.tables), sorted(host.netns), sorted(host.links))
    listing = cleaner(world, check_mode=True)
    removed, errors = listing.run()
    assert errors == [] and removed["containers"] == ["web-aaaaaa"] and len(removed["rules"]) == 3
    assert (json.dumps(host.rules), sorted(host.tables), sorted(host.netns), sorted(host.links)) == before
    assert host.killed == [] and world["sysctl"].read_text() == "1\n" and os.path.exists(world["state"].path)
    assert listing.diff()["before"] == removed
    assert not any(listing.diff()["after"].values())
    assert not any(argv[0] in ("kill",) or "-D" in argv or "del" in argv or "delete" in argv for argv in host.calls)


def test_diff_after_holds_what_could_not_be_removed(world):
    names = ownership.Names(RUN)
    real = world["host"].answer

    def busy(argv):
        if argv[:3] == ["ip", "netns", "del"] and argv[3] == names.netns:
            return 1, "", "Device or resource busy"
        return real(argv)

    world["host"].answer = busy
    listing = cleaner(world)
    removed, errors = listing.run()
    assert errors == ["netns %s: Device or resource busy" % names.netns]
    assert listing.diff()["after"]["netns"] == [names.netns]
    assert listing.diff()["before"]["netns"] == [names.netns]
    assert removed["state_files"] == [] and os.path.exists(world["state"].path)


def test_legacy_raw_table_is_not_read_when_not_loaded(world):
    os.remove(os.path.join(world["proc"], "net", "ip_tables_names"))
    cleaner(world).run()
    assert not any(argv[0].startswith("iptables-legacy") for argv in world["host"].calls)


def test_a_live_run_is_left_alone(world):
    other = ownership.State(OTHER, world["state_dir"])
    other.save()
    lock = ownership.hold_lock(OTHER, world["state_dir"])
    try:
        alone = cleaner(world, run_id=OTHER)
        removed, errors = alone.run()
        assert errors == [] and not any(removed.values()) and alone.live == [OTHER]
        everything = cleaner(world, run_id=None)
        removed, errors = everything.run()
    finally:
        os.close(lock)
    names = ownership.Names(OTHER)
    assert errors == [] and everything.live == [OTHER]
    assert removed["processes"] == [101] and removed["state_files"] == [world["state"].path]
    assert world["host"].rules["nft"] == [rule(OTHER), rule(OTHER, "OUTPUT"), FOREIGN_RULE]
    assert ("ip", names.nft_table) in world["host"].tables and names.netns in world["host"].netns
    assert names.host_veth in world["host"].links and os.path.exists(other.path)
    assert sorted(o.name for o in world["engine"].objects) == [names.network(0), "web-bbbbbb", "web1"]
    removed, errors = cleaner(world, run_id=OTHER).run()
    assert errors == [] and removed["containers"] == ["web-bbbbbb"] and not os.path.exists(other.path)


def test_a_lock_left_without_state_goes_unless_held(world):
    stale = ownership.lock_path(OTHER, world["state_dir"])
    os.close(os.open(stale, os.O_CREAT | os.O_WRONLY, 0o600))
    held = ownership.hold_lock(LONGER, world["state_dir"])
    try:
        removed, errors = cleaner(world, run_id=None).run()
    finally:
        os.close(held)
    assert errors == [] and stale in removed["state_files"] and not os.path.exists(stale)
    assert os.path.exists(ownership.lock_path(LONGER, world["state_dir"]))
