# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scenario's topology: containers and networks (Docker SDK), the outside client (netns, veth)."""

from __future__ import annotations

import errno
import re
import socket
import time
from typing import Any

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.capture import netns_prefix
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.commands import RUNNER
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.facts import bridge_name, network_gateway
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.family import is_six
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import Names
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.peer import Peer, planned_peer


def port_free(port):
    """True when nothing listens on TCP port on the host."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("0.0.0.0", port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return False
        raise
    finally:
        sock.close()
    return True


def free_port():
    """A TCP port nothing listens on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("0.0.0.0", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def listening(pid, port):
    """True when the network namespace of pid has a TCP listener on port."""
    rows = []
    for table in ("tcp", "tcp6"):
        try:
            with open("/proc/%s/net/%s" % (pid, table)) as handle:
                rows += handle.read().splitlines()[1:]
        except OSError:
            pass
    want = ":%04X" % port
    return any(row.split()[1].endswith(want) and row.split()[3] == "0A" for row in rows)


def host_ifname(ifindex, runner=RUNNER):
    """Name of the host interface with this index."""
    dummy, out, dummy2 = runner.run(["ip", "-o", "link", "show"])
    for line in out.splitlines():
        match = re.match(r"(\d+): ([^:@]+)", line)
        if match and int(match.group(1)) == ifindex:
            return match.group(2)
    return None


def container_veth(pid, runner=RUNNER, iface="eth0"):
    """The host end of the veth whose other end is iface in pid's network namespace, or None."""
    dummy, out, dummy2 = runner.run(netns_prefix(pid) + ["ip", "-o", "link", "show", iface])
    match = re.search(r"%s@if(\d+)" % re.escape(iface), out)
    return host_ifname(int(match.group(1)), runner) if match else None


def preflight(client, image, spec, names, port):
    """Raise with a clear message when the lab of spec cannot be built; nothing is changed."""
    try:
        client.images.get(image)
    except Exception as exc:
        raise RuntimeError(
            "lab image %s is not on this host (%s); build or load it first "
            "(role dockernet.packetflow.lab_image)" % (image, exc)
        ) from exc
    for name in names[: len(spec["containers"])]:
        found = client.containers.list(all=True, filters={"name": "^/%s$" % name})
        if found:
            raise RuntimeError(
                "container name %s is already taken (container %s, %s); remove it or "
                "choose another name" % (name, found[0].short_id, found[0].status)
            )
    if any(c.get("publish") or c.get("serve_port") for c in spec["containers"]):
        for cont in client.containers.list():
            for bindings in (cont.attrs.get("HostConfig", {}).get("PortBindings") or {}).values():
                for binding in bindings or []:
                    if str(binding.get("HostPort")) == str(port):
                        raise RuntimeError(
                            "host port %s is already taken by container %s; choose another "
                            "port, or port 0 for a free one" % (port, cont.name)
                        )
        if not port_free(port):
            raise RuntimeError(
                "host port %s is already taken by a listening process; choose another "
                "port, or port 0 for a free one" % port
            )


class Lab:
    """Builds one scenario's topology and removes it again; records what it made in a state file."""

    def __init__(self, client, run_id, image, timeout, state, runner=RUNNER, family="ipv4"):
        self.client = client
        self.family = family
        self.run_id = run_id
        self.names = Names(run_id)
        self.runner = runner
        self.image = image
        self.timeout = timeout
        self.state = state
        self.containers = []
        self.networks = []
        self.peer = None
        self.peer_part: Any = None

    def build(self, spec, names, port, peer_net, subnets6=(), peer_net6=None):
        """Create networks (dual-stack on the ULA subnets6 in family ipv6), containers and the outside client;
        return the topology dict."""
        for index in range(spec.get("networks", 0)):
            dual = {}
            if self.family == "ipv6":
                dual = {"enable_ipv6": True, "ipam": {"Driver": "default", "Config": [{"Subnet": subnets6[index]}]}}
            net = self.client.networks.create(
                self.names.network(index), driver="bridge", labels=self.names.labels, **dual
            )
            self.networks.append(net)
        for index, cspec in enumerate(spec["containers"]):
            self._container(names[index], cspec, port)
        if spec.get("peer"):
            self._peer(peer_net, peer_net6)
        return self.topology()

    def _container(self, name, cspec, port):
        network = cspec["network"]
        serve = port if cspec.get("serve_port") else 80
        kwargs = {
            "name": name,
            "detach": True,
            "labels": self.names.labels,
            "command": ["httpd", "-f", "-p", str(serve), "-h", "/"],
        }
        if network in ("host", "none"):
            kwargs["network_mode"] = network
        elif network == "bridge":
            kwargs["network"] = "bridge"
        else:
            kwargs["network"] = self.networks[int(network[3:])].name
        if cspec.get("publish"):
            kwargs["ports"] = {"80/tcp": port}
        cont = self.client.containers.run(self.image, **kwargs)
        self.containers.append(cont)
        deadline = time.time() + self.timeout
        while True:
            cont.reload()
            pid = cont.attrs["State"]["Pid"]
            if pid and (network == "none" or listening(pid, serve)):
                break
            if time.time() > deadline or cont.status == "exited":
                raise RuntimeError(
                    "container %s did not start serving within %ss (%s)" % (name, self.timeout, cont.status)
                )
            time.sleep(0.02)

    def _peer(self, net, net6):
        self.peer_part = Peer(self.run_id, self.state, self.timeout, self.runner)
        self.peer = self.peer_part.build(net, net6)

    def topology(self):
        """Containers, networks and peer as in the result contract."""
        containers = []
        for cont in self.containers:
            cont.reload()
            nets: dict[str, Any] = cont.attrs["NetworkSettings"]["Networks"] or {}
            net_name = next(iter(nets), None)
            info = nets[net_name] if net_name else {}
            pid = cont.attrs["State"]["Pid"]
            entry: dict[str, Any] = {
                "name": cont.name,
                "id": cont.short_id,
                "pid": pid,
                "network": net_name,
                "ip": info.get("IPAddress") or None,
                "gateway": info.get("Gateway") or None,
                "mac": info.get("MacAddress") or None,
                "veth": None,
                "ip6": info.get("GlobalIPv6Address") or None,
                "gateway6": info.get("IPv6Gateway") or None,
            }
            if entry["ip"]:
                entry["veth"] = container_veth(pid, self.runner)
            containers.append(entry)
        networks = []
        for name in sorted({c["network"] for c in containers if c["ip"]}):
            attrs = self.client.networks.get(name).attrs
            configs = (attrs.get("IPAM") or {}).get("Config") or [{}]
            six = [c for c in configs if is_six(c.get("Subnet"))]
            networks.append(
                {
                    "name": name,
                    "id": attrs["Id"][:12],
                    "bridge": bridge_name(attrs),
                    "subnet": next((c.get("Subnet") for c in configs if not is_six(c.get("Subnet"))), None),
                    "gateway": network_gateway(attrs),
                    "subnet6": six[0].get("Subnet") if six else None,
                }
            )
        return {"containers": containers, "networks": networks, "peer": self.peer}

    def teardown(self):
        """Remove everything built, best effort; return error messages."""
        errors = []
        for cont in reversed(self.containers):
            try:
                cont.remove(force=True)
            except Exception as exc:
                if "No such container" not in str(exc):
                    errors.append("container %s: %s" % (cont.name, exc))
        self.containers = []
        for net in reversed(self.networks):
            try:
                net.remove()
            except Exception as exc:
                if "not found" not in str(exc):
                    errors.append("network %s: %s" % (net.name, exc))
        self.networks = []
        if self.peer_part is not None:
            errors += self.peer_part.teardown()
            self.peer_part, self.peer = None, None
        return errors


def plan_topology(spec, names, port, family="ipv4"):
    """The topology a scenario would build, with placeholders where only the engine knows (check mode)."""
    conts = []
    for index, cspec in enumerate(spec["containers"]):
        bridged = cspec["network"] not in ("host", "none")
        conts.append(
            {
                "name": names[index],
                "pid": None,
                "network": cspec["network"],
                "ip": "<%s>" % names[index] if bridged else None,
                "gateway": "<gateway of %s>" % cspec["network"] if bridged else None,
                "veth": "<veth of %s>" % names[index] if bridged else None,
                "published": "%s:80" % port if cspec.get("publish") else None,
            }
        )
        if family == "ipv6":
            conts[-1].update(
                ip6="<%s IPv6>" % names[index] if bridged else None,
                gateway6="<IPv6 gateway of %s>" % cspec["network"] if bridged else None,
            )
    nets = [
        {"name": n, "bridge": "docker0" if n == "bridge" else "<bridge of %s>" % n}
        for n in sorted({c["network"] for c in conts if c["ip"]})
    ]
    peer = planned_peer() if spec.get("peer") else None
    return {"containers": conts, "networks": nets, "peer": peer}
