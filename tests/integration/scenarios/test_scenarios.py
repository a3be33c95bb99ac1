"""Every scenario end to end on the real engine, clean-up included, and bad input."""

import json
import os
import signal
import socket
import subprocess
import time

import pytest
from conftest import COLLECTIONS, MODULES, PYTHON, run_module, sh, snapshot

SCENARIOS = ["host_to_container", "container_to_host", "container_to_container", "cross_network", "published_port",
             "external_to_published", "container_to_external", "host_network", "none_network"]
NAMES = {"name": "pft-web1", "second_name": "pft-web2", "port": 0}
CONTRACT_KEYS = {"scenario", "description", "run_id", "started", "seconds", "host", "topology", "traffic", "packets",
                 "expected", "observed", "passed", "explanation", "ruleset", "artifacts", "stats", "warnings_list",
                 "error"}
ALL_NETNS = "/proc/sys/net/netfilter/nf_log_all_netns"
HOST = "ansible_collections.dockernet.packetflow.plugins.module_utils.host."


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_reaches_its_expected_fate(scenario, unchanged, tmp_path):
    result = run_module("packetflow_scenario", dict(NAMES, scenario=scenario, workdir=str(tmp_path)))
    assert not result.get("failed"), result.get("msg")
    assert result["passed"] and result["error"] is None
    assert result["observed"]["fate"] == result["expected"]["fate"]
    assert result["run_id"].startswith("pf-")
    assert result["host"]["backend"] in ("legacy", "nft", "nftables")
    assert result["artifacts"]["pcaps"] and all(os.path.exists(p) for p in result["artifacts"]["pcaps"].values())
    assert os.path.exists(result["artifacts"]["trace_log"])
    assert result["stats"]["kernel_drops"] == 0
    assert result["stats"]["trace_events"] > 0 or not result["expected"]["via"]
    assert result["explanation"]
    assert CONTRACT_KEYS <= set(result), CONTRACT_KEYS - set(result)


def test_study_defaults_web1_and_8080(unchanged, tmp_path):
    result = run_module("packetflow_scenario", {"scenario": "host_to_container", "workdir": str(tmp_path)})
    assert not result.get("failed"), result.get("msg")
    assert result["topology"]["containers"][0]["name"] == "web1"
    assert "8080" in result["ruleset"]["text"]


def test_check_mode_reports_the_plan_and_touches_nothing(unchanged, tmp_path):
    args = dict(NAMES, scenario="external_to_published", workdir=str(tmp_path / "w"), _ansible_check_mode=True)
    result = run_module("packetflow_scenario", args)
    assert not result.get("failed"), result.get("msg")
    assert any(" -I PREROUTING 1 " in r or "nftrace" in r for r in result["plan"]["rules"])
    assert "docker0" in result["plan"]["captures"]
    assert not (tmp_path / "w").exists()


def in_process(scenario, workdir):
    """Run the module's run_scenario in this process (so a step can be made to fail)."""
    import docker
    from ansible.module_utils.common.process import get_bin_path

    from ansible_collections.dockernet.packetflow.plugins.module_utils.host.scenario import run_scenario

    def bin_path(tool):
        try:
            return get_bin_path(tool)
        except ValueError:
            return None
    params = dict(NAMES, scenario=scenario, image="mybusybox:latest", expect=None, fail_on_mismatch=True, count=1,
                  timeout=10, docker_host="unix:///var/run/docker.sock", workdir=str(workdir), run_id=None)
    return lambda: run_scenario(params, False, docker, bin_path)


def boom(*args, **kwargs):
    raise RuntimeError("injected failure")


@pytest.mark.parametrize("stage,target", [
    ("build the lab", HOST + "lab.Lab._peer"),
    ("start captures", HOST + "capture.Capture.wait_listening"),
    ("send traffic", HOST + "traffic.send"),
])
def test_failure_midway_still_tears_everything_down(stage, target, monkeypatch, unchanged, tmp_path):
    call = in_process("external_to_published", tmp_path)
    monkeypatch.setattr(target, boom)
    result = call()
    assert result["error"] == "%s failed: injected failure" % stage


