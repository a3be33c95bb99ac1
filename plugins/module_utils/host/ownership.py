# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Everything a run owns, named in one place: the run creates from it, cleanup finds from it.

A run ``pf-<date>-<hex>`` owns TRACE rules commented ``packetflow:<run_id>``, the nftables table
``pf_<run_id>`` (dashes as underscores) and the bridge-family table ``pf_<run_id>_br``, the ebtables chains
``pf-<short>-<HOOK>`` of its bridge log rules, the network namespace ``pf-<short>`` with the veth pair
``pfh<short>``/``pfp<short>`` (``short`` is the run id's last part), containers and networks labelled
``dockernet.packetflow.run=<run_id>``, processes whose environment holds ``PACKETFLOW_RUN=<run_id>``,
the sysctls it changed and its state file ``/run/packetflow/<run_id>.json``.
"""

from __future__ import annotations

import binascii
import errno
import fcntl
import glob
import json
import os
import re
import shlex
import time
from typing import Any

LABEL = "dockernet.packetflow.run"
TAG_PREFIX = "packetflow:"
ENV_TAG = "PACKETFLOW_RUN"
STATE_DIR = "/run/packetflow"
RUN_PREFIX = "pf-"
_SHORT = r"[A-Za-z0-9]{1,12}"
_RUN_ID = re.compile(r"^pf-(?:[A-Za-z0-9]+-)*%s$" % _SHORT)
_NETNS = re.compile(r"^pf-%s$" % _SHORT)
_HOST_VETH = re.compile(r"^pfh%s$" % _SHORT)
# The ebtables base chains a run logs bridged frames at, by table, in the order a frame meets them.
EB_HOOKS = (
    ("nat", "PREROUTING"),
    ("filter", "INPUT"),
    ("filter", "FORWARD"),
    ("filter", "OUTPUT"),
    ("nat", "POSTROUTING"),
)
_EB_CHAIN = re.compile(r"^pf-%s-(%s)$" % (_SHORT, "|".join(base for dummy, base in EB_HOOKS)))
STATE_KEYS: dict[str, Any] = {
    "run_id": None,
    "reaper": None,
    "pids": [],
    "netns": [],
    "links": [],
    "sysctls": {},
    "nft_created": [],
}


def new_run_id():
    """pf-<UTC date>-<6 hex>."""
    return "%s%s-%s" % (RUN_PREFIX, time.strftime("%Y%m%d", time.gmtime()), binascii.hexlify(os.urandom(3)).decode())


def check_run_id(run_id, option="run_id"):
    """Raise ValueError naming the option when run_id is not a valid run id."""
    if not _RUN_ID.match(run_id or ""):
        raise ValueError(
            "%s must look like pf-<date>-<hex>, e.g. %s: letters and digits in parts joined by '-', "
            "the last part at most 12 characters (got %r)" % (option, new_run_id(), run_id)
        )


class Names:
    """The names and tags of one run."""

    def __init__(self, run_id):
        self.run_id = run_id
        self.short = run_id.rsplit("-", 1)[-1]
        self.tag = TAG_PREFIX + run_id
        self.nft_table = "pf_" + run_id.replace("-", "_")
        self.nft_bridge_table = self.nft_table + "_br"
        self.netns = "pf-" + self.short
        self.host_veth = "pfh" + self.short
        self.peer_veth = "pfp" + self.short
        self.labels = {LABEL: run_id}
        self.env = {ENV_TAG: run_id}

    def eb_chain(self, base):
        """The ebtables chain of the run's log rules that base chain (PREROUTING, FORWARD...) jumps to."""
        return "pf-%s-%s" % (self.short, base)

    def network(self, index):
        """Name of the run's index-th Docker network."""
        return "%s-net%d" % (self.run_id, index)


def label_filter(run_id=None):
    """Docker list filter for the containers and networks of one run, or of every run."""
    return {"label": "%s=%s" % (LABEL, run_id) if run_id else LABEL}


def owns_tag(comment, run_id=None):
    """Whether a rule comment is the tag of run_id (of any run when None)."""
    if run_id:
        return comment == TAG_PREFIX + run_id
    return comment.startswith(TAG_PREFIX + RUN_PREFIX)


def owns_table(name, run_id=None):
    """Whether an nftables table name is the table of run_id (of any run when None)."""
    if run_id:
        return name in (Names(run_id).nft_table, Names(run_id).nft_bridge_table)
    return name.startswith("pf_" + RUN_PREFIX.replace("-", "_"))


def owns_eb_chain(name, run_id=None):
    """Whether an ebtables chain holds the bridge log rules of run_id (of any run when None)."""
    if run_id:
        return name in [Names(run_id).eb_chain(base) for dummy, base in EB_HOOKS]
    return bool(_EB_CHAIN.match(name))


def owns_netns(name, run_id=None):
    """Whether a network namespace is the outside client of run_id (of any run when None)."""
    return name == Names(run_id).netns if run_id else bool(_NETNS.match(name))


def owns_link(name, run_id=None):
    """Whether a host interface is the host side of run_id's veth (of any run when None)."""
    return name == Names(run_id).host_veth if run_id else bool(_HOST_VETH.match(name))


def owns_environ(environ, run_id=None):
    """Whether a process environment (bytes of /proc/<pid>/environ) carries the run's tag."""
    for entry in environ.split(b"\0"):
        key, dummy, value = entry.partition(b"=")
        if key == ENV_TAG.encode():
            return value.decode("utf-8", "replace") == run_id if run_id else value.startswith(RUN_PREFIX.encode())
    return False


def tagged_rules(save_text, run_id=None):
    """The ``-A`` lines of iptables-save output whose --comment is a run's tag, as argv lists."""
    found = []
    for line in save_text.splitlines():
        if not line.startswith("-A ") or TAG_PREFIX not in line:
            continue
        args = shlex.split(line)
        comments = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--comment"]
        if any(owns_tag(comment, run_id) for comment in comments):
            found.append(args)
    return found


def tagged_processes(run_id=None, pids=(), proc_root="/proc"):
    """Pids of processes that carry the run's environment tag: from pids, or every process when empty."""
    candidates = pids or [int(entry) for entry in os.listdir(proc_root) if entry.isdigit()]
    found = []
    for pid in candidates:
        try:
            with open(os.path.join(proc_root, str(pid), "environ"), "rb") as handle:
                environ = handle.read()
        except OSError:
            continue
        if owns_environ(environ, run_id) and pid not in found:
            found.append(pid)
    return sorted(found)


def write_sysctl(path, value):
    """Write value to a sysctl file."""
    with open(path, "w") as handle:
        handle.write(value)


def state_path(run_id, directory=STATE_DIR):
    """Where the state file of run_id lives."""
    return os.path.join(directory, "%s.json" % run_id)


def load_states(run_id=None, directory=STATE_DIR):
    """([(path, state)], [errors]) of the state files of run_id (of every run when None). A file that
    vanishes while it is read is skipped: its run finished meanwhile."""
    states, errors = [], []
    for path in sorted(glob.glob(state_path(run_id or RUN_PREFIX + "*", directory))):
        try:
            with open(path) as handle:
                data = json.load(handle)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                errors.append("state file %s: %s" % (path, exc))
            continue
        except ValueError as exc:
            errors.append("state file %s: %s" % (path, exc))
            continue
        states.append((path, dict(json.loads(json.dumps(STATE_KEYS)), **data)))
    return states, errors


def lock_path(run_id, directory=STATE_DIR):
    """The lock a live run holds (and its reaper after it), so that cleanup leaves the run alone."""
    return os.path.join(directory, "%s.lock" % run_id)


def hold_lock(run_id, directory=STATE_DIR):
    """Take the run's lock; it is held while the returned fd is open, in this process or a forked
    reaper. RuntimeError when another live run holds it."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(lock_path(run_id, directory), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise RuntimeError("run_id %s is in use by a live run; choose another run_id" % run_id) from None
    return fd


def is_live(run_id, directory=STATE_DIR):
    """Whether a live run, or its reaper, holds the lock of run_id."""
    try:
        fd = os.open(lock_path(run_id, directory), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def lock_files(run_id=None, directory=STATE_DIR):
    """The lock files of run_id, or of every run when None."""
    return sorted(glob.glob(lock_path(run_id or RUN_PREFIX + "*", directory)))


def locked_runs(directory=STATE_DIR):
    """The run ids whose lock a live run or its reaper holds."""
    runs = [os.path.basename(path)[: -len(".lock")] for path in lock_files(None, directory)]
    return [run_id for run_id in runs if is_live(run_id, directory)]


def remove_state_file(path):
    """Delete a state file, its lock and their directory once empty; a file already gone is fine."""
    lock = path[: -len(".json")] + ".lock"
    for remove, target in (
        (os.remove, path),
        (os.remove, path + ".tmp"),
        (os.remove, lock),
        (os.rmdir, os.path.dirname(path)),
    ):
        try:
            remove(target)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
                raise


class State:
    """What a run has created, kept in its state file for cleanup: the keys of STATE_KEYS."""

    def __init__(self, run_id, directory=STATE_DIR):
        self.path = state_path(run_id, directory)
        self.directory = directory
        self.data = json.loads(json.dumps(STATE_KEYS))
        self.data["run_id"] = run_id

    def add(self, key, value):
        """Record one created thing and write the file."""
        if value not in self.data[key]:
            self.data[key].append(value)
        self.save()

    def sysctl(self, path, value):
        """Set a sysctl, remembering its original value first (recorded before the write)."""
        with open(path) as handle:
            self.data["sysctls"].setdefault(path, handle.read().strip())
        self.save()
        write_sysctl(path, value)

    def restore(self):
        """Put back every sysctl changed; return error messages."""
        errors = []
        for path, value in self.data["sysctls"].items():
            try:
                write_sysctl(path, value)
            except OSError as exc:
                errors.append("%s: %s" % (path, exc))
        self.data["sysctls"] = {}
        return errors

    def save(self):
        """Write the state file (only root may read it), whole or not at all: a run killed while writing it
        leaves the previous version (or a .tmp that remove_state_file also removes), never an empty file."""
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory, mode=0o700)
        with open(self.path + ".tmp", "w") as handle:
            json.dump(self.data, handle)
        os.replace(self.path + ".tmp", self.path)

    def remove(self):
        """Delete the state file once everything is gone."""
        remove_state_file(self.path)
