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


IPV6_SUBNET = "fd00:70f:1::/64"
IPV6_SYSCTLS = [Path("/proc/sys/net/ipv6/conf", dev, key)
                for dev in ("all", "default", "docker0") for key in ("forwarding", "disable_ipv6", "accept_ra")]


def default_bridge():
    """EnableIPv6 and the IPAM subnets of Docker's default bridge."""
    proc = subprocess.run(["docker", "network", "inspect", "bridge"], capture_output=True, text=True, check=True)
    network = json.loads(proc.stdout)[0]
    return network["EnableIPv6"], sorted(c["Subnet"] for c in network["IPAM"]["Config"] or [])


def ipv6_state():
    """What IPv6 on the default bridge changes on the host: sysctls, docker0's addresses, the v6 routes."""
    def ip(*args):
        return subprocess.run(["ip", "-6", *args], capture_output=True, text=True, check=True).stdout
    return {"sysctl": {str(p): p.read_text() for p in IPV6_SYSCTLS if p.exists()},
            "docker0": sorted(line.split()[3] for line in ip("-o", "addr", "show", "dev", "docker0").splitlines()),
            "routes": ip("route", "show", "table", "all"),
            "ip6 tables": subprocess.run(["nft", "list", "tables", "ip6"], capture_output=True, text=True,
                                         check=True).stdout.splitlines()}


@pytest.fixture
def ipv6_put_back():
    """After daemon.json is restored (request this fixture first): IPv6 is off again and the host as before.

    dockerd 20.10 leaves docker0's IPv6 addresses (fe80::1, the subnet's gateway), the subnet's route and the
    ip6 tables it made for ip6tables behind when IPv6 is turned off again: they are removed here.
    """
    before_bridge, before = default_bridge(), ipv6_state()
    yield
    assert default_bridge() == before_bridge
    for path, value in before["sysctl"].items():
        Path(path).write_text(value)
    for address in set(ipv6_state()["docker0"]) - set(before["docker0"]):
        subprocess.run(["ip", "-6", "addr", "del", address, "dev", "docker0"], check=True)
    if IPV6_SUBNET in ipv6_state()["routes"] and IPV6_SUBNET not in before["routes"]:
        subprocess.run(["ip", "-6", "route", "del", IPV6_SUBNET, "dev", "docker0"], check=True)
    for table in set(ipv6_state()["ip6 tables"]) - set(before["ip6 tables"]):
        subprocess.run(["nft", "delete", *table.split()], check=True)
    assert ipv6_state() == before


def test_ipv6_on_the_default_bridge(ipv6_put_back, daemon_json):
    assert not default_bridge()[0]
    settings = {"docker_engine_ipv6": True, "docker_engine_fixed_cidr_v6": IPV6_SUBNET}
    pid = dockerd_pid()
    check = run_role("docker_engine", settings, check=True)
    assert check.returncode == 0, check.stdout
    assert recap(check.stdout)["changed"] > 0
    assert not daemon_json.exists() and dockerd_pid() == pid
    proc = run_role("docker_engine", settings)
    assert proc.returncode == 0, proc.stdout
    assert json.loads(daemon_json.read_text()) == {"ipv6": True, "fixed-cidr-v6": IPV6_SUBNET}
    assert dockerd_pid() != pid and engine_answers()
    enabled, subnets = default_bridge()
    assert enabled and IPV6_SUBNET in subnets
    again = run_role("docker_engine", settings)
    assert recap(again.stdout)["changed"] == 0


def test_ip6tables_with_experimental_on_docker_20_10(ipv6_put_back, daemon_json):
    settings = {"docker_engine_ipv6": True, "docker_engine_fixed_cidr_v6": IPV6_SUBNET,
                "docker_engine_ip6tables": True, "docker_engine_daemon_options": {"experimental": True}}
    proc = run_role("docker_engine", settings)
    assert proc.returncode == 0, proc.stdout
    assert json.loads(daemon_json.read_text()) == {"experimental": True, "ipv6": True, "fixed-cidr-v6": IPV6_SUBNET,
                                                   "ip6tables": True}
    assert engine_answers()
    nat = subprocess.run(["ip6tables", "-t", "nat", "-S", "POSTROUTING"], capture_output=True, text=True, check=True)
    assert "-A POSTROUTING -s %s ! -o docker0 -j MASQUERADE" % IPV6_SUBNET in nat.stdout
    again = run_role("docker_engine", settings)
    assert recap(again.stdout)["changed"] == 0
