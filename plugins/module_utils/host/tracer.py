# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scoped TRACE per back end: arm, collect, disarm.

legacy    iptables-legacy TRACE rules, records read from /dev/kmsg since arming
nft       iptables-nft TRACE rules, ``xtables-monitor --trace`` running during the traffic
nftables  a table of our own with ``meta nftrace set 1``, ``nft monitor trace``

An IPv6 run does the same with ip6tables-legacy/ip6tables-nft and an ip6 table; both monitors read both families.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import time
from typing import Any

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.capture import netns_prefix
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.commands import RUNNER
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import Names
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.trace_scope import (
    directions,
    flow_addresses,
    flow_ports,
    iptables_matches,
    is_six,
    nft_matches,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.tracer_bridge import BridgeTrace

CHAINS = ("PREROUTING", "OUTPUT")
TRACE_FORMAT = {"legacy": "legacy", "nft": "xtables-monitor", "nftables": "nft-monitor"}
# iptables lines read " SRC=a DST=b ", ebtables lines " IP SRC=a IP DST=b, " (IPv6: "IPv6 SRC=...").
_SRC_DST = re.compile(r" SRC=(\S+) (?:IPv6 |IP )?DST=([^\s,]+)[ ,]")
_PORTS = re.compile(r" SPT=(\d+) DPT=(\d+)")
# The kernel log's own suppression: net_ratelimit / printk_ratelimited summaries and console drops.
_SUPPRESSED = re.compile(
    r"(\d+) (?:callbacks|messages|output lines)\b[^\n]*suppressed|\*\* (\d+) printk messages dropped"
)
# A trace monitor's netlink socket overran (ENOBUFS): nft says so and goes on, xtables-monitor exits.
_OVERRUN = re.compile(r"No buffer space available|ENOBUFS|lost some netlink events", re.I)


def netlink_sockets(pid):
    """[(groups, rmem)] of the netlink sockets process pid holds (from its namespace's
    /proc/net/netlink); None when that cannot be read."""
    try:
        inodes = set()
        for name in os.listdir("/proc/%s/fd" % pid):
            link = os.readlink("/proc/%s/fd/%s" % (pid, name))
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        with open("/proc/%s/net/netlink" % pid) as handle:
            rows = [line.split() for line in handle.read().splitlines()[1:]]
    except OSError:
        return None
    return [(int(row[3], 16), int(row[4])) for row in rows if len(row) >= 10 and row[9] in inodes]


def raw_chains(listing):
    """{chain: number of rules} of an ``nft list table`` listing."""
    chains: dict = {}
    chain = None
    for line in listing.splitlines():
        words = line.split()
        if words[:1] == ["chain"]:
            chain = words[1]
            chains[chain] = 0
        elif words[:1] == ["}"]:
            chain = None
        elif chain and words and words[0] not in ("type", "policy", "comment"):
            chains[chain] += 1
    return chains


def wait_for_socket(pid, timeout):
    """Wait until process pid listens: its netlink socket joined a group (the trace events' group);
    raise on exit or timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(groups for groups, dummy in netlink_sockets(pid) or []):
            return
        time.sleep(0.005)
    raise RuntimeError("trace monitor (pid %s) did not start within %ss" % (pid, timeout))


class Tracer:
    """Arm and disarm scoped tracing on one back end, and collect what it traced."""

    def __init__(self, backend, run_id, legs, workdir, pid=None, timeout=10, runner=RUNNER, bridge=False):
        if backend not in TRACE_FORMAT:
            raise RuntimeError("cannot trace: Docker's firewall back end is unknown (%s)" % backend)
        names = Names(run_id)
        self.backend = backend
        self.run_id = run_id
        self.runner = runner
        self.tag = names.tag
        self.legs = directions(legs)
        # One run traces one family: ip6tables and the ip6 family for IPv6, iptables and ip for IPv4.
        self.ip, self.xt = ("ip6", "ip6tables") if any(is_six(leg) for leg in self.legs) else ("ip", "iptables")
        # xtables-monitor 1.8.9 exits at the first IPv6 packet an ip6tables-nft port match sees (measured, see
        # tests/unit/fixtures/traces/README.md): on iptables-nft, nft monitor trace reads the IPv6 hops.
        self.reader = "nftables" if backend == "nft" and self.ip == "ip6" else backend
        self.trace_format = TRACE_FORMAT[self.reader]
        self.addresses = flow_addresses(self.legs)
        self.ports = flow_ports(self.legs)
        self.prefix = netns_prefix(pid)
        self.timeout = timeout
        self.log_path = os.path.join(workdir, "trace.log")
        self.table = names.nft_table
        self.armed = []
        self.created = []
        self.kmsg: Any = None
        self.kmsg_seq = None
        self.monitor = None
        self.lines = []
        self.lost = {"kernel_suppressed": 0, "kmsg_overrun": 0, "monitor_overruns": 0}
        self.warnings = []
        # Bridged frames too (tracer_bridge.py), on the host: a container's own namespace has no Docker bridge.
        self.bridge = (
            BridgeTrace(backend, run_id, self.legs, nft_matches, timeout, runner) if bridge and not pid else None
        )

    def _here(self, argv):
        """Run argv in the traced namespace; return (rc, stdout, stderr)."""
        return self.runner.run(self.prefix + argv, timeout=self.timeout)

    def plan(self):
        """The rules this tracer adds, as command lines (for check mode and the result)."""
        bridge = self.bridge.commands() if self.bridge else []
        if self.backend == "nftables":
            return [" ".join(argv) for argv in self._nft_commands() + bridge]
        return [" ".join(argv) for argv in self._iptables_commands("-I") + bridge]

    def _iptables_commands(self, action):
        cmds = []
        for chain in CHAINS:
            for leg in self.legs:
                where = [chain, "1"] if action == "-I" else [chain]
                cmds.append(
                    self.prefix
                    + ["%s-%s" % (self.xt, self.backend), "-w", "5", "-t", "raw", action]
                    + where
                    + iptables_matches(leg)
                    + ["-m", "comment", "--comment", self.tag, "-j", "TRACE"]
                )
        return cmds

    def _nft_commands(self):
        cmds = [self.prefix + ["nft", "add", "table", self.ip, self.table]]
        for hook in ("prerouting", "output"):
            cmds.append(
                self.prefix
                + [
                    "nft",
                    "add chain %s %s %s { type filter hook %s priority -350 ; }" % (self.ip, self.table, hook, hook),
                ]
            )
            for leg in self.legs:
                cmds.append(
                    self.prefix
                    + [
                        "nft",
                        'add rule %s %s %s %s meta nftrace set 1 comment "%s"'
                        % (self.ip, self.table, hook, nft_matches(leg), self.tag),
                    ]
                )
        return cmds

    def start_collector(self):
        """Start listening before arming: seek /dev/kmsg to its end, or start the monitor."""
        if self.backend == "legacy":
            self.kmsg = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
            os.lseek(self.kmsg, 0, os.SEEK_END)
            self.kmsg_seq = self._mark_kmsg()
            return None
        argv = ["xtables-monitor", "--trace"] if self.reader == "nft" else ["nft", "monitor", "trace"]
        with open(self.log_path, "wb") as out:
            self.monitor = self.runner.spawn(self.prefix + argv, stdout=out, stderr=subprocess.STDOUT)
        wait_for_socket(self.monitor.pid, self.timeout)
        return self.monitor.pid

    def arm(self, remember=None):
        """Insert the TRACE rules at position 1 (or create the nftrace table). remember(objects) is
        called first with the nft objects iptables-nft will create, so a killed run can remove them."""
        if self.backend == "nftables":
            self.armed.append("table")
            for argv in self._nft_commands():
                self.runner.run(argv, timeout=self.timeout, check=True)
            self._arm_bridge(remember)
            return
        if self.backend == "nft":
            self.created = self._missing_nft_objects()
            if remember and not self.prefix:
                remember(self.created)
        rc, dummy, err = self._restore(self._iptables_commands("-I"))
        if rc != 0:
            raise RuntimeError("inserting the TRACE rules failed (rc %s): %s" % (rc, err.strip()))
        self.armed = self._iptables_commands("-D")
        self._arm_bridge(remember)

    def _restore(self, commands):
        """Apply iptables commands of the raw table in one iptables-restore --noflush transaction."""
        tool = "%s-%s-restore" % (self.xt, self.backend)
        lines = ["*raw"] + [" ".join(argv[len(self.prefix) + 5 :]) for argv in commands] + ["COMMIT", ""]
        path = os.path.join(os.path.dirname(self.log_path), "trace-rules.restore")
        with open(path, "w") as handle:
            handle.write("\n".join(lines))
        try:
            wait = ["-w", "5"] if self.backend == "legacy" else []
            return self._here([tool, "--noflush"] + wait + [path])
        finally:
            os.remove(path)

    def _arm_bridge(self, remember):
        if self.bridge is not None:
            self.bridge.arm(remember)

    def _missing_nft_objects(self):
        """The raw table and chains that iptables-nft will create on first use (removed again on disarm)."""
        rc, out, dummy = self._here(["nft", "list", "table", self.ip, "raw"])
        chains = raw_chains(out) if rc == 0 else {}
        missing = [["chain", self.ip, "raw", chain] for chain in CHAINS if chain not in chains]
        return missing + ([] if rc == 0 else [["table", self.ip, "raw"]])

    def disarm(self):
        """Remove what arm() added; return error messages (empty when all went)."""
        errors = []
        if self.backend == "nftables" and self.armed:
            rc, dummy, err = self._here(["nft", "delete", "table", self.ip, self.table])
            if rc != 0 and "No such file" not in err:
                errors.append(err.strip())
        else:
            if self.armed and self._restore(list(reversed(self.armed)))[0] != 0:
                # Some rule is gone or the transaction failed: one at a time, to say which.
                for argv in reversed(self.armed):
                    rc, dummy, err = self.runner.run(argv, timeout=self.timeout)
                    if rc != 0:
                        errors.append(err.strip())
            self._delete_created()
        if self.bridge is not None:
            errors += self.bridge.disarm()
        self.armed = []
        self.created = []
        return errors

    def _delete_created(self):
        """Delete the raw chains and table arm() made, in one nft transaction: only chains left empty,
        and the table only when no chain of others remains in it."""
        if not self.created:
            return
        rc, out, dummy = self._here(["nft", "list", "table", self.ip, "raw"])
        chains = raw_chains(out) if rc == 0 else {}
        doomed = [obj for obj in self.created if obj[0] == "chain" and chains.get(obj[3]) == 0]
        if ["table", self.ip, "raw"] in self.created and rc == 0 and set(chains) <= {obj[3] for obj in doomed}:
            doomed.append(["table", self.ip, "raw"])
        if doomed:
            self._here(["nft", "; ".join("delete " + " ".join(obj) for obj in doomed)])

    def collect(self, settle=0.03):
        """Stop collecting and return the raw trace lines (also written to trace.log)."""
        if self.kmsg is not None:
            self.lines = self._read_kmsg()
            with open(self.log_path, "w") as out:
                out.write("".join(line + "\n" for line in self.lines))
            return self.lines
        if self.monitor is not None:
            self._wait_quiet(settle, self.monitor.pid)
            died = self.monitor.poll()
            self.stop()
            with open(self.log_path, errors="replace") as handle:
                lines = handle.read().splitlines()
            overruns = [line for line in lines if _OVERRUN.search(line)]
            self.lost["monitor_overruns"] = len(overruns)
            self.lines = [line for line in lines if not _OVERRUN.search(line)]
            if died is not None:
                self.warnings.append(
                    "the trace monitor exited (rc %s) before the traffic ended: events after that are lost%s"
                    % (died, (" (%s)" % overruns[0].strip()) if overruns else "")
                )
        return self.lines

    def _wait_quiet(self, settle, pid):
        """Give the monitor time to print events still in flight: until it has read every event
        queued on its netlink socket and its output has not grown for settle seconds."""
        deadline = time.time() + max(settle * 5, 1.0)
        size, since = -1, time.time()
        while time.time() < deadline:
            now = os.path.getsize(self.log_path)
            queued = any(rmem for dummy, rmem in netlink_sockets(pid) or [])
            if now != size or queued:
                size, since = now, time.time()
            elif time.time() - since >= settle:
                return
            time.sleep(0.005)

    def _mark_kmsg(self):
        """Log a line of our own and read back its sequence number: records overwritten later are
        then counted exactly, from the sequence gap after it."""
        out = os.open("/dev/kmsg", os.O_WRONLY)
        try:
            os.write(out, ("packetflow: run %s collects trace records from here\n" % self.run_id).encode())
        finally:
            os.close(out)
        try:
            header = os.read(self.kmsg, 8192).decode("utf-8", "replace").split(";", 1)[0]
            return int(header.split(",")[1])
        except (OSError, IndexError, ValueError):
            return None

    def _read_kmsg(self):
        """Our TRACE lines since arming; counts records the ring overwrote before we read them
        (sequence gaps, EPIPE) and the kernel's own suppression summaries."""
        lines = []
        last_seq = self.kmsg_seq
        while True:
            try:
                record = os.read(self.kmsg, 8192)
            except OSError as exc:
                if exc.errno == errno.EPIPE:
                    self.lost["kmsg_overrun"] += last_seq is None
                    continue
                if exc.errno == errno.EAGAIN:
                    break
                raise
            if not record:
                break
            header, dummy, text = record.decode("utf-8", "replace").split("\n", 1)[0].partition(";")
            seq = int(header.split(",")[1]) if header.count(",") >= 2 else None
            if seq is not None and last_seq is not None and seq > last_seq + 1:
                self.lost["kmsg_overrun"] += seq - last_seq - 1
            last_seq = seq if seq is not None else last_seq
            suppressed = _SUPPRESSED.search(text)
            if suppressed:
                self.lost["kernel_suppressed"] += int(suppressed.group(1) or suppressed.group(2))
            elif "TRACE:" in text and self._ours(text):
                lines.append(header + ";" + text)
        os.close(self.kmsg)
        self.kmsg = None
        return lines

    def _ours(self, line):
        """Whether a kernel TRACE line concerns this run's flows: the kernel log is shared by
        every network namespace (and every container host on the kernel) that traces."""
        if self.addresses is None:
            return True
        match = _SRC_DST.search(line)
        if match is None or not (match.group(1) in self.addresses or match.group(2) in self.addresses):
            return False
        # Loopback flows of two hosts on one kernel share their addresses: their ports tell them apart.
        ports = _PORTS.search(line) if self.ports else None
        return ports is None or ports.group(1) in self.ports or ports.group(2) in self.ports

    def stop(self):
        """Stop the monitor or close /dev/kmsg; safe to call twice."""
        if self.kmsg is not None:
            os.close(self.kmsg)
            self.kmsg = None
        if self.monitor is not None:
            if self.monitor.poll() is None:
                self.monitor.send_signal(signal.SIGTERM)
            try:
                self.monitor.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self.monitor.kill()
                self.monitor.wait()
            self.monitor = None

    def ruleset(self):
        """The ruleset the trace refers to: {format, text}."""
        if self.reader == "nftables":
            dummy, out, dummy2 = self._here(["nft", "-j", "list", "ruleset"])
            return {"format": "nft-json", "text": out}
        dummy, out, dummy2 = self._here(["%s-%s-save" % (self.xt, self.backend)])
        ruleset = {"format": "iptables-save", "text": out}
        if self.backend == "nft":
            ruleset["base_chains"] = self.nft_base_chains()
        return ruleset

    def nft_base_chains(self):
        """'table:chain' of the base chains nftables really has in the run's family: iptables-nft-save
        also lists built-in chains that do not exist, and so see no packet."""
        dummy, out, dummy2 = self._here(["nft", "-j", "list", "chains", self.ip])
        try:
            items = json.loads(out).get("nftables", [])
        except ValueError:
            return None
        return sorted(
            "%s:%s" % (item["chain"]["table"], item["chain"]["name"])
            for item in items
            if "hook" in item.get("chain", {})
        )
