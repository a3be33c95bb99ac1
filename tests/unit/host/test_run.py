"""The Run object: check mode runs the pipeline over the plan with no side effect; teardown always runs."""

import os
import signal

from host_fakes import FakeRunner

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import State
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.run import Run

RUN = "pf-20261201-abcdef"


class Part:
    """Something the workload built; records its teardown."""

    def __init__(self, name, log, errors=()):
        self.name, self.log, self.errors = name, log, list(errors)

    def teardown(self):
        self.log.append(self.name)
        return self.errors


class Workload:
    """A workload of two parts whose build can fail (or raise SIGTERM) after both are made."""

    stage = "build the lab"

    def __init__(self, fail=None, part_errors=()):
        self.fail, self.log, self.part_errors, self.sent = fail, [], part_errors, []

    def build(self, run):
        run.own(Part("first", self.log))
        run.own(Part("second", self.log, self.part_errors))
        if self.fail == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)
        elif self.fail:
            raise RuntimeError(self.fail)
        return {"containers": []}

    def traffic(self, topology):
        return [{"from": "host", "to": "192.0.2.9", "proto": "icmp", "port": None, "prefix": [],
                 "legs": [{"src": "192.0.2.1", "dst": "192.0.2.9", "proto": "icmp"}]}]

    def traced_pid(self, topology):
        return None

    def captures(self, topology, traffic, rundir):
        return [{"iface": "lo", "label": "lo", "path": os.path.join(rundir, "lo.pcap"), "bpf": "icmp"}]

    def send(self, item):
        self.sent.append(item)


class CheckWorkload(Workload):
    def build(self, run):
        assert run.check_mode
        return {"containers": []}


def test_check_mode_walks_the_pipeline_over_the_plan_and_touches_nothing(tmp_path):
    runner, workload = FakeRunner(), CheckWorkload()
    with Run(RUN, "legacy", str(tmp_path / "work"), 5, check_mode=True, state_dir=str(tmp_path / "state"),
             runner=runner) as run:
        run.execute(workload)
    assert run.error is None
    assert run.plan["captures"] == ["lo"]
    trace = [r for r in run.plan["rules"] if r.startswith("iptables-")]
    assert len(trace) == 4 and all("-I PREROUTING 1" in r or "-I OUTPUT 1" in r for r in trace)
    # The bridge layer's ebtables log rules, five base chains jumping to chains of the run's own.
    assert [r for r in run.plan["rules"] if " -j pf-" in r] == [
        "ebtables -t %s -I %s 1 -j pf-abcdef-%s" % (table, base, base)
        for table, base in (("nat", "PREROUTING"), ("filter", "INPUT"), ("filter", "FORWARD"), ("filter", "OUTPUT"),
                            ("nat", "POSTROUTING"))]
    assert runner.calls == [] and workload.sent == []
    assert not (tmp_path / "work").exists() and not (tmp_path / "state").exists()


def test_a_failing_step_is_reported_and_every_part_torn_down_in_reverse(tmp_path):
    workload = Workload(fail="injected")
    with Run(RUN, "legacy", str(tmp_path), 5, state_dir=str(tmp_path / "state"), runner=FakeRunner()) as run:
        assert os.path.exists(State(RUN, str(tmp_path / "state")).path)
        run.execute(workload)
    assert run.error == "build the lab failed: injected"
    assert workload.log == ["second", "first"]
    assert not os.path.exists(State(RUN, str(tmp_path / "state")).path)


def test_sigterm_becomes_an_error_and_teardown_still_runs(tmp_path):
    previous = signal.getsignal(signal.SIGTERM)
    workload = Workload(fail="sigterm")
    with Run(RUN, "legacy", str(tmp_path), 5, state_dir=str(tmp_path / "state"), runner=FakeRunner()) as run:
        run.execute(workload)
    assert run.error == "build the lab failed: terminated by SIGTERM"
    assert workload.log == ["second", "first"]
    assert signal.getsignal(signal.SIGTERM) == previous


def test_an_incomplete_teardown_keeps_the_state_file_for_cleanup(tmp_path):
    workload = Workload(fail="injected", part_errors=["network x: busy"])
    with Run(RUN, "legacy", str(tmp_path), 5, state_dir=str(tmp_path / "state"), runner=FakeRunner()) as run:
        run.execute(workload)
    assert run.error == ("build the lab failed: injected; tear-down incomplete (run packetflow_cleanup): "
                         "network x: busy")
    assert workload.log == ["second", "first"]
    assert os.path.exists(State(RUN, str(tmp_path / "state")).path)


def test_children_carry_the_run_tag(tmp_path):
    run = Run(RUN, "legacy", str(tmp_path), 5, state_dir=str(tmp_path / "state"))
    assert run.runner.env == {"PACKETFLOW_RUN": RUN}
    proc = run.runner.spawn(["sh", "-c", "printf %s \"$PACKETFLOW_RUN\""], stdout=-1)
    assert proc.communicate()[0].decode() == RUN
