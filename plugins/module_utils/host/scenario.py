# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A catalogue scenario as a Run: preflight, the lab as its topology, the verdict as its result."""

from __future__ import annotations

import functools
import os
import time

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys
from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue import plan, scenarios, verdict
from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue.validate import validate
from ansible_collections.dockernet.packetflow.plugins.module_utils.host import docker_api, family, traffic
from ansible_collections.dockernet.packetflow.plugins.module_utils.host import facts as hostfacts
from ansible_collections.dockernet.packetflow.plugins.module_utils.host import lab as lab_module
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.cleanup import reap_run
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.lab import Lab, plan_topology
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import new_run_id
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.peer import outside_subnet
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.run import Run

TOOLS = ("tcpdump", "busybox", "nsenter", "ip")
BACKEND_TOOLS = {
    "legacy": ("iptables-legacy", "iptables-legacy-save"),
    "nft": ("iptables-nft", "iptables-nft-save", "xtables-monitor"),
    "nftables": ("nft",),
}
HOST_KEYS = ("name", "kernel", "docker_version", "backend", "userland_proxy", "br_netfilter", "iptables_default")
# The IPv6 facts a result's host entry carries too, when the host reports them.
HOST_KEYS6 = ("docker_ipv6", "docker_ip6tables")


def result_head(run_id, started, facts, expected):
    """The keys every run's result has, scenario or flow, before the run adds what it saw."""
    return {
        "run_id": run_id,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "host": dict({k: facts[k] for k in HOST_KEYS}, **{k: facts[k] for k in HOST_KEYS6 if k in facts}),
        "expected": expected,
        "warnings_list": list(facts["warnings"]),
        "error": None,
    }


def host_run(params, facts, run_id, check_mode, docker_mod, deadline):
    """The Run of a scenario or flow on this host: its back end, bridge tracing, reaper and deadline."""
    connect = functools.partial(docker_api.connect, params["docker_host"], params["timeout"], docker_mod)
    reap = functools.partial(reap_run, run_id, connect, params["timeout"])
    return Run(
        run_id,
        facts["backend"],
        params["workdir"],
        params["timeout"],
        check_mode,
        reap=reap,
        deadline=deadline,
        bridge=facts["bridge_traced"],
    )


def preflight(params, docker_mod, get_bin_path, module="packetflow_scenario"):
    """Check everything a run needs before anything is built; return (client, facts)."""
    if os.geteuid() != 0:
        raise RuntimeError(
            "%s must run as root (it adds TRACE rules, creates namespaces "
            "and captures packets); use become: true" % module
        )
    for tool in TOOLS:
        if not get_bin_path(tool):
            raise RuntimeError(
                "%s is not installed on this host (install it, e.g. with role "
                "dockernet.packetflow.tcpdump for tcpdump)" % tool
            )
    client = docker_api.connect(params["docker_host"], params["timeout"], docker_mod)
    facts = hostfacts.gather(client)
    if facts["backend"] is None:
        raise RuntimeError("Docker's firewall rules were found in neither iptables-legacy, iptables-nft nor nftables")
    for tool in BACKEND_TOOLS[facts["backend"]]:
        if not get_bin_path(tool):
            raise RuntimeError(
                "%s is not installed but Docker's rules are on the %s back end" % (tool, facts["backend"])
            )
    return client, facts


class ScenarioWorkload:
    """The parts of a Run that a catalogue scenario supplies: its lab, traffic and captures."""

    stage = "build the lab"

    def __init__(self, spec, params, client, facts, port, nets):
        self.spec = spec
        self.family = params.get("family") or "ipv4"
        peer_net, self.peer_net6, self.subnets6 = nets
        self.params = params
        self.client = client
        self.facts = facts
        self.port = port
        self.peer_net = peer_net
        self.names = [params["name"], params["second_name"]]
        self.env = None

    def build(self, run):
        """The lab's topology; in check mode the planned one."""
        if run.check_mode:
            return plan_topology(self.spec, self.names, self.port, self.family)
        self.env = run.names.env
        lab = run.own(
            Lab(
                self.client,
                run.run_id,
                self.params["image"],
                self.params["timeout"],
                run.state,
                run.runner,
                self.family,
            )
        )
        return lab.build(self.spec, self.names, self.port, self.peer_net, self.subnets6, self.peer_net6)

    def traffic(self, topology):
        return plan.resolve_traffic(self.spec, topology, self.facts, self.port, self.family)

    def traced_pid(self, topology):
        return topology["containers"][0]["pid"] if self.spec.get("inside") else None

    def captures(self, topology, items, rundir):
        return plan.capture_specs(self.spec, topology, items, rundir, self.facts["primary_address"])

    def send(self, item):
        traffic.send(item, self.params["count"], self.params["timeout"], self.env)


def family_preflight(spec, params, client, facts):
    """(outside client's subnet, its IPv6 subnet, ULA subnets of the lab's networks) of the run's family;
    RuntimeError naming the fix when IPv6 is asked where Docker has it off."""
    peer = outside_subnet() if spec.get("peer") else None
    if params["family"] != "ipv6":
        return peer, None, ()
    family.check_ipv6(facts, params["scenario"])
    if any("hostip" in (item["dst"], item["src"]) for item in spec["traffic"]) and not facts.get("primary_address6"):
        raise RuntimeError(
            "family=ipv6 (scenario %s) needs the host's own IPv6 address, but no interface with the IPv6 default "
            "route has a global one: give the host one, or run this scenario in family ipv4" % params["scenario"]
        )
    return peer, (family.peer_subnet6() if peer else None), family.lab_subnets6(spec.get("networks", 0), client)


