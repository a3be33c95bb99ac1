"""Run the collection's roles on this host and snapshot what they may change."""
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
ROLE_PLAYBOOK = Path(__file__).parent / "playbooks" / "role.yml"
WATCHED_DIRS = ["/etc/rsyslog.d", "/etc/logrotate.d", "/etc/docker", "/etc/sysctl.d", "/etc/modules-load.d"]
WATCHED_FILES = ["/etc/rsyslog.conf"]


def run_role(role, extra_vars=None, become_user=None, check=False):
    """ansible-playbook on localhost running one role; returns the completed process."""
    cmd = [str(BIN / "ansible-playbook"), "-i", str(REPO / "inventory" / "localhost.yml"),
           str(ROLE_PLAYBOOK), "-e", json.dumps(dict(extra_vars or {}, pf_role=role))]
    if become_user:
        # The system interpreter: the virtualenv's may sit where that user cannot read.
        cmd += ["-e", json.dumps({"ansible_become_user": become_user, "ansible_become_method": "ansible.builtin.sudo",
                                  "ansible_python_interpreter": "/usr/bin/python3"})]
    if check:
        cmd.append("--check")
    env = dict(os.environ, ANSIBLE_PIPELINING="1", ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)


def recap(output):
    """The counters of the play recap for localhost, e.g. {'changed': 0, 'failed': 1}."""
    line = re.search(r"^localhost\s+:(.*)$", output, re.M)
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))} if line else {}


def _command(args):
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    return proc.stdout if proc.returncode == 0 else "rc=%d" % proc.returncode


def _ruleset(args):
    """Ruleset text without counters and timestamps."""
    text = _command(args)
    text = re.sub(r"^#.*$", "", text, flags=re.M)
    text = re.sub(r"counter packets \d+ bytes \d+", "counter", text)
    return re.sub(r"\[\d+:\d+\]", "", text)


def host_state():
    """What a role may change on this host, in comparable form."""
    files = {}
    for top in WATCHED_DIRS:
        for path in sorted(Path(top).rglob("*")) if Path(top).is_dir() else []:
            if path.is_file():
                files[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    for name in WATCHED_FILES:
        path = Path(name)
        files[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    return {
        "files": files,
        "images": sorted(_command(["docker", "image", "ls", "-a", "-q", "--no-trunc"]).split()),
        "containers": sorted(_command(["docker", "ps", "-a", "-q", "--no-trunc"]).split()),
        "iptables-legacy": _ruleset(["iptables-legacy-save"]),
        "iptables-nft": _ruleset(["iptables-nft-save"]),
        "nft": _ruleset(["nft", "list", "ruleset"]),
        "alternative": os.path.realpath("/etc/alternatives/iptables"),
        "sysctl": {k: Path("/proc/sys/net/netfilter", k).read_text()
                   for k in ("nf_log/2", "nf_log/10", "nf_log_all_netns")},
    }


@pytest.fixture
def unchanged_host():
    """Asserts after the test that the host is as it was before it."""
    before = host_state()
    yield
    after = host_state()
    assert after == before
