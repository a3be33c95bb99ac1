#!/usr/bin/python
# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: packetflow_cleanup
short_description: Remove whatever a killed packetflow run left behind
version_added: 0.1.0
description:
  - A run of M(dockernet.packetflow.packetflow_scenario) tears down everything it built, but a run
    killed with SIGKILL (or a host reboot mid-run) cannot. This module finds the leftovers by tag and
    label and removes them.
  - Removes TRACE rules tagged C(packetflow:<run_id>) from iptables-legacy and iptables-nft, nftables
    tables named C(pf_<run_id>), the empty raw chains iptables-nft created for a run, containers and
    networks labelled C(dockernet.packetflow.run),
    network namespaces C(pf-*) and host veths C(pfh*), tcpdump and trace monitor processes of a run,
    and puts back the sysctls a run changed (from its state file under C(/run/packetflow)).
  - Idempotent; a second call removes nothing and reports C(changed=false).
author:
  - dockernet.packetflow maintainers (@dockernet)
requirements:
  - root
  - Python Docker SDK (C(docker)) on the target, for containers and networks
options:
  run_id:
    description: Only remove what this run left. Default is every run's leftovers.
    type: str
extends_documentation_fragment:
  - dockernet.packetflow.docker
  - dockernet.packetflow.attributes
  - dockernet.packetflow.attributes.LINUX
  - dockernet.packetflow.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details:
      - In check mode it finds the leftovers and reports them in RV(removed) without removing anything.
  diff_mode:
    support: full
    details:
      - In diff mode RV(diff) shows, by kind, the leftovers found before and what is still there after.
seealso:
  - module: dockernet.packetflow.packetflow_scenario
"""

EXAMPLES = r"""
- name: Remove leftovers of every killed packetflow run
  dockernet.packetflow.packetflow_cleanup:

- name: Remove what one run left
  dockernet.packetflow.packetflow_cleanup:
    run_id: pf-20261125-1a2b3c

- name: Point every packetflow module at another Docker daemon
  module_defaults:
    group/dockernet.packetflow.packetflow:
      docker_host: tcp://127.0.0.1:2375
      timeout: 30
  block:
    - name: Learn the host's facts
      dockernet.packetflow.packetflow_facts:

    - name: Remove leftovers, showing what they were
      dockernet.packetflow.packetflow_cleanup:
      diff: true
"""

RETURN = r"""
removed:
  description: What was removed (or would be, in check mode), by kind.
  returned: always
  type: dict
  sample:
    rules: ["iptables-nft -t raw -D PREROUTING -s 172.17.0.1/32 ... --comment packetflow:pf-20261125-1a2b3c -j TRACE"]
    containers: [web1]
    networks: []
    nft_tables: []
    netns: [pf-1a2b3c]
    links: [pfh1a2b3c]
    processes: [4242]
    sysctls: {/proc/sys/net/netfilter/nf_log_all_netns: "0"}
    state_files: [/run/packetflow/pf-20261125-1a2b3c.json]
errors:
  description: What could not be removed.
  returned: always
  type: list
  elements: str
diff:
  description:
    - The leftovers by kind (the keys of RV(removed)), before the module ran and after it.
    - C(after) holds what is still there, the leftovers that could not be removed; in check mode it
      is what would be left, so empty.
  returned: in diff mode
  type: dict
  contains:
    before:
      description: Leftovers found, by kind.
      type: dict
    after:
      description: Leftovers still there, by kind.
      type: dict
  sample:
    before: {containers: [web1], netns: [pf-1a2b3c], rules: [], networks: [], nft_tables: [], links: [],
             processes: [], sysctls: {}, state_files: []}
    after: {containers: [], netns: [], rules: [], networks: [], nft_tables: [], links: [],
            processes: [], sysctls: {}, state_files: []}
