"""nf_log binds the IPv4 and IPv6 kernel loggers, persists them, and is idempotent and check-mode safe.

The tests unbind net.netfilter.nf_log.10 first so the role has something to do; the host is put back after.
"""
from pathlib import Path

import pytest

from conftest import recap, run_role

SYSCTL_FILE = Path("/etc/sysctl.d/90-packetflow-nf_log.conf")
BINDINGS = {"ipv4": Path("/proc/sys/net/netfilter/nf_log/2"), "ipv6": Path("/proc/sys/net/netfilter/nf_log/10")}


@pytest.fixture
def ipv6_unbound(unchanged_host):
    """nf_log.10 unbound for the test; the bindings and the sysctl file as they were after it."""
    saved_file = SYSCTL_FILE.read_bytes() if SYSCTL_FILE.exists() else None
    saved = {family: path.read_text().strip() for family, path in BINDINGS.items()}
    BINDINGS["ipv6"].write_text("NONE")
    yield
    for family, path in BINDINGS.items():
        path.write_text(saved[family])
    if saved_file is None:
        SYSCTL_FILE.unlink(missing_ok=True)
    else:
        SYSCTL_FILE.write_bytes(saved_file)


def bound(family):
    return BINDINGS[family].read_text().strip()


def test_check_mode_reports_the_ipv6_binding_and_changes_nothing(ipv6_unbound):
    before = SYSCTL_FILE.read_bytes() if SYSCTL_FILE.exists() else None
    proc = run_role("nf_log", check=True)
    assert proc.returncode == 0, proc.stdout
    assert "changed: [localhost] => (item=net.netfilter.nf_log.10=nf_log_ipv6)" in proc.stdout
    assert bound("ipv6") == "NONE"
    assert (SYSCTL_FILE.read_bytes() if SYSCTL_FILE.exists() else None) == before


def test_ipv6_logger_is_bound_and_persisted(ipv6_unbound):
    proc = run_role("nf_log")
    assert proc.returncode == 0, proc.stdout
    assert bound("ipv6") == "nf_log_ipv6"
    assert bound("ipv4") == "nf_log_ipv4"
    lines = SYSCTL_FILE.read_text().split()
    assert "net.netfilter.nf_log.10=nf_log_ipv6" in lines
    assert "net.netfilter.nf_log.2=nf_log_ipv4" in lines
    again = run_role("nf_log")
    assert again.returncode == 0, again.stdout
    assert recap(again.stdout)["changed"] == 0


def test_ipv4_only_leaves_the_ipv6_binding_alone(ipv6_unbound):
    def ipv6_lines():
        text = SYSCTL_FILE.read_text() if SYSCTL_FILE.exists() else ""
        return [line for line in text.splitlines() if "nf_log.10" in line]

    before = ipv6_lines()
    proc = run_role("nf_log", {"nf_log_families": ["ipv4"]})
    assert proc.returncode == 0, proc.stdout
    assert bound("ipv6") == "NONE"
    assert ipv6_lines() == before
