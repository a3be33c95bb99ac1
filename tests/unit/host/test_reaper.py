"""The reaper: reaps when the module dies or overruns its deadline, not after a clean finish; it holds the
run's lock until it is done. A forked child of the test plays the module."""

import os
import signal
import time

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import ownership
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.reaper import Reaper

RUN = "pf-20261201-abcdef"
STARTED = []


def gone(pid):
    """True once pid has exited (a zombie counts as exited)."""
    try:
        with open("/proc/%s/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait(predicate, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def module(tmp_path, deadline=30, finish=False, lock=False):
    """Fork a module that starts a reaper (which writes reaped.txt when it reaps); return (module pid, reaper pid)."""
    marker = tmp_path / "reaped.txt"
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            keep = [ownership.hold_lock(RUN, str(tmp_path))] if lock else []
            reaper = Reaper(lambda: marker.write_text("reaped by %s" % os.getpid()), deadline, keep_fds=keep)
            os.write(write_fd, b"%d\n" % reaper.start())
            if finish:
                reaper.finish()
                os._exit(0)
            time.sleep(60)
        finally:
            os._exit(1)
    os.close(write_fd)
    STARTED.append(pid)
    with os.fdopen(read_fd) as handle:
        return pid, int(handle.readline())


@pytest.fixture(autouse=True)
def no_module_left():
    """Kill a module that a failed test left sleeping."""
    yield
    for pid in STARTED:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    STARTED.clear()


def test_the_module_dies_and_the_reaper_reaps(tmp_path):
    pid, reaper = module(tmp_path)
    assert reaper != pid and not gone(reaper)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    marker = tmp_path / "reaped.txt"
    assert wait(lambda: marker.exists() and marker.read_text() == "reaped by %s" % reaper)
    assert wait(lambda: gone(reaper))


def test_a_clean_finish_ends_the_reaper_without_reaping(tmp_path):
    pid, reaper = module(tmp_path, finish=True)
    assert os.waitpid(pid, 0)[1] == 0
    assert wait(lambda: gone(reaper))
    assert not (tmp_path / "reaped.txt").exists()


def test_past_the_deadline_the_reaper_kills_the_module_and_reaps(tmp_path):
    pid, reaper = module(tmp_path, deadline=0.5)
    status = os.waitpid(pid, 0)[1]
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert wait((tmp_path / "reaped.txt").exists)


def test_the_reaper_holds_the_run_lock_until_it_is_done(tmp_path):
    pid, reaper = module(tmp_path, lock=True)
    assert ownership.is_live(RUN, str(tmp_path)) and ownership.locked_runs(str(tmp_path)) == [RUN]
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert ownership.is_live(RUN, str(tmp_path)) or (tmp_path / "reaped.txt").exists()
    assert wait(lambda: gone(reaper))
    assert not ownership.is_live(RUN, str(tmp_path)) and ownership.locked_runs(str(tmp_path)) == []
