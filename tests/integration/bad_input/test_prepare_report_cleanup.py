"""prepare.yml, report.yml and cleanup.yml refuse bad variables before the first change."""
import pytest

from bad_input_support import REPO, assert_refused, host_unchanged, run_playbook

PREPARE = REPO / "playbooks" / "prepare.yml"
REPORT = REPO / "playbooks" / "report.yml"
CLEANUP = REPO / "playbooks" / "cleanup.yml"

# (id, extra vars, variable named, bad value shown, fix given); every role's, checked before docker_engine runs.
PREPARE_CASES = [
    ("engine service manager", {"docker_engine_service_manager": "upstart"}, "docker_engine_service_manager",
     "upstart", "auto, systemd, service, none"),
    ("iptables back end", {"docker_engine_iptables_backend": "ebpf"}, "docker_engine_iptables_backend", "ebpf",
     "keep, legacy, nft"),
    ("userland proxy not a boolean", "docker_engine_userland_proxy=maybe", "docker_engine_userland_proxy", "maybe",
     "Valid booleans"),
    ("start timeout not a number", "docker_engine_start_timeout=soon", "docker_engine_start_timeout", "soon",
     "convert to int"),
    ("rsyslog service manager", {"rsyslog_kern_service_manager": "runit"}, "rsyslog_kern_service_manager", "runit",
     "auto, systemd, service, none"),
    ("relative kernel log path", {"rsyslog_kern_log_path": "iptables.log"}, "rsyslog_kern_log_path", "iptables.log",
     "/var/log/iptables.log"),
    ("drop-in rsyslog does not read", {"rsyslog_kern_dropin": "/etc/rsyslog.d/30-packetflow-kern.txt"},
     "rsyslog_kern_dropin", "30-packetflow-kern.txt", "/etc/rsyslog.d/30-packetflow-kern.conf"),
    ("rotation size", {"rsyslog_kern_rotate_size": "huge"}, "rsyslog_kern_rotate_size", "huge", "such as 100M"),
    ("negative rotation count", {"rsyslog_kern_rotate_keep": -1}, "rsyslog_kern_rotate_keep", "-1", "0 to 1000"),
    ("zero probe timeout", {"rsyslog_kern_verify_timeout": 0}, "rsyslog_kern_verify_timeout", "0", "1 to 3600"),
    ("logger that writes no kernel log line", {"nf_log_logger": "nfnetlink_log"}, "nf_log_logger", "nfnetlink_log",
     "nf_log_ipv4"),
    ("no logger module", {"nf_log_modules": []}, "nf_log_modules", "[]", "non-empty list"),
    ("unknown logger module", {"nf_log_modules": ["nf_log_bogus"]}, "nf_log_modules", "nf_log_bogus",
     "nf_log_ipv4, nf_log_syslog"),
    ("sysctl file sysctl does not read", {"nf_log_sysctl_file": "/etc/sysctl.d/90-packetflow-nf_log"},
     "nf_log_sysctl_file", "90-packetflow-nf_log", ".conf"),
    ("extra packages as one string", {"tcpdump_extra_packages": "ethtool conntrack"}, "tcpdump_extra_packages",
     "ethtool conntrack", "one name per entry"),
    ("lab image source", {"lab_image_source": "ftp"}, "lab_image_source", "ftp", "auto, pull, archive, local"),
]

REPORT_CASES = [
    ("no packet rows", {"report_max_packets": 0}, "report_max_packets", "0", "1 or more"),
    ("relative report folder", {"report_dir": "reports"}, "report_dir", "reports", "absolute directory"),
    ("hosts as a string", "report_hosts=web-01", "report_hosts", "web-01", "as a list"),
]

CLEANUP_CASES = [
    ("run id with a slash", "packetflow_run_id=pf-2026/1", "packetflow_run_id", "pf-2026/1", "pf-<date>-<hex>"),
    ("run id without the pf- prefix", "packetflow_run_id=web1", "packetflow_run_id", "web1", "pf-<date>-<hex>"),
]


def _cases(cases):
    return pytest.mark.parametrize("extra_vars, variable, value, fix", [c[1:] for c in cases],
                                   ids=[c[0] for c in cases])


@_cases(PREPARE_CASES)
def test_prepare_refuses(extra_vars, variable, value, fix):
    with host_unchanged():
        proc = run_playbook(PREPARE, extra_vars)
    assert_refused(proc, variable, value, fix)
    assert "dockernet.packetflow.docker_engine : " not in proc.stdout, "a role ran before the refusal"


@_cases(REPORT_CASES)
def test_report_refuses(tmp_path, extra_vars, variable, value, fix):
    given = extra_vars if isinstance(extra_vars, dict) else dict([extra_vars.split("=", 1)])
    safe = {} if "report_dir" in given else {"report_dir": str(tmp_path / "reports")}
    with host_unchanged():
        proc = run_playbook(REPORT, safe, extra_vars)
    assert_refused(proc, variable, value, fix)
    assert not (tmp_path / "reports").exists()


@_cases(CLEANUP_CASES)
def test_cleanup_refuses(extra_vars, variable, value, fix):
    with host_unchanged():
        proc = run_playbook(CLEANUP, extra_vars)
    assert_refused(proc, variable, value, fix)
    assert "Remove leftovers by tag and label" not in proc.stdout