"""

import glob
import json
import os
import re
import shlex
import signal

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.facts import run
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.lab import LABEL, STATE_DIR

try:
    import docker
    HAS_DOCKER = True
except ImportError:
    HAS_DOCKER = False

OURS = ("tcpdump", "xtables-monitor", "nft")


def cmdline(pid):
    """argv of a process, or []."""
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as handle:
            return [a.decode("utf-8", "replace") for a in handle.read().split(b"\0") if a]
    except OSError:
        return []


class Cleaner(object):
    """Find and remove leftovers; check mode only lists them."""

    def __init__(self, run_id, docker_host, timeout, check_mode):
        self.run_id = run_id
        self.short = run_id.rsplit("-", 1)[-1] if run_id else ""
        self.docker_host = docker_host
        self.timeout = timeout
        self.check = check_mode
        self.removed = {k: [] for k in ("processes", "rules", "nft_tables", "containers", "networks",
                                        "netns", "links", "state_files")}
        self.removed["sysctls"] = {}
        self.errors = []

    def do(self, kind, name, argv=None, action=None):
        """Record and (unless in check mode) remove one thing."""
        if not self.check:
            try:
                if argv:
                    rc, dummy, err = run(argv, timeout=self.timeout)
                    if rc != 0:
                        raise RuntimeError(err.strip())
                if action:
                    action()
            except Exception as exc:
                self.errors.append("%s %s: %s" % (kind, name, exc))
                return
        self.removed[kind].append(name)

    def states(self):
        """State files of killed runs (all, or the one run)."""
        pattern = "%s.json" % (self.run_id or "pf-*")
        found = []
        for path in sorted(glob.glob(os.path.join(STATE_DIR, pattern))):
            try:
                with open(path) as handle:
                    found.append((path, json.load(handle)))
            except (OSError, ValueError) as exc:
                self.errors.append("state file %s: %s" % (path, exc))
        return found

    def processes(self, states):
        """tcpdump writing into a run directory, and monitors recorded in a state file."""
        pids = {p for dummy, state in states for p in state.get("pids", [])}
        tag = "/%s" % (self.run_id or "pf-")
        for entry in os.listdir("/proc"):
            argv = cmdline(entry) if entry.isdigit() else []
            if argv and os.path.basename(argv[0]) == "tcpdump" and any(tag in a for a in argv):
                pids.add(int(entry))
        for pid in sorted(pids):
            argv = cmdline(pid)
            if argv and os.path.basename(argv[0]) in OURS:
                self.do("processes", pid, action=lambda pid=pid: os.kill(pid, signal.SIGKILL))

    def rules(self):
        """TRACE rules tagged packetflow:<run_id> in both iptables back ends."""
        tag = "packetflow:%s" % (self.run_id or "pf-")
        for backend in ("legacy", "nft"):
            rc, out, dummy = run(["iptables-%s-save" % backend, "-t", "raw"], timeout=self.timeout)
            if rc != 0:
                continue
            for line in out.splitlines():
                if line.startswith("-A ") and tag in line:
                    args = shlex.split(line)
                    argv = ["iptables-%s" % backend, "-w", "5", "-t", "raw", "-D"] + args[1:]
                    self.do("rules", " ".join(argv), argv=argv)

    def nft_leftovers(self, states):
        """Empty raw chains and table that iptables-nft created for a killed run's TRACE rules."""
        for dummy, state in states:
            for objects in state.get("nft_created", []):
                for obj in objects:
                    rc, listing, dummy2 = run(["nft", "list"] + obj, timeout=self.timeout)
                    busy = "chain " in listing if obj[0] == "table" else len(listing.strip().splitlines()) > 5
                    if rc == 0 and not busy:
                        self.do("nft_tables", " ".join(obj), argv=["nft", "delete"] + obj)

    def nft_tables(self):
        """nftables tables pf_<run_id> of the nftables back end."""
        rc, out, dummy = run(["nft", "list", "tables"], timeout=self.timeout)
        prefix = "pf_" + (self.run_id or "pf-").replace("-", "_")
        for line in out.splitlines() if rc == 0 else []:
            match = re.match(r"table (\S+) (\S+)$", line.strip())
            if match and match.group(2).startswith(prefix):
                self.do("nft_tables", match.group(2), argv=["nft", "delete", "table", match.group(1), match.group(2)])

    def docker_objects(self):
        """Containers and networks labelled with a run id."""
        if not HAS_DOCKER:
            self.errors.append("Python Docker SDK missing: containers and networks not checked")
            return
        label = "%s=%s" % (LABEL, self.run_id) if self.run_id else LABEL
        try:
            client = docker.DockerClient(base_url=self.docker_host or "unix:///var/run/docker.sock",
                                         timeout=self.timeout)
            for cont in client.containers.list(all=True, filters={"label": label}):
                self.do("containers", cont.name, action=lambda c=cont: c.remove(force=True))
            for net in client.networks.list(filters={"label": label}):
                self.do("networks", net.name, action=net.remove)
        except Exception as exc:
            self.errors.append("Docker: %s" % exc)

    def namespaces(self, states):
        """Outside-client namespaces pf-* and host veths pfh*."""
        wanted = {n for dummy, state in states for n in state.get("netns", [])}
        dummy, out, dummy2 = run(["ip", "netns", "list"], timeout=self.timeout)
        for line in out.splitlines():
            name = line.split()[0] if line.split() else ""
            if name.startswith("pf-" + self.short) or name in wanted:
                self.do("netns", name, argv=["ip", "netns", "del", name])
        dummy, out, dummy2 = run(["ip", "-o", "link", "show"], timeout=self.timeout)
        for match in re.finditer(r"^\d+: (pfh[0-9a-f]+)[@:]", out, re.M):
            if match.group(1).startswith("pfh" + self.short):
                self.do("links", match.group(1), argv=["ip", "link", "del", match.group(1)])

    def sysctls(self, states):
        """Put back sysctls recorded in state files."""
        for dummy, state in states:
            for path, value in state.get("sysctls", {}).items():
                if not self.check:
                    try:
                        with open(path, "w") as handle:
                            handle.write(value)
                    except OSError as exc:
                        self.errors.append("%s: %s" % (path, exc))
                        continue
                self.removed["sysctls"][path] = value

    def run(self):
        """Remove everything, in the order that leaves nothing dangling."""
        states = self.states()
        self.processes(states)
        self.rules()
        self.nft_leftovers(states)
        self.nft_tables()
        self.docker_objects()
        self.namespaces(states)
        self.sysctls(states)
        if not self.errors:
            for path, dummy in states:
                self.do("state_files", path, action=lambda p=path: os.remove(p))
            if not self.check and os.path.isdir(STATE_DIR) and not os.listdir(STATE_DIR):
                os.rmdir(STATE_DIR)
        return self.removed, self.errors


def main():
    """Ansible entry point."""
    module = AnsibleModule(
        argument_spec=dict(
            run_id=dict(type="str"),
            docker_host=dict(type="str"),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    if os.geteuid() != 0:
        module.fail_json(msg="packetflow_cleanup must run as root; use become: true")
    run_id = module.params["run_id"]
    if run_id and not re.match(r"^pf-[A-Za-z0-9-]+$", run_id):
        module.fail_json(msg="run_id must look like pf-<date>-<hex> (got %s)" % run_id)
    removed, errors = Cleaner(run_id, module.params["docker_host"], module.params["timeout"],
                              module.check_mode).run()
    changed = any(removed.values())
    if errors:
        module.fail_json(msg="could not remove everything: %s" % "; ".join(errors),
                         changed=changed, removed=removed, errors=errors)
    module.exit_json(changed=changed, removed=removed, errors=errors)


if __name__ == "__main__":
    main()
