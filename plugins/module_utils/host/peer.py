# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The outside client: a network namespace of the run's own, joined to the host by a veth pair,
with documentation-range addresses and a default route through the host."""

from __future__ import annotations

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.commands import RUNNER
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.facts import free_peer_subnet
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import Names


def outside_subnet():
    """The /30 the outside client gets, or RuntimeError naming the fix when every one is taken."""
    net = free_peer_subnet()
    if net is None:
        raise RuntimeError(
            "no free documentation-range subnet for the outside client: every /30 of 198.51.100.0/24, "
            "203.0.113.0/24 and 192.0.2.0/24 is routed or addressed on this host; free one of them "
            "(ip route / ip addr) or use a source other than the outside client"
        )
    return net


class Peer:
    """Creates the outside client's namespace and veth pair, and removes them again."""

    def __init__(self, run_id, state, timeout, runner=RUNNER):
        self.names = Names(run_id)
        self.state = state
        self.timeout = timeout
        self.runner = runner
        self.info = None

    def build(self, net, net6=None):
        """Create the namespace on the first two addresses of net (and of the IPv6 net6, when given); return
        {netns, ip, veth, host_veth, host_ip, and ip6, host_ip6 with net6}."""
        hosts = list(net.hosts())
        host_ip, peer_ip = str(hosts[0]), str(hosts[1])
        netns, host_if, peer_if = self.names.netns, self.names.host_veth, self.names.peer_veth
        self.info = {
            "netns": netns,
            "ip": peer_ip,
            "veth": peer_if,
            "host_veth": host_if,
            "host_ip": host_ip,
            "prefixlen": net.prefixlen,
        }
        self.state.add("netns", netns)
        self.state.add("links", host_if)
        for argv in (
            ["ip", "netns", "add", netns],
            ["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if, "netns", netns],
            ["ip", "addr", "add", "%s/%s" % (host_ip, net.prefixlen), "dev", host_if],
            ["ip", "link", "set", host_if, "up"],
            ["ip", "-n", netns, "addr", "add", "%s/%s" % (peer_ip, net.prefixlen), "dev", peer_if],
            ["ip", "-n", netns, "link", "set", peer_if, "up"],
            ["ip", "-n", netns, "link", "set", "lo", "up"],
            ["ip", "-n", netns, "route", "add", "default", "via", host_ip],
        ) + self._six(net6):
            self.runner.run(argv, timeout=self.timeout, check=True)
        return self.info

    def _six(self, net6):
        """The commands that give both ends an address of net6 (nodad: usable at once) and the client its route."""
        if net6 is None:
            return ()
        host_ip6, peer_ip6 = str(net6.network_address + 1), str(net6.network_address + 2)
        self.info = dict(self.info or {}, ip6=peer_ip6, host_ip6=host_ip6, prefixlen6=net6.prefixlen)
        netns, host_if, peer_if = self.names.netns, self.names.host_veth, self.names.peer_veth
        return (
            ["ip", "-6", "addr", "add", "%s/%s" % (host_ip6, net6.prefixlen), "dev", host_if, "nodad"],
            ["ip", "-n", netns, "-6", "addr", "add", "%s/%s" % (peer_ip6, net6.prefixlen), "dev", peer_if, "nodad"],
            ["ip", "-n", netns, "-6", "route", "add", "default", "via", host_ip6],
        )

    def teardown(self):
        """Remove the veth pair and the namespace; return error messages."""
        errors = []
        if self.info:
            for argv in (["ip", "link", "del", self.info["host_veth"]], ["ip", "netns", "del", self.info["netns"]]):
                rc, dummy, err = self.runner.run(argv, timeout=self.timeout)
                if rc != 0 and "Cannot find" not in err and "No such" not in err:
                    errors.append(err.strip())
            self.info = None
        return errors


def planned_peer():
    """The outside client a run would create, with placeholders (check mode)."""
    return {
        "netns": "pf-<id>",
        "ip": "<peer>",
        "host_ip": "<host side>",
        "ip6": "<peer IPv6>",
        "host_ip6": "<host side IPv6>",
        "veth": "pfp<id>",
        "host_veth": "pfh<id>",
    }
