# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scoped tracing of bridged frames, beside the IP layer's TRACE, so that traffic between two ports of
one bridge shows even when br_netfilter hands nothing to iptables (bridge-nf-call-iptables 0 or absent).

nft, nftables  a bridge-family table of the run's own whose base chains (named after their hooks) set
               ``meta nftrace set 1`` for the flow: the trace monitor the back end already runs
               (xtables-monitor or nft monitor) prints its events in the same stream
legacy         ebtables log rules ``--log-prefix "TRACE: eb:<table>:<chain>"`` in chains of the run's own
               (``pf-<short>-<chain>``, jumped to from position 1 of the base chain), whose lines land in
               the kernel log among the iptables TRACE lines
"""

from __future__ import annotations

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import EB_HOOKS, Names

EBTABLES = "ebtables"
BRIDGE_HOOKS = ("prerouting", "input", "forward", "output", "postrouting")
# Before every other bridge chain (ebtables' nat PREROUTING is at -300): the frame is marked first.
PRIORITY = -310


def ebtables_matches(leg):
    """ebtables match arguments for one direction of a leg (IPv4, or IPv6 when an address has a colon)."""
    six = ":" in "%s%s" % (leg.get("src") or "", leg.get("dst") or "")
    opt = "--ip6-" if six else "--ip-"
    args = ["-p", "IPv6" if six else "IPv4"]
    for key in ("src", "dst"):
        if leg.get(key):
            args += [opt + key, str(leg[key])]
    proto = leg.get("proto")
    if proto:
        args += [opt + "proto", "ipv6-icmp" if six and proto == "icmp" else str(proto)]
        for key in ("sport", "dport"):
            if leg.get(key) and proto in ("tcp", "udp"):
                args += [opt + key, str(leg[key])]
    return args


class BridgeTrace:
    """Arm and disarm the bridge-layer tracing of one run; nft_matches(leg) gives an nft match."""

    def __init__(self, backend, run_id, legs, nft_matches, timeout=10, runner=None):
        names = Names(run_id)
        self.names = names
        self.mode = "ebtables" if backend == "legacy" else "nft"
        self.legs = legs
        self.nft_matches = nft_matches
        self.timeout = timeout
        self.runner = runner
        self.table = names.nft_bridge_table
        self.armed = False
        self.undo = []
        self.created = []

    def nft_statements(self):
        """The table, its hook chains and their rules, as nft statements in the order to add them."""
        statements = ["add table bridge %s" % self.table]
        for hook in BRIDGE_HOOKS:
            chain = "add chain bridge %s %s { type filter hook %s priority %d ; }"
            statements.append(chain % (self.table, hook.upper(), hook, PRIORITY))
            for leg in self.legs:
                rule = 'add rule bridge %s %s %s meta nftrace set 1 comment "%s"'
                statements.append(rule % (self.table, hook.upper(), self.nft_matches(leg), self.names.tag))
        return statements

    def commands(self):
        """The commands that arm it, as argv lists: on nft one transaction (nft applies all the statements
        of one call in one batch, or none of them)."""
        if self.mode == "nft":
            return [["nft", "; ".join(self.nft_statements())]]
        cmds = []
        for table, base in EB_HOOKS:
            chain = self.names.eb_chain(base)
            cmds.append([EBTABLES, "-t", table, "-N", chain, "-P", "RETURN"])
            cmds.append([EBTABLES, "-t", table, "-I", base, "1", "-j", chain])
            prefix = "TRACE: eb:%s:%s" % (table, base)
            for leg in self.legs:
                cmds.append(
                    [EBTABLES, "-t", table, "-A", chain]
                    + ebtables_matches(leg)
                    + ["--log-level", "warning", "--log-ip", "--log-ip6", "--log-prefix", prefix]
                )
        return cmds

    def undo_commands(self):
        """The commands that remove what commands() adds, in the order to run them."""
        if self.mode == "nft":
            return [["nft", "delete", "table", "bridge", self.table]]
        cmds = []
        for table, base in reversed(EB_HOOKS):
            chain = self.names.eb_chain(base)
            cmds.append([EBTABLES, "-t", table, "-D", base, "-j", chain])
            cmds.append([EBTABLES, "-t", table, "-F", chain])
            cmds.append([EBTABLES, "-t", table, "-X", chain])
        return cmds

    def arm(self, remember=None):
        """Add the table or the log rules; remember(objects) first hears of the nft tables and chains that
        ebtables-nft will create for them, which disarm removes again once empty."""
        if self.mode == "ebtables":
            self.created = self._missing_eb_tables()
            if remember and self.created:
                remember(self.created)
        self.armed = True
        self.undo = self.undo_commands()
        for argv in self.commands():
            self.runner.run(argv, timeout=self.timeout, check=True)

    def _missing_eb_tables(self):
        """The bridge tables ebtables-nft would make (with their base chains), as nft objects; none when
        nft is absent (ebtables-legacy's tables are not nft's)."""
        missing = []
        for table in ("filter", "nat"):
            rc, dummy, err = self.runner.run(["nft", "list", "table", "bridge", table], timeout=self.timeout)
            if rc != 0 and rc != 127:
                bases = [base for name, base in EB_HOOKS if name == table] + (["OUTPUT"] if table == "nat" else [])
                missing += [["chain", "bridge", table, base] for base in bases] + [["table", "bridge", table]]
        return missing

    def disarm(self):
        """Remove what arm() added; return error messages (a thing already gone is none)."""
        errors: list = []
        if not self.armed:
            return errors
        for argv in self.undo:
            rc, dummy, err = self.runner.run(argv, timeout=self.timeout)
            if rc != 0 and not _gone(err):
                errors.append(err.strip())
        for obj in self.created:
            rc, listing, dummy = self.runner.run(["nft", "list"] + obj, timeout=self.timeout)
            busy = "chain " in listing if obj[0] == "table" else len(listing.strip().splitlines()) > 5
            if rc == 0 and not busy:
                self.runner.run(["nft", "delete"] + obj, timeout=self.timeout)
        self.armed, self.undo, self.created = False, [], []
        return errors


def _gone(err):
    """Whether a delete failed only because the thing is not there (any more)."""
    return any(text in err for text in ("No such file", "does not exist", "No chain/target/match"))
