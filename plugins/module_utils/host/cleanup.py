# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Find what runs left on the host, by the names and tags of host/ownership.py, and remove it.

Idempotent: a thing that is gone by the time it is removed (its run finished meanwhile, or another
cleanup got there first) is not an error, and neither is a state file that vanishes while read.
"""

from __future__ import annotations

import os
import re
import signal
import time
from typing import Any

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import ownership
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.commands import RUNNER, read
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.tracer_bridge import EBTABLES

KINDS = ("processes", "rules", "nft_tables", "containers", "networks", "netns", "links", "sysctls", "state_files")
BACKENDS = ("legacy", "nft")


def by_kind():
    """An empty record of leftovers: a list per kind, sysctls as {path: value}."""
    record: dict[str, Any] = {kind: [] for kind in KINDS}
    record["sysctls"] = {}
    return record


class Cleaner:
    """Removes the leftovers of one run (run_id) or of every run (None); check mode only lists them."""

    def __init__(
        self,
        run_id=None,
        client=None,
        check_mode=False,
        timeout=10,
        runner=RUNNER,
        state_dir=ownership.STATE_DIR,
        proc_root="/proc",
        owner=False,
    ):
        self.run_id, self.client, self.check = run_id, client, check_mode
        self.timeout, self.runner, self.owner = timeout, runner, owner
        self.state_dir, self.proc_root = state_dir, proc_root
        self.removed, self.found, self.errors = by_kind(), by_kind(), []
        self.live, self.spared = [], set()

    def _sh(self, argv):
        return self.runner.run(argv, timeout=self.timeout)

    def _must(self, argv):
        rc, dummy, err = self._sh(argv)
        if rc != 0:
            raise RuntimeError(err.strip() or "%s: rc %s" % (" ".join(argv), rc))

    def remove(self, kind, name, action, still_there):
        """Remove one thing (not in check mode); when removing fails but it is gone, it is no error.
        Things of a live run are left alone."""
        if name in self.spared or any(part in self.spared for part in str(name).split()):
            return
        self.found[kind].append(name)
        if not self.check:
            try:
                action()
            except Exception as exc:
                if still_there():
                    self.errors.append("%s %s: %s" % (kind, name, exc))
                else:
                    self.found[kind].remove(name)
                return
        self.removed[kind].append(name)

    def processes(self, states):
        """Processes carrying the run's environment tag, recorded in a state file or not."""
        for pid in ownership.tagged_processes(self.run_id, proc_root=self.proc_root):
            self.remove(
                "processes",
                pid,
                lambda pid=pid: self.runner.kill(pid, signal.SIGKILL),
                lambda pid=pid: bool(ownership.tagged_processes(self.run_id, [pid], self.proc_root)),
            )

    def rules(self):
        """TRACE rules whose comment is a run's tag, in both iptables back ends, of IPv4 and IPv6. Legacy's raw
        table is read only when loaded: reading it would load it."""
        for xt, names in (("iptables", "ip_tables_names"), ("ip6tables", "ip6_tables_names")):
            legacy_tables = (read(os.path.join(self.proc_root, "net", names)) or "").split()
            for backend in BACKENDS:
                if backend != "legacy" or "raw" in legacy_tables:
                    self._tagged_rules("%s-%s" % (xt, backend))

    def _tagged_rules(self, tool):
        """Remove the run's TRACE rules from the raw table of one tool (iptables-nft, ip6tables-legacy...)."""
        rc, out, dummy = self._sh([tool + "-save", "-t", "raw"])
        for args in ownership.tagged_rules(out, self.run_id) if rc == 0 else []:
            base = [tool, "-w", "5", "-t", "raw"]
            delete, check = base + ["-D"] + args[1:], base + ["-C"] + args[1:]
            self.remove(
                "rules",
                " ".join(delete),
                lambda argv=delete: self._must(argv),
                lambda argv=check: self._sh(argv)[0] == 0,
            )

    def eb_chains(self):
        """The ebtables chains of a run's bridge log rules, with the jump to each from its base chain."""
        for table in sorted({table for table, dummy in ownership.EB_HOOKS}):
            for chain in self._eb_chains(table):
                if ownership.owns_eb_chain(chain, self.run_id):
                    base = chain.rsplit("-", 1)[1]
                    self.remove(
                        "rules",
                        "ebtables -t %s %s" % (table, chain),
                        lambda t=table, b=base, c=chain: self._drop_eb_chain(t, b, c),
                        lambda t=table, c=chain: c in self._eb_chains(t),
                    )

    def _eb_chains(self, table):
        rc, out, dummy = self._sh([EBTABLES, "-t", table, "-L"])
        return re.findall(r"^Bridge chain: ([^,\s]+),", out, re.M) if rc == 0 else []

    def _drop_eb_chain(self, table, base, chain):
        self._sh([EBTABLES, "-t", table, "-D", base, "-j", chain])
        self._must([EBTABLES, "-t", table, "-F", chain])
        self._must([EBTABLES, "-t", table, "-X", chain])

    def nft_created(self, states):
        """Raw chains and table that iptables-nft created for a killed run, once empty."""
        for dummy, state in states:
            for objects in state["nft_created"]:
                for obj in objects:
                    rc, listing, dummy2 = self._sh(["nft", "list"] + obj)
                    busy = "chain " in listing if obj[0] == "table" else len(listing.strip().splitlines()) > 5
                    if rc == 0 and not busy:
                        self._remove_nft("nft_tables", obj)

    def _remove_nft(self, kind, obj):
        self.remove(
            kind,
            " ".join(obj),
            lambda: self._must(["nft", "delete"] + obj),
            lambda: self._sh(["nft", "list"] + obj)[0] == 0,
        )

    def nft_tables(self):
        """nftables tables of a run (the nftables back end's tracing)."""
        rc, out, dummy = self._sh(["nft", "list", "tables"])
        for line in out.splitlines() if rc == 0 else []:
            match = re.match(r"table (\S+) (\S+)$", line.strip())
            if match and ownership.owns_table(match.group(2), self.run_id):
                self._remove_nft("nft_tables", ["table", match.group(1), match.group(2)])

    def docker_objects(self):
        """Containers and networks labelled with a run id."""
        if self.client is None:
            return
        labelled = ownership.label_filter(self.run_id)
        try:
            for cont in self.client.containers.list(all=True, filters=labelled):
                if cont.labels.get(ownership.LABEL) in self.live:
                    continue
                self.remove(
                    "containers",
                    cont.name,
                    lambda c=cont: c.remove(force=True),
                    lambda c=cont: bool(self.client.containers.list(all=True, filters={"id": c.id})),
                )
            for net in self.client.networks.list(filters=labelled):
                if (net.attrs.get("Labels") or {}).get(ownership.LABEL) in self.live:
                    continue
                self.remove(
                    "networks",
                    net.name,
                    net.remove,
                    lambda n=net: bool(self.client.networks.list(filters={"id": n.id})),
                )
        except Exception as exc:
            self.errors.append("Docker: %s" % exc)

    def namespaces(self, states):
        """The outside clients' namespaces and host veths."""
        netns = {n for dummy, state in states for n in state["netns"]}
        links = {n for dummy, state in states for n in state["links"]}
        for name in self._netns():
            if name in netns or ownership.owns_netns(name, self.run_id):
                self.remove(
                    "netns",
                    name,
                    lambda n=name: self._must(["ip", "netns", "del", n]),
                    lambda n=name: n in self._netns(),
                )
        dummy, out, dummy2 = self._sh(["ip", "-o", "link", "show"])
        for name in re.findall(r"^\d+: ([^:@\s]+)[@:]", out, re.M):
            if name in links or ownership.owns_link(name, self.run_id):
                self.remove(
                    "links",
                    name,
                    lambda n=name: self._must(["ip", "link", "del", n]),
                    lambda n=name: self._sh(["ip", "link", "show", "dev", n])[0] == 0,
                )

    def _netns(self):
        dummy, out, dummy2 = self._sh(["ip", "netns", "list"])
        return [line.split()[0] for line in out.splitlines() if line.split()]

    def sysctls(self, states):
        """Put back the sysctls recorded in state files."""
        for dummy, state in states:
            for path, value in state["sysctls"].items():
                self.found["sysctls"][path] = value
                if not self.check:
                    try:
                        ownership.write_sysctl(path, value)
                    except OSError as exc:
                        self.errors.append("sysctl %s: %s" % (path, exc))
                        continue
                self.removed["sysctls"][path] = value

    def run(self):
        """Remove everything, in the order that leaves nothing dangling; return (removed, errors)."""
        states, errors = ownership.load_states(self.run_id, self.state_dir)
        self.errors += errors
        states = self._spare_live(states)
        if self.run_id in self.live:
            return self.removed, self.errors
        self.processes(states)
        self.rules()
        self.eb_chains()
        self.nft_created(states)
        self.nft_tables()
        self.docker_objects()
        self.namespaces(states)
        self.sysctls(states)
        if not self.errors:
            for path, dummy in states:
                self.remove(
                    "state_files", path, lambda p=path: ownership.remove_state_file(p), lambda p=path: os.path.exists(p)
                )
            self.stale_locks()
        return self.removed, self.errors

    def stale_locks(self):
        """Lock files of dead runs that never wrote a state file (killed right after taking the lock)."""
        for path in ownership.lock_files(self.run_id, self.state_dir):
            state = path[: -len(".lock")] + ".json"
            if os.path.basename(state)[: -len(".json")] not in self.live and not os.path.exists(state):
                self.remove(
                    "state_files",
                    path,
                    lambda s=state: ownership.remove_state_file(s),
                    lambda p=path: os.path.exists(p),
                )

    def _spare_live(self, states):
        """The states of dead runs; the names of live ones (their lock is held) go into self.spared."""
        if not self.owner:
            self.live = ownership.locked_runs(self.state_dir)
        for run_id in self.live:
            names = ownership.Names(run_id)
            self.spared |= {names.tag, names.nft_table, names.nft_bridge_table, names.netns, names.host_veth}
            self.spared |= {names.eb_chain(base) for dummy, base in ownership.EB_HOOKS}
            self.spared |= set(ownership.tagged_processes(run_id, proc_root=self.proc_root))
        return [(path, state) for path, state in states if state["run_id"] not in self.live]

    def converge(self, settle=1.0, passes=8):
        """Pass after pass, settle seconds apart, until one has no error and finds nothing new; at least
        two, since a creation in flight when the owner died lands late (or is still being removed)."""
        for index in range(passes):
            before = sum(len(found) for found in self.found.values())
            self.errors = []
            self.run()
            if not self.errors and index and sum(len(found) for found in self.found.values()) == before:
                break
            time.sleep(settle)
        return self.removed, self.errors

    def diff(self):
        """Ansible diff: the leftovers found before, by kind, and those still there after."""
        after = by_kind()
        for kind in KINDS:
            if kind == "sysctls":
                after[kind] = {k: v for k, v in self.found[kind].items() if k not in self.removed[kind]}
            else:
                after[kind] = [name for name in self.found[kind] if name not in self.removed[kind]]
        return {"before": self.found, "after": after}


def reap_run(run_id, connect, timeout, state_dir=ownership.STATE_DIR):
    """What a reaper does when its run's module died: remove all the run owns until nothing more turns up.
    connect() gives a Docker client; without one the rest is still removed."""
    try:
        client = connect()
    except Exception:
        client = None
    return Cleaner(run_id, client, timeout=timeout, state_dir=state_dir, owner=True).converge()
