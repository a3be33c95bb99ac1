"""Helpers for the end-to-end scenario tests on the real engine: run a module, snapshot the host."""

import json
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or os.path.join(REPO, ".venv", "collections")
MODULES = os.path.join(COLLECTIONS, "ansible_collections", "dockernet", "packetflow", "plugins", "modules")
PYTHON = os.path.join(REPO, ".venv", "bin", "python")
if not os.path.exists(PYTHON):
    PYTHON = sys.executable


def sh(argv, **kwargs):
    """stdout of a command ('' when it fails)."""
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          check=False, **kwargs)
    return proc.stdout


def run_module(name, args, env=None, user=None, timeout=120, tmp_path=None):
    """Run a module the way Ansible does (JSON args file), return its parsed JSON result."""
    path = os.path.join(str(tmp_path or "/tmp"), "args-%s-%s.json" % (name, os.getpid()))
    with open(path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    os.chmod(path, 0o644)
    argv = [PYTHON, os.path.join(MODULES, name + ".py"), path]
    if user:
        argv = ["setpriv", "--reuid", user, "--regid", user, "--clear-groups"] + argv
    environ = dict(os.environ, PYTHONPATH=COLLECTIONS)
    environ.update(env or {})
    proc = subprocess.run(argv, capture_output=True, env=environ,
                          text=True, timeout=timeout, check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError as exc:
        raise AssertionError("module %s printed no JSON (rc %s): %s %s" % (
            name, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])) from exc


def ruleset(argv):
    """A ruleset dump without counters and timestamps."""
    text = sh(argv)
    text = re.sub(r"^#.*$", "", text, flags=re.M)
    text = re.sub(r"\[\d+:\d+\]", "[0:0]", text)
    return re.sub(r"counter packets \d+ bytes \d+", "counter", text)


def ours(argv):
    """Processes that a run may leave: tcpdump, xtables-monitor, nft monitor."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                cmd = handle.read().split(b"\0")
        except OSError:
            continue
        name = os.path.basename(cmd[0].decode(errors="replace"))
        if name in ("tcpdump", "xtables-monitor") or (name == "nft" and b"monitor" in cmd):
            found.append(" ".join(c.decode(errors="replace") for c in cmd))
    return sorted(found)


def state_files():
    """The runs' state files; None without the directory, which the last run to end removes (maybe just now)."""
    try:
        return sorted(os.listdir("/run/packetflow"))
    except FileNotFoundError:
        return None


def snapshot():
    """Everything a run must leave exactly as found."""
    return {
        "iptables-legacy-save": ruleset(["iptables-legacy-save"]),
        "iptables-nft-save": ruleset(["iptables-nft-save"]),
        "nft list ruleset": ruleset(["nft", "list", "ruleset"]),
        "containers": sh(["docker", "ps", "-a", "--filter", "label=dockernet.packetflow.run", "-q"]),
        "networks": sh(["docker", "network", "ls", "--filter", "label=dockernet.packetflow.run", "-q"]),
        "netns": sorted(n for n in sh(["ip", "netns", "list"]).splitlines() if n.startswith("pf-")),
        "links": sorted(re.findall(r"^\d+: (pf[hp][0-9a-f]+)", sh(["ip", "-o", "link"]), re.M)),
        "processes": ours(None),
        "state": state_files(),
        "nf_log_all_netns": sh(["cat", "/proc/sys/net/netfilter/nf_log_all_netns"]),
    }


@pytest.fixture
def unchanged():
    """Assert the host is the same after the test as before it."""
    before = snapshot()
    yield before
    after = snapshot()
    for key in before:
        assert after[key] == before[key], "%s changed:\nbefore:\n%s\nafter:\n%s" % (key, before[key], after[key])


@pytest.fixture(scope="session", autouse=True)
def root_and_engine():
    """The suite needs root and a running dockerd."""
    if os.geteuid() != 0:
        pytest.fail("the scenario tests need root")
    if subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                      check=False).returncode != 0:
        pytest.fail("dockerd is not running")
