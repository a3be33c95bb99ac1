# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Address families on this host: what Docker does with IPv6, the host's IPv6 addresses, and free ULA and
documentation subnets for a run's networks and its outside client. Nothing here changes the host."""

from __future__ import annotations

import ipaddress
import json
import os
import re

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.commands import read, run

FAMILIES = ("ipv4", "ipv6")
# Where the IPv6 fix is made: role dockernet.packetflow.docker_engine's variables.
IPV6_FIX = (
    "set docker_engine_ipv6: true, docker_engine_fixed_cidr_v6: a ULA /64 such as fd00:70f:1::/64 and "
    "docker_engine_ip6tables: true (role dockernet.packetflow.docker_engine; Docker before 27 also needs "
    "experimental: true in docker_engine_daemon_options), or trace only family ipv4"
)


def is_six(address):
    """Whether an address (or a network) is IPv6."""
    return ":" in str(address or "")


def docker_ip6tables(backend, runner_run=run):
    """Whether Docker keeps IPv6 rules (ip6tables true): its DOCKER chain in ip6tables, or its ip6 table."""
    if backend == "nftables":
        return runner_run(["nft", "list", "table", "ip6", "docker-bridges"])[0] == 0
    if backend not in ("legacy", "nft"):
        return False
    rc, out, dummy = runner_run(["ip6tables-%s-save" % backend, "-t", "filter"])
    return rc == 0 and re.search(r"^:DOCKER ", out, re.M) is not None


def ipv6_facts(client, backend):
    """The IPv6 facts of the host: docker_ipv6 (the default bridge has IPv6), docker_ip6tables, the primary
    IPv6 address, bridge-nf-call-ip6tables and nf_log_ipv6 (legacy's TRACE logger of IPv6)."""
    try:
        bridge = client.networks.get("bridge").attrs
    except Exception:
        bridge = {}
    return {
        "docker_ipv6": bool(bridge.get("EnableIPv6")),
        "docker_ip6tables": docker_ip6tables(backend),
        "primary_address6": primary_address6(),
        "bridge_nf_call_ip6tables": read("/proc/sys/net/bridge/bridge-nf-call-ip6tables"),
        "nf_log_ipv6": read("/proc/sys/net/netfilter/nf_log/10"),
    }


def check_ipv6(facts, scenario):
    """RuntimeError naming the fix when scenario cannot run in IPv6 on this host (before anything changes)."""
    if not facts.get("docker_ipv6"):
        raise RuntimeError(
            "family=ipv6 (scenario %s) but Docker's IPv6 is off on this host (the default bridge has "
            "EnableIPv6 false): %s" % (scenario, IPV6_FIX)
        )
    if not facts.get("docker_ip6tables"):
        raise RuntimeError(
            "family=ipv6 (scenario %s) but Docker keeps no IPv6 rules on this host (ip6tables is off, docker_ip6tables "
            "false): %s" % (scenario, IPV6_FIX)
        )
    if facts.get("backend") == "legacy" and facts.get("nf_log_ipv6") in (None, "NONE"):
        raise RuntimeError(
            "family=ipv6 (scenario %s) on iptables-legacy but net.netfilter.nf_log.10 is %s, so ip6tables TRACE "
            "logs nothing: run role dockernet.packetflow.nf_log (nf_log_ipv6: true)"
            % (scenario, facts.get("nf_log_ipv6"))
        )


def _six(argv):
    dummy, out, dummy2 = run(argv)
    try:
        return json.loads(out or "[]")
    except ValueError:
        return []


def primary_address6():
    """The global IPv6 address of the interface holding the IPv6 default route, else None."""
    routes = _six(["ip", "-6", "-j", "route", "show", "default"])
    dev = routes[0].get("dev") if routes else None
    for link in _six(["ip", "-6", "-j", "addr", "show", "scope", "global"]):
        if link.get("ifname") == dev:
            for addr in link.get("addr_info", []):
                return addr.get("local")
    return None


def used_networks6(client=None):
    """IPv6 networks routed or addressed on the host, and those of Docker's networks."""
    nets = []
    for route in _six(["ip", "-6", "-j", "route", "show", "table", "all"]):
        dst = route.get("dst", "")
        if dst not in ("default", "") and is_six(dst):
            nets.append(dst)
    for link in _six(["ip", "-6", "-j", "addr", "show"]):
        nets += ["%s/%s" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", []) if a.get("local")]
    for net in client.networks.list() if client is not None else []:
        nets += [c.get("Subnet") for c in (net.attrs.get("IPAM") or {}).get("Config") or [] if is_six(c.get("Subnet"))]
    found = []
    for net in nets:
        try:
            found.append(ipaddress.ip_network(net, strict=False))
        except ValueError:
            continue
    return found


def free_subnet6(base, prefixlen, used, tries=64, random_bytes=os.urandom):
    """A random /prefixlen of base (fd00::/8 for ULA, 2001:db8::/32 for documentation) that overlaps
    nothing in used, or None."""
    base = ipaddress.ip_network(base)
    span = prefixlen - base.prefixlen
    for dummy in range(tries):
        pick = int.from_bytes(random_bytes(16), "big") % (1 << span)
        net = ipaddress.ip_network((int(base.network_address) + (pick << (128 - prefixlen)), prefixlen))
        if not any(net.overlaps(other) for other in used):
            return net
    return None


def lab_subnets6(count, client=None):
    """count ULA /64s of one random /48 of fd00::/8 (RFC 4193), none overlapping the host's or Docker's."""
    if not count:
        return []
    used = used_networks6(client)
    site = free_subnet6("fd00::/8", 48, used)
    nets = list(site.subnets(new_prefix=64))[:count] if site else []
    if len(nets) < count:
        raise RuntimeError(
            "no free ULA subnet (fd00::/8) for the run's IPv6 networks: every one tried overlaps a route, an "
            "address or a Docker network here; remove stale networks (docker network prune) and retry"
        )
    return [str(net) for net in nets]


def peer_subnet6():
    """The documentation /64 (2001:db8::/32) of the outside client, overlapping nothing on the host."""
    net = free_subnet6("2001:db8::/32", 64, used_networks6())
    if net is None:
        raise RuntimeError(
            "no free documentation subnet (2001:db8::/32) for the outside client: every /64 tried is routed "
            "or addressed on this host"
        )
    return net
