"""docker_engine on a host without a service manager: start, restart on change, back-end switch.

These tests stop and restart the real dockerd, as the role does on a host.
"""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import recap, run_role

PIDFILE = Path("/var/run/docker.pid")
DAEMON_JSON = Path("/etc/docker/daemon.json")


def dockerd_pid():
    return int(PIDFILE.read_text().strip())


def engine_answers():
    return subprocess.run(["docker", "version"], capture_output=True, check=False).returncode == 0


def stop_dockerd():
    pid = dockerd_pid()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    raise AssertionError("dockerd %d did not stop" % pid)


@pytest.fixture
def daemon_json():
    """daemon.json restored, and dockerd restarted on it, after the test."""
    saved = DAEMON_JSON.read_bytes() if DAEMON_JSON.exists() else None
    yield DAEMON_JSON
    if saved is None:
        DAEMON_JSON.unlink(missing_ok=True)
    else:
        DAEMON_JSON.write_bytes(saved)
    stop_dockerd()
    assert run_role("docker_engine").returncode == 0


def test_running_engine_is_left_alone():
    pid = dockerd_pid()
    proc = run_role("docker_engine")
    assert proc.returncode == 0, proc.stdout
    assert recap(proc.stdout)["changed"] == 0
    assert dockerd_pid() == pid


def test_stopped_engine_is_started_as_a_daemon():
    stop_dockerd()
    assert not engine_answers()
    proc = run_role("docker_engine")
    assert proc.returncode == 0, proc.stdout
    assert "Start dockerd as a daemon (no service manager)" in proc.stdout
    assert engine_answers()
    os.kill(dockerd_pid(), 0)
    assert "API listen on" in Path("/var/log/dockerd.log").read_text()


def test_daemon_json_is_merged_not_clobbered(daemon_json):
    daemon_json.parent.mkdir(exist_ok=True)
    daemon_json.write_text(json.dumps({"log-level": "info"}))
    pid = dockerd_pid()
    proc = run_role("docker_engine", {"docker_engine_userland_proxy": False})
    assert proc.returncode == 0, proc.stdout
    assert json.loads(daemon_json.read_text()) == {"log-level": "info", "userland-proxy": False}
    assert dockerd_pid() != pid and engine_answers()
    again = run_role("docker_engine", {"docker_engine_userland_proxy": False})
    assert recap(again.stdout)["changed"] == 0


def test_invalid_daemon_json_fails_before_any_change(daemon_json):
    daemon_json.parent.mkdir(exist_ok=True)
    daemon_json.write_text("{not json")
    pid = dockerd_pid()
    proc = run_role("docker_engine", {"docker_engine_userland_proxy": False})
    assert proc.returncode != 0
    assert "is not valid JSON" in proc.stdout
    assert daemon_json.read_text() == "{not json"
    assert dockerd_pid() == pid
