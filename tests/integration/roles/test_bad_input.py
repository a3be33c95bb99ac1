"""Bad input to the roles fails before anything changes, with a message that names the fix."""
from pathlib import Path

import pytest

from conftest import run_role

ROLES = ["docker_engine", "nf_log", "rsyslog_kern", "tcpdump", "lab_image"]


def assert_failed_with(proc, *needles):
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    for needle in needles:
        assert needle in output, "%r not in:\n%s" % (needle, output[-3000:])
    for internal in ("Traceback", "object of type", "AnsibleUndefinedVariable", "template error"):
        assert internal not in output, "%r in:\n%s" % (internal, output[-3000:])


def test_unknown_image_source_lists_the_valid_ones(unchanged_host):
    proc = run_role("lab_image", {"lab_image_source": "ftp"})
    assert_failed_with(proc, "lab_image_source", "auto, pull, archive, local", "ftp")


def test_archive_source_without_archive(unchanged_host):
    proc = run_role("lab_image", {"lab_image_source": "archive", "lab_image_name": "pf-test-absent"})
    assert_failed_with(proc, "lab_image_archive_path", "is not a file")


@pytest.mark.parametrize("path, message", [
    ("iptables.log", "is not an absolute path"),
    ("/nonexistent-dir/iptables.log", "does not exist or is not a directory"),
    ("/proc/iptables.log", "is not writable"),
])
def test_unusable_log_path(unchanged_host, path, message):
    proc = run_role("rsyslog_kern", {"rsyslog_kern_log_path": path})
    assert_failed_with(proc, message, "rsyslog_kern_log_path" if "absolute" in message else path)


@pytest.mark.parametrize("role", ROLES)
def test_non_root_run(unchanged_host, role):
    proc = run_role(role, become_user="nobody")
    assert_failed_with(proc, "needs root", "become: true")


def test_no_docker_engine(unchanged_host):
    proc = run_role("lab_image", {"lab_image_docker_host": "unix:///run/packetflow-absent.sock"})
    assert_failed_with(proc, "No Docker engine answers at unix:///run/packetflow-absent.sock",
                       "dockernet.packetflow.docker_engine")


def test_iptables_backend_choice_is_checked(unchanged_host):
    proc = run_role("docker_engine", {"docker_engine_iptables_backend": "ebpf"})
    assert_failed_with(proc, "docker_engine_iptables_backend", "keep, legacy, nft")


@pytest.mark.parametrize("families, needles", [
    (["ipv4", "ipv5"], ["nf_log_families", "ipv5", "ipv4, ipv6"]),
    ([], ["nf_log_families=[]", "non-empty list", "[ipv4, ipv6]"]),
])
def test_nf_log_family_that_does_not_exist(unchanged_host, families, needles):
    proc = run_role("nf_log", {"nf_log_families": families})
    assert_failed_with(proc, *needles)


def dockerd_pid():
    return Path("/var/run/docker.pid").read_text().strip()


@pytest.mark.parametrize("settings, needles", [
    ({"docker_engine_ipv6": True, "docker_engine_fixed_cidr_v6": "10.1.0.0/16"},
     ["docker_engine_fixed_cidr_v6=10.1.0.0/16", "is not an IPv6 network", "fd00::/8"]),
    ({"docker_engine_ipv6": True, "docker_engine_fixed_cidr_v6": "fd00:70f:1::1/64"},
     ["docker_engine_fixed_cidr_v6=fd00:70f:1::1/64", "host bits set", "fd00:70f:1::/64"]),
    ({"docker_engine_ipv6": True, "docker_engine_fixed_cidr_v6": "fe80::/64"},
     ["docker_engine_fixed_cidr_v6=fe80::/64", "is not a unicast IPv6 subnet", "fd00::/8"]),
    ({"docker_engine_ipv6": True, "docker_engine_daemon_options": {"fixed-cidr-v6": "fd00:70f:1::"}},
     ["docker_engine_daemon_options['fixed-cidr-v6']=fd00:70f:1::", "prefix length", "fd00:70f:1::/64"]),
    ({"docker_engine_fixed_cidr_v6": "fd00:70f:1::/64"},
     ["docker_engine_fixed_cidr_v6=fd00:70f:1::/64", "docker_engine_ipv6=unset", "docker_engine_ipv6: true"]),
    ({"docker_engine_ip6tables": True},
     ["docker_engine_ip6tables=true", "Docker version 20.10", "experimental: true"]),
    ({"docker_engine_ipv6": "maybe"}, ["docker_engine_ipv6", "'maybe' is not a valid boolean"]),
])
def test_docker_engine_ipv6_options_are_checked(unchanged_host, settings, needles):
    pid = dockerd_pid()
    proc = run_role("docker_engine", settings)
    assert_failed_with(proc, *needles)
    assert dockerd_pid() == pid