def test_a_trace_monitor_overrun_runs_the_scenario_again(monkeypatch, unchanged, tmp_path):
    """The first run's trace monitor overran (its ENOBUFS count set, as when xtables-monitor printed "No
    buffer space available" and exited): the scenario runs once more under a new run id, says why, and
    both runs leave nothing."""
    from ansible_collections.dockernet.packetflow.plugins.module_utils.host.tracer import Tracer

    collect, runs = Tracer.collect, []

    def overran_once(tracer, *args, **kwargs):
        lines = collect(tracer, *args, **kwargs)
        runs.append(tracer.run_id)
        if len(runs) == 1:
            tracer.lost["monitor_overruns"] = 1
        return lines

    monkeypatch.setattr(Tracer, "collect", overran_once)
    result = in_process("external_to_published", tmp_path)()
    assert result["error"] is None and result["passed"], result.get("explanation")
    assert len(runs) == 2 and result["run_id"] == runs[1] != runs[0]
    assert "run %s lost trace events (its trace monitor overran: ENOBUFS), so the scenario ran again" % runs[0] in (
        result["warnings_list"])


def write_sysctl(value):
    with open(ALL_NETNS, "w") as handle:
        handle.write(value)


def test_none_network_failure_restores_sysctls(monkeypatch, unchanged, tmp_path):
    """iptables-legacy logs inside the container's namespace only with nf_log_all_netns=1: the run sets it
    and puts it back after a failure. The other back ends trace there without it and leave it alone."""
    if not os.path.exists(ALL_NETNS):
        pytest.skip("%s exists only in the initial network namespace" % ALL_NETNS)
    original = open(ALL_NETNS).read().strip()
    during = []

    def look_then_fail(*args, **kwargs):
        during.append(open(ALL_NETNS).read().strip())
        raise RuntimeError("injected failure")

    write_sysctl("0")
    try:
        call = in_process("none_network", tmp_path)
        monkeypatch.setattr(HOST + "traffic.send", look_then_fail)
        result = call()
        assert "injected failure" in result["error"]
        assert during == (["1"] if result["host"]["backend"] == "legacy" else ["0"])
        assert open(ALL_NETNS).read().strip() == "0"
    finally:
        write_sysctl(original)


def start_killable(run_id, tmp_path, scenario="cross_network", count=4):
    """Start the scenario module as Ansible would, return its Popen."""
    args = dict(NAMES, scenario=scenario, count=count, workdir=str(tmp_path), run_id=run_id)
    path = tmp_path / ("args-%s.json" % run_id)
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    return subprocess.Popen([PYTHON, os.path.join(MODULES, "packetflow_scenario.py"), str(path)],
                            env=dict(os.environ, PYTHONPATH=COLLECTIONS), stdout=subprocess.DEVNULL)


def state_of(run_id):
    try:
        with open("/run/packetflow/%s.json" % run_id) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def armed(run_id):
    """Whether the run's TRACE rules are in (either iptables back end, or nftables)."""
    tag = "packetflow:" + run_id
    listings = (["iptables-legacy-save"], ["iptables-nft-save"], ["nft", "list", "ruleset"])
    return any(tag in sh(argv) for argv in listings)


def wait_for_captures(proc, run_id):
    """Until the run's state file records its monitor and captures and its TRACE rules are in: captures start
    while the tracing is armed, so the pids alone do not say the rules are there yet."""
    deadline = time.time() + 30
    while time.time() < deadline:
        if len((state_of(run_id) or {}).get("pids", [])) >= 5 and armed(run_id):
            return state_of(run_id)
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run never got to its captures and TRACE rules")


def new_run_id():
    return "pf-%s-%s" % (time.strftime("%Y%m%d"), os.urandom(3).hex())


def test_sigkill_of_module_and_reaper_then_cleanup_leaves_nothing(unchanged, tmp_path):
    run_id = new_run_id()
    proc = start_killable(run_id, tmp_path)
    state = wait_for_captures(proc, run_id)
    os.kill(state["reaper"], signal.SIGKILL)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert snapshot() != unchanged
    result = run_module("packetflow_cleanup", {"run_id": run_id, "_ansible_diff": True})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] and result["removed"]["containers"] and result["removed"]["rules"]
    assert result["removed"]["processes"] and result["removed"]["state_files"]
    assert result["diff"]["before"] == result["removed"] and not any(result["diff"]["after"].values())
    again = run_module("packetflow_cleanup", {"run_id": run_id})
    assert not again["changed"] and not again.get("failed")


def settled(unchanged, seconds=60):
    """Wait until the host is as it was (the reaper at work); return the last difference, or None."""
    deadline = time.time() + seconds
    while True:
        now = snapshot()
        diff = {k: (unchanged[k], now[k]) for k in unchanged if now[k] != unchanged[k]}
        if not diff or time.time() > deadline:
            return diff or None
        time.sleep(0.5)


def test_sigkill_of_the_module_the_reaper_tears_down_alone(unchanged, tmp_path):
    run_id = new_run_id()
    proc = start_killable(run_id, tmp_path)
    wait_for_captures(proc, run_id)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert settled(unchanged) is None
    again = run_module("packetflow_cleanup", {"run_id": run_id})
    assert not again["changed"] and not again.get("failed")


