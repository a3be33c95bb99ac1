# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One traced run: arm scoped tracing, capture, send traffic, collect, correlate, tear down.

The run owns the tracer, the captures, the state file and the teardown of every part it was given;
its exit path tears all of them down, on success, on an exception and on SIGTERM. What differs
between a lab scenario and a user's own flow comes from the caller, as a workload object:

``stage``                        what building is called in an error message ("build the lab")
``build(run)``                   the topology (in check mode the planned one, with nothing made)
``traffic(topology)``            items {from, to, proto, port, legs, prefix}: what to send and trace
``traced_pid(topology)``         the pid whose network namespace is traced, or None for the host's
``captures(topology, traffic, rundir)``  the Capture arguments of every interface to record
``send(item)``                   sends one item (fills ok, command, output)
``teardown()``                   removes what build made; returns error messages

In check mode the same pipeline runs over the plan, and the steps with side effects are skipped.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import capture
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.commands import Runner
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import (
    STATE_DIR,
    Names,
    State,
    hold_lock,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.reaper import Reaper
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.tracer import Tracer

ALL_NETNS = "/proc/sys/net/netfilter/nf_log_all_netns"


class Terminated(Exception):
    """The run received SIGTERM: raised where the run was, so that its tear-down still runs."""


def _on_sigterm(signum, frame):
    raise Terminated("terminated by SIGTERM")


class Run:
    """A context manager around one run; leaving it tears everything down (see the module docstring)."""

    def __init__(
        self,
        run_id,
        backend,
        workdir,
        timeout,
        check_mode=False,
        state_dir=STATE_DIR,
        runner=None,
        reap=None,
        deadline=None,
        bridge=True,
    ):
        self.names = Names(run_id)
        self.run_id = run_id
        self.backend = backend
        self.bridge = bridge
        self.timeout = timeout
        self.check_mode = check_mode
        self.rundir = os.path.join(workdir, run_id)
        self.runner = runner or Runner(env=self.names.env)
        self.state = State(run_id, state_dir)
        self.stage = None
        self.error = None
        self.warnings = []
        self.teardown_errors = []
        self.tracer: Any = None
        self.captures = []
        self.parts = []
        self.plan = None
        self.topology = None
        self.traffic = None
        self.lines = []
        self.ruleset: Any = None
        self.stats = {}
        self._previous = None
        self.state_dir = state_dir
        self.reap, self.deadline = reap, deadline
        self.lock_fd, self.reaper = None, None

    def __enter__(self):
        """Before anything changes: take the run's lock and start its reaper (see host/reaper.py)."""
        if not self.check_mode:
            self.lock_fd = hold_lock(self.run_id, self.state_dir)
            if self.reap is not None:
                self.reaper = Reaper(self.reap, self.deadline, keep_fds=[self.lock_fd])
                self.state.data["reaper"] = self.reaper.start()
            os.makedirs(self.rundir, mode=0o755, exist_ok=True)
            self.state.save()
        self._previous = signal.signal(signal.SIGTERM, _on_sigterm)
        return self

    def __exit__(self, exc_type, exc, tb):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            self.teardown()
        finally:
            if self.reaper is not None:
                self.reaper.finish()
            if self.lock_fd is not None:
                os.close(self.lock_fd)
            signal.signal(signal.SIGTERM, self._previous)
        return False

    def own(self, part):
        """Take over the teardown of a part (its teardown() returns error messages), last in first out."""
        self.parts.append(part)
        return part

    def execute(self, workload):
        """Run the pipeline over the workload; a failing step ends it and is recorded in self.error."""
        try:
            self.stage = workload.stage
            self.topology = workload.build(self)
            self.traffic = workload.traffic(self.topology)
            self.stage = "arm tracing"
            pid = workload.traced_pid(self.topology)
            self.tracer = Tracer(
                self.backend,
                self.run_id,
                [leg for item in self.traffic for leg in item["legs"]],
                self.rundir,
                pid=pid,
                timeout=self.timeout,
                runner=self.runner,
                bridge=self.bridge,
            )
            specs = workload.captures(self.topology, self.traffic, self.rundir)
            if self.check_mode:
                self.plan = {"rules": self.tracer.plan(), "captures": [spec["label"] for spec in specs]}
                return
            self.stage = "start captures"
            capture.spawn_all(specs, self.captures, self.runner)
            for cap in self.captures:
                self.state.add("pids", cap.proc.pid)
            self.stage = "arm tracing"
            self._arm(pid)  # while the captures start
            self.stage = "start captures"
            capture.wait_all(self.captures, self.timeout)
            self.stage = "send traffic"
            for item in self.traffic:
                workload.send(item)
            self.stage = "collect"
            self.ruleset = self.tracer.ruleset()
            self.lines = self.tracer.collect()
            self.stats = capture.stop_all(self.captures, self.timeout)
        except Exception as exc:
            self.error = "%s failed: %s" % (self.stage, exc)

    def _arm(self, pid):
        """Let the kernel log trace inside a namespace (legacy), start the collector, insert the rules."""
        if pid and self.backend == "legacy":
            if os.path.exists(ALL_NETNS):
                self.state.sysctl(ALL_NETNS, "1")
            else:
                # Only the initial namespace has it: a host that is itself a container
                # traces inside namespaces only when its kernel's host has it set.
                self.warnings.append(
                    "%s is not settable here (not the initial network namespace): the kernel's host must set "
                    "net.netfilter.nf_log_all_netns=1 (role dockernet.packetflow.nf_log, nf_log_all_netns: true) "
                    "or none_network traces nothing" % ALL_NETNS
                )
        monitor = self.tracer.start_collector()
        if monitor:
            self.state.add("pids", monitor)
        self.tracer.arm(remember=lambda objects: self.state.add("nft_created", objects))

    def teardown(self):
        """Remove everything the run made, in reverse; the state file goes only when all of it went."""
        if self.tracer is not None:
            self.tracer.stop()
            self.teardown_errors += self.tracer.disarm()
        capture.stop_all(self.captures, self.timeout)
        while self.parts:
            self.teardown_errors += self.parts.pop().teardown()
        self.teardown_errors += self.state.restore()
        if not self.teardown_errors and not self.check_mode:
            self.state.remove()
        if self.teardown_errors:
            self.error = (
                ((self.error + "; ") if self.error else "")
                + "tear-down incomplete (run packetflow_cleanup): "
                + "; ".join(self.teardown_errors)
            )

    def pcaps(self):
        """{label: path} of the captures that wrote a file."""
        return {cap.label: cap.path for cap in self.captures if os.path.exists(cap.path)}

    def write_ruleset(self):
        """Write the collected ruleset next to the trace; return its path."""
        path = os.path.join(self.rundir, "ruleset.txt")
        with open(path, "w") as handle:
            handle.write(self.ruleset["text"])
        return path
