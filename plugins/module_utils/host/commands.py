# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way host code runs commands and starts processes, injectable so unit tests can fake it.

A ``Runner`` runs a command to completion (``run``), starts a long-lived one (``spawn``) and signals
a process (``kill``). Every process it starts carries the run's environment tag, so that cleanup
finds the processes of a run by what the run gave them, not by their name.
"""

from __future__ import annotations

import os
import subprocess


class Runner:
    """Runs host commands; env (a dict) is added to every child's environment."""

    def __init__(self, env=None):
        self.env = dict(env or {})

    def _environ(self):
        return dict(os.environ, **self.env) if self.env else None

    def run(self, argv, timeout=10, check=False):
        """Run argv, return (rc, stdout, stderr); a missing tool gives rc 127, a timeout rc 124."""
        try:
            proc = subprocess.run(
                argv, capture_output=True, env=self._environ(), timeout=timeout, check=False, text=True
            )
        except FileNotFoundError:
            return 127, "", "%s: not found" % argv[0]
        except subprocess.TimeoutExpired:
            return 124, "", "%s: timed out after %ss" % (" ".join(argv), timeout)
        if check and proc.returncode != 0:
            raise RuntimeError("%s failed (rc %s): %s" % (" ".join(argv), proc.returncode, proc.stderr.strip()))
        return proc.returncode, proc.stdout, proc.stderr

    def spawn(self, argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE):
        """Start argv in the background and return its Popen."""
        return subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=self._environ())

    def kill(self, pid, signum):
        """Send signum to pid."""
        os.kill(pid, signum)


RUNNER = Runner()


def run(argv, timeout=10, check=False):
    """Run argv with the default runner; see Runner.run."""
    return RUNNER.run(argv, timeout=timeout, check=check)


def read(path, default=None):
    """Return the stripped content of a file, or default."""
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return default