def strip(item):
    """A traffic item as returned (no internal fields)."""
    return {k: v for k, v in item.items() if k not in ("prefix", "legs")}


def run_scenario(params, check_mode, docker_mod, get_bin_path):
    """Run one scenario and return the result contract; raise RuntimeError before building anything."""
    started = time.time()
    params = dict(params, family=params.get("family") or "ipv4")
    validate(params)
    spec = scenarios.SCENARIOS[params["scenario"]]
    run_id = params["run_id"] or new_run_id()
    client, facts = preflight(params, docker_mod, get_bin_path)
    port = params["port"] or lab_module.free_port()
    lab_module.preflight(client, params["image"], spec, [params["name"], params["second_name"]], port)
    nets = family_preflight(spec, params, client, facts)
    expected = scenarios.expectation(params["scenario"], facts, params.get("expect"), params["family"])
    result = {
        "scenario": params["scenario"],
        "family": params["family"],
        "description": spec["description"],
        **result_head(run_id, started, facts, expected),
    }
    workload = ScenarioWorkload(spec, params, client, facts, port, nets)
    run = traced_run(params, facts, run_id, check_mode, docker_mod, workload)
    if run_again(run, params, check_mode):
        result["warnings_list"].append(
            "run %s lost trace events (its trace monitor overran: ENOBUFS), so the scenario ran again" % run_id
        )
        result["run_id"] = new_run_id()
        run = traced_run(params, facts, result["run_id"], check_mode, docker_mod, workload)
    result["warnings_list"] += run.warnings
    result["seconds"] = round(time.time() - started, 3)
    if run.topology is not None:
        result["topology"] = run.topology
    if run.traffic is not None:
        result["traffic"] = [strip(item) for item in run.traffic]
    if check_mode and not run.error:
        result["plan"] = run.plan
        return result
    result["error"] = run.error
    if run.error:
        return result
    return verdict_of(result, run, expected)


def traced_run(params, facts, run_id, check_mode, docker_mod, workload):
    """One whole run of a workload: armed, driven and torn down; the Run, holding what it saw."""
    with host_run(params, facts, run_id, check_mode, docker_mod, deadline=120 + 20 * params["timeout"]) as run:
        run.execute(workload)
    return run


def run_again(run, params, check_mode):
    """Whether a lab scenario runs once more: the traffic is its own, so it may, when the trace monitor
    overran (xtables-monitor then exits, and the path would end there). Not under a run id the user named."""
    if check_mode or run.error or params["run_id"] or run.tracer is None:
        return False
    return run.tracer.lost["monitor_overruns"] > 0


def lost_events(run):
    """Trace events and packets lost on the way to us: {kernel_suppressed, kmsg_overrun,
    monitor_overruns, capture_kernel_drops}."""
    return dict(
        run.tracer.lost,
        capture_kernel_drops=sum(s.get("kernel_drops") or 0 for s in run.stats.values()),
    )


def lost_warning(lost):
    """The warning shown whenever anything was lost: the trace is then incomplete."""
    return (
        "events were lost under load, the trace is incomplete: %d kernel log messages suppressed by its rate "
        "limit, %d kernel log records overwritten before they were read, %d trace monitor buffer overruns "
        "(ENOBUFS), %d packets dropped by tcpdump's kernel buffer"
        % (lost["kernel_suppressed"], lost["kmsg_overrun"], lost["monitor_overruns"], lost["capture_kernel_drops"])
    )


def trace_outputs(run, journeys, pcaps, ruleset_path, seconds, lost):
    """The ruleset, artifacts and stats keys of a finished run's result (scenario or flow)."""
    return {
        "ruleset": dict(run.ruleset, hit=verdict.rules_hit(journeys["packets"])),
        "artifacts": {"pcaps": pcaps, "trace_log": run.tracer.log_path, "ruleset": ruleset_path},
        "stats": {
            "trace_events": len(run.lines),
            "captured": sum(s.get("captured") or 0 for s in run.stats.values()),
            "kernel_drops": sum(s.get("kernel_drops") or 0 for s in run.stats.values()),
            "captures": run.stats,
            "unparsed_lines": len(journeys.get("unparsed", [])),
            "seconds": seconds,
            "lost": lost,
        },
    }


def verdict_of(result, run, expected):
    """Build the journeys of a finished run and compare them with the expectation."""
    ruleset_path = run.write_ruleset()
    pcaps = run.pcaps()
    journeys = build_journeys(run.lines, trace_format=run.tracer.trace_format, ruleset=run.ruleset, pcaps=pcaps)
    packets = journeys["packets"]
    observed = verdict.observe(run.traffic, packets)
    passed, diff = verdict.compare(expected, observed)
    result["warnings_list"] += observed.pop("notes") + run.tracer.warnings
    lost = lost_events(run)
    if any(lost.values()):
        result["warnings_list"].append(lost_warning(lost))
    result.update(
        traffic=[strip(item) for item in run.traffic],
        packets=packets,
        observed=observed,
        passed=passed,
        explanation=narrate.outcome(run.traffic, expected, observed, packets),
        **trace_outputs(run, journeys, pcaps, ruleset_path, result["seconds"], lost),
    )
    if not passed:
        result["mismatch"] = "scenario %s: expected and observed differ\n%s\n%s" % (
            result["scenario"],
            diff,
            result["explanation"],
        )
    return result
