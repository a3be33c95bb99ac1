# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A detached reaper that tears a run down when its module dies without finishing, or at a deadline.

The run starts it before it changes anything. The reaper is a double-forked process in its own
session, so killing the module, the controller or their process groups leaves it running. It
inherits the run's lock (cleanup leaves a locked run alone) and the read end of a pipe whose write
end only the module holds: the module writes ``done`` when its own tear-down finished; end of file
without it means the module died. Then, or when the deadline passes first (the module is killed
then), the reaper calls ``reap`` and exits, which releases the lock.
"""

from __future__ import annotations

import os
import select
import signal

DONE = b"done"


def _start_time(pid):
    """The start time of a process in clock ticks since boot, or None when it is gone."""
    try:
        with open("/proc/%s/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class Reaper:
    """Watches the calling process from a detached child; reap() runs there if the caller dies."""

    def __init__(self, reap, deadline, keep_fds=()):
        self.reap = reap
        self.deadline = deadline
        self.keep_fds = tuple(keep_fds)
        self.write_fd = None
        self.pid = None

    def start(self):
        """Fork the reaper; return its pid once it runs on its own."""
        read_fd, write_fd = os.pipe()
        pid_r, pid_w = os.pipe()
        module = os.getpid()
        started = _start_time(module)
        child = os.fork()
        if child == 0:
            os.close(write_fd)
            os.close(pid_r)
            self._detach(read_fd, pid_w, module, started)
        os.close(read_fd)
        os.close(pid_w)
        os.waitpid(child, 0)
        with os.fdopen(pid_r) as handle:
            self.pid = int(handle.read() or 0) or None
        self.write_fd = write_fd
        return self.pid

    def _detach(self, read_fd, pid_w, module, started):
        """In the first child: new session, fork the reaper, exit. Never returns."""
        code = 1
        try:
            os.setsid()
            grandchild = os.fork()
            if grandchild == 0:
                os.close(pid_w)
                code = self._watch(read_fd, module, started)
            else:
                os.write(pid_w, str(grandchild).encode())
                code = 0
        finally:
            os._exit(code)

    def _watch(self, read_fd, module, started):
        """In the reaper: wait for done, the module's death or the deadline; reap unless done."""
        for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        keep = {0, 1, 2, read_fd} | set(self.keep_fds)
        for fd in range(3, max(keep) + 1):
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        os.closerange(max(keep) + 1, 65536)
        ready = select.select([read_fd], [], [], self.deadline)[0]
        if ready and os.read(read_fd, len(DONE)) == DONE:
            return 0
        if not ready and _start_time(module) == started:
            os.kill(module, signal.SIGKILL)
        try:
            self.reap()
        except Exception:
            return 1
        return 0

    def finish(self):
        """Tell the reaper the run tore itself down; it exits without doing anything."""
        if self.write_fd is not None:
            try:
                os.write(self.write_fd, DONE)
            finally:
                os.close(self.write_fd)
                self.write_fd = None