def test_sigkill_at_random_moments_the_reaper_restores_the_host(unchanged, tmp_path):
    random = __import__("random").Random(os.environ.get("PF_KILL_SEED", "13"))
    kills = int(os.environ.get("PF_KILLS", "20"))
    for kill in range(kills):
        scenario = random.choice(["cross_network", "external_to_published", "none_network", "published_port"])
        proc = start_killable(new_run_id(), tmp_path, scenario=scenario, count=2)
        time.sleep(random.uniform(0.0, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        left = settled(unchanged)
        assert left is None, "kill %d (%s): left %s" % (kill, scenario, left)


def test_cleanup_leaves_a_live_run_alone(unchanged, tmp_path):
    run_id = new_run_id()
    proc = start_killable(run_id, tmp_path)
    wait_for_captures(proc, run_id)
    result = run_module("packetflow_cleanup", {})
    assert not result.get("failed"), result.get("msg")
    assert not result["removed"]["containers"] and not result["removed"]["rules"]
    assert proc.wait(timeout=60) == 0


def test_unknown_scenario_lists_the_valid_ones(unchanged):
    result = run_module("packetflow_scenario", {"scenario": "nope"})
    assert result["failed"]
    assert all(s in result["msg"] for s in SCENARIOS)


def test_docker_not_running(unchanged):
    args = dict(NAMES, scenario="host_to_container", docker_host="unix:///tmp/pft-no-such.sock")
    result = run_module("packetflow_scenario", args)
    assert result["failed"] and "Docker is not reachable at unix:///tmp/pft-no-such.sock" in result["msg"]


def test_not_root(unchanged):
    result = run_module("packetflow_scenario", dict(NAMES, scenario="host_to_container"), user="65534")
    assert result["failed"] and "must run as root" in result["msg"]


def test_tcpdump_missing(unchanged, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("busybox", "nsenter", "ip", "docker"):
        found = subprocess.run(["which", tool], stdout=subprocess.PIPE, text=True, check=False)
        os.symlink(found.stdout.strip(), str(bindir / tool))
    result = run_module("packetflow_scenario", dict(NAMES, scenario="host_to_container"),
                        env={"PATH": str(bindir)})
    assert result["failed"] and "tcpdump is not installed" in result["msg"]


def test_port_taken(unchanged):
    sock = socket.socket()
    sock.bind(("0.0.0.0", 0))
    sock.listen(1)
    try:
        port = sock.getsockname()[1]
        result = run_module("packetflow_scenario", dict(NAMES, scenario="published_port", port=port))
    finally:
        sock.close()
    assert result["failed"] and "host port %s is already taken" % port in result["msg"]


def test_name_taken(unchanged):
    subprocess.run(["docker", "run", "-d", "--name", "pft-taken", "mybusybox:latest", "sleep", "60"],
                   stdout=subprocess.DEVNULL, check=True)
    try:
        result = run_module("packetflow_scenario", dict(NAMES, scenario="host_to_container", name="pft-taken"))
        assert result["failed"] and "container name pft-taken is already taken" in result["msg"]
        assert subprocess.run(["docker", "ps", "-a", "-q", "--filter", "label=dockernet.packetflow.run"],
                              stdout=subprocess.PIPE, check=True).stdout == b""
    finally:
        subprocess.run(["docker", "rm", "-f", "pft-taken"], stdout=subprocess.DEVNULL, check=False)


def test_lab_image_missing(unchanged):
    result = run_module("packetflow_scenario", dict(NAMES, scenario="host_to_container", image="pft-missing:none"))
    assert result["failed"] and "lab image pft-missing:none is not on this host" in result["msg"]


def test_facts_report_the_backend():
    result = run_module("packetflow_facts", {})
    facts = result["ansible_facts"]["packetflow"]
    assert facts["backend"] in ("legacy", "nft", "nftables")
    assert facts["iptables_default"] in ("legacy", "nft")
    assert facts["docker_version"]
    assert any(b["bridge"] == "docker0" for b in facts["bridges"])


def test_mismatch_fails_with_a_readable_diff(unchanged, tmp_path):
    args = dict(NAMES, scenario="host_to_container", workdir=str(tmp_path),
                expect={"fate": "dropped", "via": ["filter:NO-SUCH-CHAIN"]})
    result = run_module("packetflow_scenario", args)
    assert result["failed"] and not result["passed"]
    assert "- expected fate: dropped" in result["msg"] and "+ observed fate: delivered" in result["msg"]
    assert "missing: filter:NO-SUCH-CHAIN" in result["msg"]
