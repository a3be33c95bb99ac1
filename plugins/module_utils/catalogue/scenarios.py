# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scenario catalogue of the study, as data, and the expectation each one carries.

Endpoints in ``traffic`` are symbolic and resolved by the lab: ``host`` (the host's own
namespace), ``c0``/``c1`` (the scenario's containers), ``gw0`` (the gateway of c0's network),
``hostip`` (the host's primary address), ``lo`` (127.0.0.1), ``peer`` (the outside client) and
``peerhost`` (the host's address on the outside client's link).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue import ipv6

# The address families a scenario can run in (packetflow_scenario's family, the trace role's trace_families).
FAMILIES = ("ipv4", "ipv6")

SCENARIOS: dict[str, dict[str, Any]] = {
    "host_to_container": {
        "description": "The host pings web1 on docker0 (web1 published with -p 8080:80)",
        "containers": [{"network": "bridge", "publish": True}],
        "traffic": [{"src": "host", "dst": "c0", "proto": "icmp"}],
        "expect": {
            "fate": "delivered",
            "via": ["raw:OUTPUT", "nat:POSTROUTING"],
            "why": "The host routes to docker0 directly; the reply comes back through PREROUTING and INPUT.",
        },
    },
    "container_to_host": {
        "description": "web1 pings the docker0 gateway and the host's primary address",
        "containers": [{"network": "bridge", "publish": True}],
        "traffic": [{"src": "c0", "dst": "gw0", "proto": "icmp"}, {"src": "c0", "dst": "hostip", "proto": "icmp"}],
        "expect": {
            "fate": "delivered",
            "via": ["raw:PREROUTING", "nat:PREROUTING"],
            "why": ("Traffic to a local address enters PREROUTING (nat DOCKER returns for -i docker0) and INPUT."),
        },
    },
    "container_to_container": {
        "description": "Two containers on one user bridge; one pings the other",
        "networks": 1,
        "containers": [{"network": "net0"}, {"network": "net0"}],
        "traffic": [{"src": "c0", "dst": "c1", "proto": "icmp"}],
        "expect": {
            "fate": "delivered",
            "via": [
                "bridge:PREROUTING",
                "bridge:FORWARD",
                "filter:FORWARD",
                "filter:DOCKER-USER",
                "filter:DOCKER-ISOLATION-STAGE-1",
            ],
            "why": (
                "The bridge layer forwards the frames from port to port; br_netfilter (bridge-nf-call-iptables 1) "
                "also hands them to iptables, where they cross FORWARD and Docker accepts -i br -o br."
            ),
        },
    },
    "cross_network": {
        "description": "One container on each of two user bridges; one pings the other",
        "networks": 2,
        "containers": [{"network": "net0"}, {"network": "net1"}],
        "traffic": [{"src": "c0", "dst": "c1", "proto": "icmp"}],
        "expect": {
            "fate": "dropped",
            "at": "filter:DOCKER-ISOLATION-STAGE-2",
            "why": "Docker isolates user-defined networks from each other.",
        },
    },
    "published_port": {
        "description": "web1 serves on 80, published -p 8080:80; the host connects to host-ip:8080 and 127.0.0.1:8080",
        "containers": [{"network": "bridge", "publish": True}],
        "traffic": [
            {"src": "host", "dst": "hostip", "proto": "tcp", "port": "published"},
            {"src": "host", "dst": "lo", "proto": "tcp", "port": "published"},
        ],
        "expect": {
            "fate": "delivered",
            "via": ["nat:OUTPUT", "nat:DOCKER"],
            "why": "nat DOCKER rewrites host-ip:8080 to the container; 127.0.0.1 goes through docker-proxy.",
        },
    },
    "external_to_published": {
        "description": "An outside client (a network namespace wired by veth) connects to host:8080",
        "containers": [{"network": "bridge", "publish": True}],
        "peer": True,
        "traffic": [{"src": "peer", "dst": "peerhost", "proto": "tcp", "port": "published"}],
        "expect": {
            "fate": "delivered",
            "via": ["nat:PREROUTING", "nat:DOCKER", "filter:FORWARD", "filter:DOCKER"],
            "why": (
                "PREROUTING DNATs to the container, FORWARD accepts it in the DOCKER chain, the reply is un-NATed."
            ),
        },
    },
    "container_to_external": {
        "description": "web1 pings the outside client",
        "containers": [{"network": "bridge", "publish": True}],
        "peer": True,
        "traffic": [{"src": "c0", "dst": "peer", "proto": "icmp"}],
        "expect": {
            "fate": "delivered",
            "via": ["filter:FORWARD", "nat:POSTROUTING"],
            "why": "FORWARD accepts traffic leaving docker0 and nat POSTROUTING masquerades it.",
        },
    },
    "host_network": {
        "description": "A container with --network host serves TCP; the host connects to it on 127.0.0.1",
        "containers": [{"network": "host", "serve_port": "published"}],
        "traffic": [{"src": "host", "dst": "lo", "proto": "tcp", "port": "published"}],
        "expect": {
            "fate": "delivered",
            "via": ["raw:OUTPUT", "nat:OUTPUT", "raw:PREROUTING"],
            "forbid": ["nat:DOCKER"],
            "why": (
                "The container shares the host's stack: only the host's own OUTPUT and INPUT, no Docker chains, no NAT."
            ),
        },
    },
    "none_network": {
        "description": "A container with --network none pings 127.0.0.1 inside its own namespace",
        "containers": [{"network": "none"}],
        "traffic": [{"src": "c0", "dst": "lo", "proto": "icmp"}],
        "inside": True,
        # Docker turns IPv6 off in a --network none container: ping -6 ::1 fails with "Cannot assign requested
        # address" (measured on 20.10), so there is no IPv6 path to show.
        "families": ("ipv4",),
        "expect": {
            "fate": "delivered",
            "via": ["raw:OUTPUT", "raw:PREROUTING"],
            "why": "Nothing reaches the host: the packet only loops over lo inside the container's namespace.",
        },
    },
}


# Docker 29's nftables back end, in the chains of its table ip docker-bridges as moby documents them
# (integration/network/bridge/nftablesdoc at docker-v29.1.0; replayed in tests/integration/docker29_replay).
NFTABLES_EXPECT: dict[str, dict[str, Any]] = {
    "cross_network": {
        "at": "docker-bridges:raw-PREROUTING",
        "why": "Docker 29 drops traffic to a container from another bridge in raw-PREROUTING (DROP DIRECT ACCESS).",
    },
    "external_to_published": {
        "via": [
            "docker-bridges:nat-PREROUTING",
            "docker-bridges:nat-prerouting-and-output",
            "docker-bridges:filter-FORWARD",
        ]
    },
    "container_to_external": {"via": ["docker-bridges:filter-FORWARD", "docker-bridges:nat-POSTROUTING"]},
}


def names():
    """Return the scenario ids in catalogue order."""
    return list(SCENARIOS)


def version_tuple(version):
    """Turn '28.2.1+dfsg1' into (28, 2, 1)."""
    parts = []
    for piece in str(version or "0").split(".")[:3]:
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        parts.append(int(digits or 0))
    return tuple(parts + [0] * (3 - len(parts)))


def _ip_layer_only(facts, version):
    """container_to_container where the bridge layer is not traced (see facts.bridge_traced)."""
    if not facts.get("br_netfilter"):
        return {
            "via": [],
            "why": "br_netfilter is not active and the bridge layer is not traced here: frames between containers "
            "on one bridge never reach iptables, so nothing is traced on the host.",
        }
    if version >= (29, 0, 0):
        return {"via": ["filter:FORWARD", "filter:DOCKER-FORWARD"]}
    if version >= (28, 0, 1):
        return {"via": ["filter:FORWARD", "filter:DOCKER-USER", "filter:DOCKER-FORWARD"]}
    return {}


def _same_bridge(facts, version):
    """container_to_container: the bridge layer always sees the frames; iptables only through br_netfilter."""
    if not facts.get("bridge_traced", True):
        return _ip_layer_only(facts, version)
    bridged = ["bridge:PREROUTING", "bridge:FORWARD"]
    if not facts.get("br_netfilter"):
        return {
            "via": bridged + ["bridge:POSTROUTING"],
            "forbid": ["filter:FORWARD"],
            "why": (
                "Only the bridge layer saw the frames (bridge PREROUTING, FORWARD, POSTROUTING, from port to port): "
                "bridge-nf-call-iptables is %s, so br_netfilter hands nothing to iptables (Docker 27.3 and later "
                "no longer load br_netfilter by default)." % (facts.get("bridge_nf_call_iptables") or "absent")
            ),
        }
    if version >= (29, 0, 0):
        return {"via": bridged + ["filter:FORWARD", "filter:DOCKER-FORWARD"]}
    if version >= (28, 0, 1):
        return {"via": bridged + ["filter:FORWARD", "filter:DOCKER-USER", "filter:DOCKER-FORWARD"]}
    return {}


def expectation(scenario, facts, override=None, family="ipv4"):
    """Return the expected outcome of a scenario on a host described by ``facts``, in one family.

    The catalogue default follows the facts (back end, Docker version, br_netfilter,
    userland proxy) and the family (catalogue/ipv6.py); ``override`` (the user's ``expect``) wins key by key.
    """
    facts = ipv6.family_facts(facts, family)
    exp = dict(SCENARIOS[scenario]["expect"])
    exp["via"] = list(exp.get("via", []))
    exp["forbid"] = list(exp.get("forbid", []))
    version = version_tuple(facts.get("docker_version"))
    backend = facts.get("backend")
    if backend == "nftables":
        exp["via"] = []
        exp["at"] = None
        exp["why"] += " (nftables back end: Docker's rules live in table ip docker-bridges.)"
        exp.update(NFTABLES_EXPECT.get(scenario, {}))
    elif scenario == "cross_network" and version >= (28, 2, 0):
        exp["at"] = "raw:PREROUTING"
        exp["why"] = "Docker 28.2+ drops traffic to a container arriving from another bridge in raw PREROUTING."
    elif scenario == "container_to_container":
        exp.update(_same_bridge(facts, version))
    elif scenario == "published_port" and not facts.get("userland_proxy", True):
        exp["why"] = "nat DOCKER rewrites both host-ip:8080 and 127.0.0.1:8080 (userland proxy off, route_localnet on)."
    elif scenario == "host_network" and not facts.get("userland_proxy", True):
        exp["forbid"] = []
        exp["why"] = (
            "The container shares the host's stack: no NAT. With the userland proxy off, nat OUTPUT "
            "sends 127.0.0.1 through Docker's nat DOCKER chain too, where no rule matches this port."
        )
    exp.setdefault("at", None)
    if family == "ipv6":
        ipv6.adjust(exp, facts, version)
    for key, value in (override or {}).items():
        if value is not None:
            exp[key] = value
    return exp
