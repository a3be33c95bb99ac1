# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A user's own flow on a live host as a Run: endpoints resolved before anything changes, the path
discovered from the host's state, a bounded probe or a wait for the real traffic, the policy check."""

from __future__ import annotations

import os
import time
from typing import Any

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate, policy
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.pcap import PcapError, read_capture
from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue import plan, verdict
from ansible_collections.dockernet.packetflow.plugins.module_utils.host import nft_rules, probe
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.capture import netns_prefix
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.endpoints import (
    FlowError,
    interface_of,
    is_address,
    published_target,
    resolve,
    route,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.lab import container_veth
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import check_run_id, new_run_id
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.peer import Peer, outside_subnet, planned_peer
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.scenario import (
    host_run,
    lost_events,
    lost_warning,
    preflight,
    result_head,
    strip,
    trace_outputs,
)


def validate(params):
    """Refuse bad options before anything is looked up; messages name the option, the value and the fix."""
    port, proto = params["port"], params["proto"]
    if port is not None and not 1 <= port <= 65535:
        raise FlowError("port: %s is out of range; give a port from 1 to 65535" % port)
    if proto == "icmp" and port is not None:
        raise FlowError("port: %s was given with proto icmp, which has no ports; drop port or set proto" % port)
    if proto != "icmp" and port is None and params["mode"] == "probe":
        raise FlowError("port: a %s probe needs a destination port; set port (1-65535)" % proto)
    for key in ("count", "duration", "max_packets"):
        if params[key] < 1:
            raise FlowError("%s: %s must be at least 1" % (key, params[key]))
    if params["interval"] <= 0:
        raise FlowError("interval: %s must be more than 0 seconds" % params["interval"])
    if params["mode"] == "probe" and is_address(params["src"]):
        raise FlowError(
            "src: %s is an address, which a probe cannot be sent from; name a container, 'host' or "
            "'outside', or use mode: observe to wait for that address's own traffic" % params["src"]
        )
    at = (params.get("expect") or {}).get("at")
    if at and ":" not in at:
        raise FlowError("expect.at: %r is not table:chain; write it like filter:DOCKER-USER" % at)
    if params["run_id"]:
        check_run_id(params["run_id"])


class FlowWorkload:
    """The parts of a Run a flow supplies: no lab, but its endpoints, path, probe or wait."""

    stage = "prepare the flow"

    def __init__(self, params, client, facts, src, dst):
        self.params = params
        self.client = client
        self.facts = facts
        self.src, self.dst = src, dst
        self.run: Any = None

    def build(self, run):
        """The flow's topology; an outside client is the only thing made (in check mode, planned)."""
        self.run = run
        topology = {"src": self.src, "dst": self.dst, "peer": None}
        if self.src["kind"] == "outside":
            if run.check_mode:
                topology["peer"] = planned_peer()
            else:
                net = outside_subnet()
                topology["peer"] = run.own(Peer(run.run_id, run.state, run.timeout, run.runner)).build(net)
            self.src["address"] = topology["peer"]["ip"]
        return topology

    def traffic(self, topology):
        """One item: the probe (or the awaited traffic) with its legs, before and after NAT."""
        src, dst = self.src, self.dst
        proto, port = self.params["proto"], self.params["port"]
        legs = [{"src": src["address"], "dst": dst["address"], "proto": proto, "dport": port}]
        target = dst.get("published")
        if target:
            legs.append({"src": src["address"], "dst": target["address"], "proto": proto, "dport": target["port"]})
            if src["kind"] == "host" and target.get("gateway"):
                legs.append(
                    {"src": target["gateway"], "dst": target["address"], "proto": proto, "dport": target["port"]}
                )
        if src["kind"] == "outside":
            prefix, who = netns_prefix(netns=topology["peer"]["netns"]), "outside"
        elif src["kind"] == "container" and src["network_mode"] != "host":
            prefix, who = netns_prefix(pid=src["pid"]), src["name"]
        else:
            prefix, who = [], src["name"]
        item = {"from": who, "to": dst["address"], "proto": proto, "port": port, "legs": legs, "prefix": prefix}
        return [item]

    def traced_pid(self, topology):
        """A container without a network traces inside its own namespace; all else in the host's."""
        src = self.src
        return src["pid"] if src["kind"] == "container" and src["network_mode"] == "none" else None

    def interfaces(self, topology):
        """(iface, label, where) of every interface on the path, source side first."""
        found: list = []

        def container_side(end, address):
            pid = end["pid"]
            inner = interface_of(pid, address, self.run.runner) or "eth0"
            found.append((inner, "%s:%s" % (end.get("container") or end["name"], inner), {"pid": pid}))
            found.append((container_veth(pid, self.run.runner, inner), None, {}))
            found.append((end.get("bridge"), None, {}))

        for end in (self.src, self.dst):
            if end["kind"] == "container" and end["network_mode"] == "none":
                found.append(("lo", "%s:lo" % end["name"], {"pid": end["pid"]}))
            elif end["kind"] == "container" and end.get("bridge"):
                container_side(end, end["address"])
        target = self.dst.get("published")
        if target:
            container_side(target, target["address"])
        peer = topology.get("peer")
        if peer:
            found.append((peer["veth"], "%s:%s" % (peer["netns"], peer["veth"]), {"netns": peer["netns"]}))
            found.append((peer["host_veth"], None, {}))
        if not (self.src["kind"] == "container" and self.src["network_mode"] == "none"):
            found.append((self.dst.get("egress"), None, {}))
            if target:
                found.append((egress(self.src, target["address"]), None, {}))
        return found

    def captures(self, topology, items, rundir):
        """One capture per interface on the path, filtered to the flow's legs."""
        specs, seen = [], set()
        legs = plan.legs_of(items)
        for iface, label, where in self.interfaces(topology):
            label = label or iface
            if iface and label not in seen:
                seen.add(label)
                path = os.path.join(rundir, label.replace(":", "_").replace("/", "_") + ".pcap")
                specs.append(dict(iface=iface, label=label, path=path, bpf=plan.bpf(legs), **where))
        return specs

    def send(self, item):
        """Probe mode sends the bounded probe; observe mode waits for duration or max_packets."""
        params = self.params
        if params["mode"] == "probe":
            probe.send(item, params["count"], params["interval"], params["timeout"], self.run.names.env)
            return
        started, seen = time.time(), 0
        while time.time() - started < params["duration"] and seen < params["max_packets"]:
            time.sleep(0.25)
            seen = max([captured(cap.path) for cap in self.run.captures] or [0])
        item.update(
            ok=False,
            command="observe for up to %s s or %s packets" % (params["duration"], params["max_packets"]),
            output="waited %.1f s; the busiest interface captured %d packets" % (time.time() - started, seen),
        )


def captured(path):
    """Packets a capture file holds so far (a record still being written is not counted)."""
    count = 0
    try:
        for dummy in read_capture(path):
            count += 1
    except (OSError, PcapError):
        pass
    return count


def flow_name(params):
    """The flow's name: given, or made from its endpoints."""
    if params["name"]:
        return params["name"]
    port = "/%s" % params["port"] if params["port"] else ""
    return "%s %s %s %s%s" % (params["src"], narrate.ARROW, params["dst"], params["proto"], port)


def resolve_endpoints(params, client, facts):
    """(src, dst) with addresses, routes and the DNAT target of a published port; FlowError when unusable."""
    src = resolve(client, params["src"], "src")
    dst = resolve(client, params["dst"], "dst", peer=src)
    loopback = dst.get("id") == src.get("id") or (dst.get("address") or "").startswith("127.")
    if src["kind"] == "container" and src["network_mode"] == "none" and not loopback:
        raise FlowError(
            "src: container %s has no network (network mode none) and can only reach itself; "
            "set dst to the same container or 127.0.0.1" % src["name"]
        )
    if dst["kind"] == "container" and dst["network_mode"] == "host":
        dst.update(kind="host", address=None)
    if dst["kind"] == "container" and dst["network_mode"] == "none" and dst.get("id") != src.get("id"):
        raise FlowError(
            "dst: container %s has no network (network mode none): nothing but itself can reach it; "
            "name another destination, or the same container as src" % dst["name"]
        )
    if dst["kind"] == "container" and not dst["address"] and dst["network_mode"] != "none":
        raise FlowError("dst: container %s has no IPv4 address on any network; name another" % dst["name"])
    if src["kind"] == "container" and src["network_mode"] == "host":
        src["kind"] = "host"
    if dst["kind"] == "host" and dst["address"] is None:
        dst["address"] = _host_address_for(src, facts)
    if src["kind"] == "container" and src["network_mode"] == "none":
        src["address"], dst["address"] = "127.0.0.1", "127.0.0.1"
    if dst["kind"] == "host" and params["port"] and params["proto"] != "icmp":
        dst["published"] = published_target(client, params["port"], params["proto"], dst["address"])
    if src["kind"] != "outside" and not (src["kind"] == "container" and src["network_mode"] == "none"):
        pid = src["pid"] if src["kind"] == "container" else None
        dummy, prefsrc, dummy2 = route(dst["address"], pid)
        if src["kind"] in ("host", "address") and not src["address"]:
            src["address"] = prefsrc
    dst["egress"] = egress(src, dst["address"])
    return src, dst


def egress(src, address):
    """The host interface a flow leaves by towards address: lo for the host's own addresses from the
    host itself, none for them from elsewhere (the ingress side is captured), else the route's device."""
    dev, dummy, local = route(address)
    if local:
        return "lo" if src["kind"] == "host" else None
    return dev


def _host_address_for(src, facts):
    """The host's address as a source sees it: its bridge's gateway from a container, else the primary one."""
    if src["kind"] == "container" and src.get("gateway"):
        return src["gateway"]
    return facts["primary_address"]


def run_flow(params, check_mode, docker_mod, get_bin_path):
    """Trace one flow and return the flow result; raise FlowError/RuntimeError before changing anything."""
    started = time.time()
    validate(params)
    client, facts = preflight(params, docker_mod, get_bin_path, module="packetflow_flow")
    src, dst = resolve_endpoints(params, client, facts)
    run_id = params["run_id"] or new_run_id()
    expected = {k: v for k, v in (params.get("expect") or {}).items() if v}
    result = {
        "flow": flow_name(params),
        "mode": params["mode"],
        "proto": params["proto"],
        "port": params["port"],
        "src": src,
        "dst": dst,
        **result_head(run_id, started, facts, expected),
    }
    deadline = 120 + params["duration"] + params["count"] * (params["interval"] + params["timeout"])
    workload = FlowWorkload(params, client, facts, src, dst)
    with host_run(params, facts, run_id, check_mode, docker_mod, deadline) as run:
        run.execute(workload)
    result["warnings_list"] += run.warnings
    result["seconds"] = round(time.time() - started, 3)
    if run.traffic is not None:
        result["traffic"] = [strip(item) for item in run.traffic]
        result["path"] = {"interfaces": [c["label"] for c in _specs(run, workload)], "legs": plan.legs_of(run.traffic)}
    if check_mode and not run.error:
        item = run.traffic[0]
        run.plan["probe"] = (
            probe.describe(item, params["count"], params["interval"], params["timeout"])
            if params["mode"] == "probe"
            else "no probe: wait up to %s s or %s packets" % (params["duration"], params["max_packets"])
        )
        result["plan"] = run.plan
        return result
    result["error"] = run.error
    if run.error:
        return result
    return flow_verdict(result, run, expected, facts)


def _specs(run, workload):
    """The captures the run started (or, in check mode, planned)."""
    if run.check_mode:
        return [{"label": label} for label in run.plan["captures"]]
    return [{"label": cap.label} for cap in run.captures]


def same_bridge_untraced(src, dst, facts):
    """{bridge, setting} when both ends share a bridge whose frames iptables does not see, else None."""
    bridge = src.get("bridge")
    if src["kind"] == dst["kind"] == "container" and bridge and bridge == dst.get("bridge"):
        if not facts["br_netfilter"]:
            return {"bridge": bridge, "setting": facts.get("bridge_nf_call_iptables")}
    return None


def unanswered(item, packets):
    """True when a TCP or ICMP probe the trace shows accepted got nothing back, and no reply was traced:
    something the trace does not see (an untraced nftables table, a host firewall) dropped it."""
    return (
        item.get("answered") is False
        and item["proto"] in ("tcp", "icmp")
        and not any(packet.get("direction") == "reply" for packet in packets)
    )


def flow_verdict(result, run, expected, facts):
    """Build the journeys of a finished flow, name the deciding rule's owner, check the policy."""
    ruleset_path = run.write_ruleset()
    pcaps = run.pcaps()
    journeys = build_journeys(run.lines, trace_format=run.tracer.trace_format, ruleset=run.ruleset, pcaps=pcaps)
    packets = journeys["packets"]
    rules, native = nft_rules.read_ruleset(run.runner)
    nft_rules.fill_rule_texts(packets, rules)
    if native and run.backend == "legacy":
        result["warnings_list"].append(narrate.untraced_tables(native))
    seen = verdict.observe(run.traffic, packets)
    result["warnings_list"] += seen.pop("notes") + run.tracer.warnings
    if seen["fate"] == "delivered" and unanswered(run.traffic[0], packets):
        result["warnings_list"].append(narrate.accepted_unanswered(seen["path"]))
        seen.update(fate="unknown", at=None, fate_at=None)
    observed = policy.flow_observed(seen, {b["bridge"] for b in facts["bridges"]})
    passed, lines = policy.check(expected, observed)
    lost = lost_events(run)
    if any(lost.values()):
        result["warnings_list"].append(lost_warning(lost))
    untraced = same_bridge_untraced(result["src"], result["dst"], facts) if not packets else None
    result.update(
        traffic=[strip(item) for item in run.traffic],
        packets=packets,
        observed=observed,
        passed=passed,
        explanation=narrate.flow_outcome(result["flow"], observed, packets, untraced),
        **trace_outputs(run, journeys, pcaps, ruleset_path, result["seconds"], lost),
    )
    if passed is False:
        result["mismatch"] = "flow %s: expected and observed differ\n%s\n%s" % (
            result["flow"],
            "\n".join(lines),
            result["explanation"],
        )
    return result
