# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host facts that decide how a scenario is traced and what it should show."""

from __future__ import annotations

import glob
import ipaddress
import json
import os
import re
import socket

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import family
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.commands import read, run


def iptables_default():
    """Which back end the plain `iptables` command uses: legacy, nft or None."""
    rc, out, dummy = run(["iptables", "-V"])
    if rc != 0:
        return None
    return "nft" if "nf_tables" in out else "legacy"


def docker_backend():
    """Which back end holds Docker's rules: nftables, nft, legacy or None."""
    rc, dummy, dummy2 = run(["nft", "list", "table", "ip", "docker-bridges"])
    if rc == 0:
        return "nftables"
    for name in ("nft", "legacy"):
        rc, out, dummy = run(["iptables-%s-save" % name, "-t", "nat"])
        if rc == 0 and re.search(r"^:DOCKER ", out, re.M):
            return name
    return None


def reported_backend(info):
    """The firewall back end ``docker info`` names (FirewallBackend.Driver, Docker 28.1+), or None."""
    return ((info or {}).get("FirewallBackend") or {}).get("Driver")


def reported_mismatch(reported, backend):
    """A warning when ``docker info`` names another back end than the one holding Docker's rules."""
    if not reported or backend is None or (reported == "nftables") == (backend == "nftables"):
        return None
    return (
        "docker info reports firewall backend %s but Docker's rules are in %s (Docker 28 with "
        "DOCKER_FIREWALL_BACKEND=nftables says nftables and keeps its bridge rules in iptables): "
        "packetflow traces where the rules are, %s." % (reported, backend, backend)
    )


def userland_proxy():
    """True unless dockerd runs with the userland proxy disabled."""
    pid = read("/var/run/docker.pid")
    cmdline = read("/proc/%s/cmdline" % pid, "") if pid else ""
    if "--userland-proxy=false" in cmdline.replace("\0", " "):
        return False
    try:
        with open("/etc/docker/daemon.json") as handle:
            return bool(json.load(handle).get("userland-proxy", True))
    except (OSError, ValueError):
        return True


def rsyslog_kern_file():
    """The file rsyslog writes kern.* messages to, if any."""
    for path in ["/etc/rsyslog.conf"] + sorted(glob.glob("/etc/rsyslog.d/*.conf")):
        for line in (read(path, "") or "").splitlines():
            match = re.match(r"\s*kern\.[*a-z]+\s+-?(/\S+)", line)
            if match:
                return match.group(1)
    return None


def addresses():
    """All IPv4 addresses of the host as (ifname, ip, prefixlen)."""
    dummy, out, dummy2 = run(["ip", "-4", "-j", "addr", "show"])
    found = []
    for link in json.loads(out or "[]"):
        for addr in link.get("addr_info", []):
            found.append((link["ifname"], addr["local"], addr["prefixlen"]))
    return found


def primary_address():
    """The IPv4 address of the interface holding the default route, else the first global one."""
    dummy, out, dummy2 = run(["ip", "-4", "-j", "route", "show", "default"])
    routes = json.loads(out or "[]")
    dev = routes[0].get("dev") if routes else None
    for ifname, ip, dummy in addresses():
        if ifname == dev:
            return ip
    for ifname, ip, dummy in addresses():
        if not ip.startswith("127.") and not ifname.startswith(("docker", "br-", "veth")):
            return ip
    return None


def used_networks():
    """Networks already routed on the host (to avoid for the outside client)."""
    dummy, out, dummy2 = run(["ip", "-4", "-j", "route", "show", "table", "all"])
    nets = []
    for route in json.loads(out or "[]"):
        dst = route.get("dst", "")
        if dst in ("default", "") or ":" in dst:
            continue
        try:
            nets.append(ipaddress.ip_network(dst, strict=False))
        except ValueError:
            continue
    for dummy, ip, prefix in addresses():
        nets.append(ipaddress.ip_network("%s/%s" % (ip, prefix), strict=False))
    return nets


def free_peer_subnet():
    """A /30 from the documentation ranges that collides with nothing on the host."""
    used = used_networks()
    for base in ("198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24"):
        for net in ipaddress.ip_network(base).subnets(new_prefix=30):
            if not any(net.overlaps(other) for other in used):
                return net
    return None


