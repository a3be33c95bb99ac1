"""Runners and checks for the bad-input suite; snapshots come from the roles and scenario suites."""
import contextlib
import functools
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
BIN = Path(sys.executable).parent
# Words that only appear when a template or the Python code broke, never in a refusal.
INTERNAL_ERRORS = ("Traceback", "object of type", "AnsibleUndefinedVariable", "template error", "MODULE FAILURE",
                   "has no attribute")


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROLES_SUPPORT = _load("pf_roles_support", HERE.parent / "roles" / "conftest.py")
SCENARIO_SUPPORT = _load("pf_scenario_support", HERE.parent / "scenarios" / "conftest.py")


def host_snapshot():
    """Containers, images, networks, both iptables back ends, nft, sysctls, config files, netns, links, processes."""
    state = ROLES_SUPPORT.host_state()
    state.update(("run " + key, value) for key, value in SCENARIO_SUPPORT.snapshot().items())
    return state


@functools.cache
def _root_and_engine():
    if os.geteuid() != 0:
        return "the bad-input tests need root"
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        return "dockerd is not running"
    return None


@contextlib.contextmanager
def host_unchanged():
    """Asserts that the host is, after the block, exactly as before it (this suite has no conftest.py of its own:
    the roles suite's tests import theirs by the module name conftest)."""
    problem = _root_and_engine()
    if problem:
        pytest.fail(problem)
    before = host_snapshot()
    yield
    after = host_snapshot()
    changed = {key: (before[key], after.get(key)) for key in before if after.get(key) != before[key]}
    assert not changed, "the refusal changed the host: %s" % json.dumps(changed, indent=1, default=str)[:4000]


def run_playbook(playbook, *extra_vars):
    """ansible-playbook PLAYBOOK on localhost; each extra_vars is a dict (passed as JSON) or a key=value string."""
    cmd = [str(BIN / "ansible-playbook"), "-i", str(REPO / "inventory" / "localhost.yml"), str(playbook)]
    for each in extra_vars:
        cmd += ["-e", each if isinstance(each, str) else json.dumps(each)]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)


def assert_refused(proc, variable, value, fix):
    """The run failed, changed nothing, and its message names the variable, the bad value and the fix."""
    output = proc.stdout + proc.stderr
    flat = " ".join(output.split())
    assert proc.returncode != 0, "the bad input was accepted:\n" + output[-3000:]
    assert ROLES_SUPPORT.recap(output).get("changed", 0) == 0, output[-3000:]
    fixes = fix if isinstance(fix, tuple) else (fix,)
    assert variable in flat, "%r not named in:\n%s" % (variable, output[-3000:])
    assert str(value) in flat, "the bad value %r not shown in:\n%s" % (value, output[-3000:])
    assert any(f in flat for f in fixes), "no fix (%s) in:\n%s" % (" or ".join(fixes), output[-3000:])
    for word in INTERNAL_ERRORS:
        assert word not in output, "internal error %r in:\n%s" % (word, output[-3000:])


def run_module(name, args, tmp_path):
    """A module run directly the way Ansible runs it; its JSON result."""
    return SCENARIO_SUPPORT.run_module(name, args, tmp_path=tmp_path)
