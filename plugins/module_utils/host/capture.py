# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcpdump captures: start and wait until listening, stop cleanly, read kernel drops."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from typing import Any

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.commands import RUNNER


def netns_prefix(pid=None, netns=None):
    """argv prefix that runs a command in a container's (pid) or a named network namespace."""
    if pid:
        return ["nsenter", "--net=/proc/%s/ns/net" % pid]
    if netns:
        return ["ip", "netns", "exec", netns]
    return []


class Capture:
    """One tcpdump process writing one pcap."""

    def __init__(self, iface, path, bpf, pid=None, netns=None, label=None, runner=RUNNER):
        self.runner = runner
        self.iface = iface
        self.label = label or iface
        self.path = path
        self.argv = netns_prefix(pid, netns) + [
            "tcpdump",
            "-i",
            iface,
            "-n",
            "-U",
            "--immediate-mode",
            "-s",
            "262144",
            "-w",
            path,
            bpf,
        ]
        self.proc: Any = None
        self.stderr = ""
        self.stats = {}

    def spawn(self):
        """Start tcpdump without waiting, into a pcap only root may read (it can hold payloads)."""
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        os.chmod(self.path, 0o600)
        self.proc = self.runner.spawn(self.argv)

    def wait_listening(self, timeout):
        """Return once tcpdump prints "listening on"; raise when it exits or on timeout."""
        deadline = time.time() + timeout
        fd = self.proc.stderr.fileno()
        while "listening on" not in self.stderr:
            left = deadline - time.time()
            if left <= 0:
                raise RuntimeError("tcpdump on %s did not start listening within %ss" % (self.label, timeout))
            ready = select.select([fd], [], [], left)[0]
            if ready:
                chunk = os.read(fd, 4096).decode("utf-8", "replace")
                if not chunk:
                    self.proc.wait(timeout=timeout)
                    raise RuntimeError("tcpdump on %s exited: %s" % (self.label, self.stderr.strip()))
                self.stderr += chunk

    def stop(self, timeout):
        """Stop tcpdump with SIGINT (SIGKILL after timeout) and parse its statistics."""
        if self.proc is None:
            return self.stats
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            rest = self.proc.communicate(timeout=timeout)[1]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rest = self.proc.communicate()[1]
        self.stderr += rest.decode("utf-8", "replace")
        for key, pattern in (
            ("captured", r"(\d+) packets? captured"),
            ("received", r"(\d+) packets? received by filter"),
            ("kernel_drops", r"(\d+) packets? dropped by kernel"),
        ):
            match = re.search(pattern, self.stderr)
            self.stats[key] = int(match.group(1)) if match else None
        self.proc = None
        return self.stats


def spawn_all(specs, into, runner=RUNNER):
    """Start one Capture per spec (dicts of Capture's arguments), all at once, appending each to
    into first; wait_all then waits until they listen (other work can run in between)."""
    for spec in specs:
        cap = Capture(runner=runner, **spec)
        into.append(cap)
        cap.spawn()


def wait_all(captures, timeout):
    """Return once every capture is listening; raise when one exits or does not within timeout."""
    for cap in captures:
        cap.wait_listening(timeout)


def stop_all(captures, timeout):
    """Stop every capture (SIGINT all first, then collect), return {label: stats}."""
    for cap in captures:
        if cap.proc is not None and cap.proc.poll() is None:
            cap.proc.send_signal(signal.SIGINT)
    return {cap.label: cap.stop(timeout) for cap in captures}
