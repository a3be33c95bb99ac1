# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scenario's plan over a topology: its traffic with addresses, the legs to trace, the captures."""

from __future__ import annotations

import os

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.capture import netns_prefix

# The keys of an address in the topology and the facts, by family: IPv6 has its own, ending in 6.
SUFFIX = {"ipv4": "", "ipv6": "6"}
LOOPBACK = {"ipv4": "127.0.0.1", "ipv6": "::1"}


def addresses(topo, facts, family="ipv4"):
    """Symbolic endpoint -> address, in the family's addresses."""
    six, lo = SUFFIX[family], LOOPBACK[family]
    addr = {"hostip": facts.get("primary_address" + six), "lo": lo}
    for index, cont in enumerate(topo["containers"]):
        addr["c%d" % index] = cont.get("ip" + six) or lo
    if topo["containers"] and topo["containers"][0].get("gateway" + six):
        addr["gw0"] = topo["containers"][0]["gateway" + six]
    if topo.get("peer"):
        addr["peer"] = topo["peer"].get("ip" + six)
        addr["peerhost"] = topo["peer"].get("host_ip" + six)
    return addr


def resolve_traffic(spec, topo, facts, port, family="ipv4"):
    """The scenario's traffic with addresses, the legs to trace and the namespace to send it from."""
    addr = addresses(topo, facts, family)
    published = any(c.get("publish") for c in spec["containers"])
    items = []
    for item in spec["traffic"]:
        src, dst, proto = item["src"], addr[item["dst"]], item["proto"]
        if src == "host":
            src_ip = {"c0": addr.get("gw0"), "c1": addr.get("gw0"), "hostip": addr["hostip"]}.get(item["dst"], dst)
        else:
            src_ip = addr[src]
        dport = port if item.get("port") == "published" else None
        legs = [{"src": src_ip, "dst": dst, "proto": proto, "dport": dport}]
        if published and dport and item["dst"] in ("hostip", "peerhost"):
            legs.append({"src": src_ip, "dst": addr["c0"], "proto": "tcp", "dport": 80})
        if published and dport and item["dst"] == "lo":
            legs.append({"src": addr["gw0"], "dst": addr["c0"], "proto": "tcp", "dport": 80})
        if item["dst"] == "peer":
            legs.append({"src": addr["peerhost"], "dst": dst, "proto": proto, "dport": None})
        if src == "host":
            prefix, who = [], "host"
        elif src == "peer":
            prefix, who = netns_prefix(netns=topo["peer"]["netns"]), topo["peer"]["netns"]
        else:
            cont = topo["containers"][int(src[1:])]
            prefix, who = netns_prefix(pid=cont["pid"]), cont["name"]
        items.append({"from": who, "to": dst, "proto": proto, "port": dport, "legs": legs, "prefix": prefix})
    return items


def legs_of(traffic):
    """Every leg of every traffic item, in order."""
    return [leg for item in traffic for leg in item["legs"]]


def bpf(legs):
    """A capture filter for the legs only, so a busy host's other traffic is not recorded (icmp6 for IPv6)."""
    parts = []
    for leg in legs:
        proto = "icmp6" if leg["proto"] == "icmp" and ":" in str(leg["src"]) else leg["proto"]
        one = "%s and host %s and host %s" % (proto, leg["src"], leg["dst"])
        if leg.get("dport"):
            one += " and port %s" % leg["dport"]
        if "(%s)" % one not in parts:
            parts.append("(%s)" % one)
    return " or ".join(parts)


def capture_specs(spec, topo, traffic, rundir, hostip):
    """One capture per interface on the path: inside containers, host veths, bridges, lo, the peer."""
    specs, seen = [], set()
    legs = legs_of(traffic)
    bridges = {net["name"]: net["bridge"] for net in topo["networks"]}

    def add(iface, label=None, **where):
        label = label or iface
        if iface and label not in seen:
            seen.add(label)
            path = os.path.join(rundir, label.replace(":", "_").replace("/", "_") + ".pcap")
            specs.append(dict(iface=iface, label=label, path=path, bpf=bpf(legs), **where))

    for index, cont in enumerate(topo["containers"]):
        network = spec["containers"][index]["network"]
        if cont["ip"]:
            add("eth0", label="%s:eth0" % cont["name"], pid=cont["pid"])
            add(cont["veth"])
            add(bridges.get(cont["network"]))
        elif network == "none":
            add("lo", label="%s:lo" % cont["name"], pid=cont["pid"])
        else:
            add("lo")
    if topo.get("peer"):
        peer = topo["peer"]
        add(peer["veth"], label="%s:%s" % (peer["netns"], peer["veth"]), netns=peer["netns"])
        add(peer["host_veth"])
    if any(item["from"] == "host" and item["to"] in ("127.0.0.1", "::1", hostip) for item in traffic):
        add("lo")
    return specs