def interface_address(ifname):
    """The first IPv4 address of an interface, or None: a freshly started Docker 20.10 has no
    Gateway in the default bridge's IPAM config, but docker0 carries the address."""
    dummy, out, dummy2 = run(["ip", "-4", "-j", "addr", "show", "dev", ifname])
    try:
        links = json.loads(out or "[]")
    except ValueError:
        return None
    for link in links:
        for addr in link.get("addr_info", []):
            return addr.get("local")
    return None


def network_gateway(attrs):
    """Gateway of a Docker network from its inspect data, else the bridge's own address."""
    config = ((attrs.get("IPAM") or {}).get("Config") or [{}])[0]
    return config.get("Gateway") or interface_address(bridge_name(attrs))


def bridge_name(attrs):
    """The Linux bridge of a Docker bridge network."""
    options = attrs.get("Options") or {}
    return options.get("com.docker.network.bridge.name") or "br-" + attrs["Id"][:12]


def docker_bridges(client):
    """Docker's bridge networks: name, bridge interface, subnet, gateway."""
    bridges = []
    for net in client.networks.list():
        attrs = net.attrs
        if attrs.get("Driver") != "bridge":
            continue
        configs = (attrs.get("IPAM") or {}).get("Config") or [{}]
        bridges.append(
            {
                "name": attrs["Name"],
                "bridge": bridge_name(attrs),
                "subnet": configs[0].get("Subnet"),
                "gateway": network_gateway(attrs),
            }
        )
    return bridges


# The bridge layer's trace: ebtables log rules (legacy), or nftrace read by the back end's monitor.
BRIDGE_TOOL = {"legacy": ["ebtables", "--version"], "nftables": ["nft", "--version"], "nft": ["xtables-monitor", "-V"]}


def bridge_traced(backend):
    """Whether runs can trace the bridge layer here, and why not: xtables-monitor from 1.8.10 exits on
    bridge-family trace events, and a missing tool traces nothing."""
    if backend not in BRIDGE_TOOL:
        return False, None
    rc, out, err = run(BRIDGE_TOOL[backend])
    if rc != 0:
        return False, "the bridge layer is not traced: %s is not installed" % BRIDGE_TOOL[backend][0]
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", out + err)
    if backend == "nft" and (not found or tuple(int(part) for part in found.groups()) >= (1, 8, 10)):
        return False, (
            "the bridge layer is not traced: xtables-monitor %s exits on bridge-family trace events"
            % (".".join(found.groups()) if found else "(version unknown)")
        )
    return True, None


def gather(client):
    """Everything packetflow_facts reports; client is a docker.DockerClient."""
    backend = docker_backend()
    reported = reported_backend(client.info())
    default = iptables_default()
    bridge_call = read("/proc/sys/net/bridge/bridge-nf-call-iptables")
    facts = {
        "name": socket.gethostname(),
        "kernel": os.uname()[2],
        "docker_version": client.version().get("Version"),
        "backend": backend,
        "firewall_backend_reported": reported,
        "iptables_default": default,
        "userland_proxy": userland_proxy(),
        "br_netfilter": bridge_call == "1",
        "bridge_nf_call_iptables": bridge_call,
        "nf_log_ipv4": read("/proc/sys/net/netfilter/nf_log/2"),
        "nf_log_all_netns": read("/proc/sys/net/netfilter/nf_log_all_netns"),
        "primary_address": primary_address(),
        "bridges": docker_bridges(client),
        "rsyslog_kern_file": rsyslog_kern_file(),
        "warnings": [],
    }
    facts.update(family.ipv6_facts(client, backend))
    facts["bridge_traced"], why_not = bridge_traced(backend)
    if why_not:
        facts["warnings"].append(why_not)
    if backend is None:
        facts["warnings"].append("No Docker rules found in iptables-legacy, iptables-nft or nftables.")
    elif backend != "nftables" and default and default != backend:
        facts["warnings"].append(
            "The host's iptables command uses %s but Docker's rules are in %s: `iptables -L` "
            "shows the wrong tables; packetflow traces with iptables-%s." % (default, backend, backend)
        )
    mismatch = reported_mismatch(reported, backend)
    if mismatch:
        facts["warnings"].append(mismatch)
    return facts
