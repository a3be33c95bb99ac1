# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A flow's endpoints on a live host: containers (any network mode), the host, addresses, published
ports, read from the engine and the host's routes. Nothing here changes the host."""

from __future__ import annotations

import ipaddress
import json

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import facts as hostfacts
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.capture import netns_prefix
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.commands import RUNNER

KEYWORDS = ("host", "outside")


class FlowError(RuntimeError):
    """A flow that cannot be traced as asked: raised before anything changes."""


def _container(client, ref, option):
    """The running container ref names (name or id), or FlowError with the fix."""
    try:
        cont = client.containers.get(ref)
    except Exception as exc:
        if "No such container" in str(exc) or "404" in str(exc):
            raise FlowError(
                "%s: no container named %r on this host; name a running container (docker ps), "
                "'host', or an IP address" % (option, ref)
            ) from exc
        raise
    if cont.status != "running":
        raise FlowError(
            "%s: container %s is %s, not running; start it (docker start %s) or name another"
            % (option, cont.name, cont.status, cont.name)
        )
    return cont


def _networks(client, cont):
    """(network mode, {network: settings}) of a container; container:<other> reads the other's."""
    mode = cont.attrs["HostConfig"].get("NetworkMode") or "default"
    if mode.startswith("container:"):
        other = client.containers.get(mode.split(":", 1)[1])
        return mode, other.attrs["NetworkSettings"].get("Networks") or {}
    return mode, cont.attrs["NetworkSettings"].get("Networks") or {}


def container_endpoint(client, cont, prefer_networks=()):
    """A container as an endpoint: name, id, pid, network mode, and its address on a network
    (one it shares with prefer_networks when it has several)."""
    mode, nets = _networks(client, cont)
    endpoint = {
        "kind": "container",
        "name": cont.name,
        "id": cont.id[:12],
        "pid": cont.attrs["State"]["Pid"],
        "network_mode": mode,
        "network": None,
        "address": None,
        "gateway": None,
    }
    usable = {name: info for name, info in nets.items() if info.get("IPAddress")}
    if mode == "host" or not usable:
        return endpoint
    shared = [name for name in sorted(usable) if name in prefer_networks]
    name = (shared or sorted(usable))[0]
    endpoint.update(network=name, address=usable[name]["IPAddress"], gateway=usable[name].get("Gateway") or None)
    endpoint["bridge"] = _bridge(client, name)
    return endpoint


def _bridge(client, network):
    """The Linux bridge of a Docker bridge network, or None for other drivers."""
    try:
        attrs = client.networks.get(network).attrs
    except Exception:
        return None
    return hostfacts.bridge_name(attrs) if attrs.get("Driver") == "bridge" else None


def _containers_by_address(client):
    """{ip: container} of the running containers."""
    found = {}
    for cont in client.containers.list():
        for info in (cont.attrs["NetworkSettings"].get("Networks") or {}).values():
            if info.get("IPAddress"):
                found[info["IPAddress"]] = cont
    return found


def is_address(value):
    """True when value is an IP address (of either family)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def parse_address(value, option):
    """An IPv4 address, or FlowError naming the option (IPv6 flows are not traced yet)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version != 4:
        raise FlowError(
            "%s: %s is an IPv6 address; packetflow_flow traces IPv4 flows only so far, name an IPv4 "
            "address or a container" % (option, value)
        )
    return str(address)


def resolve(client, value, option, peer=None):
    """One endpoint from the option's value: 'host', 'outside' (src), a container, or an address."""
    if value == "host":
        return {"kind": "host", "name": "host", "pid": None, "address": None}
    if value == "outside":
        if option != "src":
            raise FlowError("dst: 'outside' can only be a source (src: outside); name what it should reach")
        return {"kind": "outside", "name": "outside", "pid": None, "address": None}
    address = parse_address(value, option)
    if address is None:
        prefer = [peer["network"]] if peer and peer.get("network") else []
        return container_endpoint(client, _container(client, value, option), prefer)
    local = {ip for dummy, ip, dummy2 in hostfacts.addresses()}
    if address in local or address.startswith("127."):
        return {"kind": "host", "name": address, "pid": None, "address": address}
    owner = _containers_by_address(client).get(address)
    if owner is not None:
        return container_endpoint(client, owner)
    return {"kind": "address", "name": address, "pid": None, "address": address}


def route(address, pid=None, runner=RUNNER):
    """(dev, src, local) of the route to address from the host or pid's namespace; FlowError when none."""
    rc, out, err = runner.run(netns_prefix(pid) + ["ip", "-4", "-j", "route", "get", address])
    if rc != 0:
        where = "this host" if pid is None else "the source's network namespace"
        raise FlowError(
            "%s cannot route %s (%s); name an address the host has a route to" % (where, address, (err or out).strip())
        )
    entry = (json.loads(out or "[]") or [{}])[0]
    return entry.get("dev"), entry.get("prefsrc"), entry.get("type") == "local"


def published_target(client, port, proto, address=None):
    """The DNAT target of a published host port: {container, address, port, network, bridge}, or None."""
    for cont in client.containers.list():
        for key, bindings in (cont.attrs["NetworkSettings"].get("Ports") or {}).items():
            cport, dummy, cproto = key.partition("/")
            for binding in bindings or []:
                if str(binding.get("HostPort")) != str(port) or cproto != proto:
                    continue
                if binding.get("HostIp") not in ("", "0.0.0.0", "::", None, address):
                    continue
                target = container_endpoint(client, cont)
                return {
                    "container": cont.name,
                    "address": target["address"],
                    "port": int(cport),
                    "network": target["network"],
                    "gateway": target["gateway"],
                    "bridge": target.get("bridge"),
                    "pid": target["pid"],
                    "host_port": int(port),
                }
    return None


def interface_of(pid, address, runner=RUNNER):
    """The interface inside pid's namespace that holds address (eth0 for a container on one network)."""
    dummy, out, dummy2 = runner.run(netns_prefix(pid) + ["ip", "-4", "-j", "addr", "show"])
    for link in json.loads(out or "[]"):
        for addr in link.get("addr_info", []):
            if addr.get("local") == address:
                return link["ifname"]
    return None
