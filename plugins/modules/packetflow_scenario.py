#!/usr/bin/python
# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: packetflow_scenario
short_description: Run one Docker networking scenario and show where its packets go
version_added: 0.1.0
description:
  - Builds the scenario's own topology from the lab image (containers, user networks and,
    where needed, an outside client network namespace), all labelled with a run id.
  - Arms TRACE scoped to the scenario's flow on the firewall back end that holds Docker's rules
    (iptables-legacy, iptables-nft or nftables), inserted at position 1 and tagged
    C(packetflow:<run_id>).
  - Captures with tcpdump on every interface on the path, waits until each capture listens, sends
    bounded traffic with the host's tools inside the right namespace, collects the trace and the
    ruleset and builds one journey per packet with the analysis core.
  - Checks the observed fate against the expectation and always tears everything down (TRACE rules,
    monitors, captures, containers, networks, namespaces, sysctls), also when a step fails.
  - The host is left as it was found, so the module reports C(changed=false). Artifacts (pcaps, raw
    trace, ruleset) stay under O(workdir) for the caller to fetch and remove.
author:
  - dockernet.packetflow maintainers (@dockernet)
requirements:
  - Python Docker SDK (C(docker)) on the target
  - tcpdump, busybox, nsenter, iproute2, and iptables-legacy, iptables-nft plus xtables-monitor, or nft
  - root
options:
  scenario:
    description: The scenario to run.
    type: str
    required: true
    choices: [host_to_container, container_to_host, container_to_container, cross_network, published_port,
              external_to_published, container_to_external, host_network, none_network]
  name:
    description: Name of the first container (the study's C(web1)). Must not exist yet.
    type: str
    default: web1
  second_name:
    description: Name of the second container, in scenarios that need two. Must not exist yet.
    type: str
    default: web2
  port:
    description:
      - Host port published to the container's port 80 (the study's C(-p 8080:80)), or served on the
        host by the C(host_network) container. Must be free.
      - C(0) picks a free port.
    type: int
    default: 8080
  image:
    description: Lab image with busybox C(httpd); it is never pulled.
    type: str
    default: mybusybox:latest
  expect:
    description: Override the catalogue's expectation, key by key.
    type: dict
    suboptions:
      fate:
        description: Expected fate of the scenario's request packets.
        type: str
        choices: [delivered, dropped, unknown]
      at:
        description: Where the fate is decided, as C(table:chain) (a prefix of the observed place).
        type: str
      via:
        description: C(table:chain) entries the request packets must cross, in this order.
        type: list
        elements: str
  fail_on_mismatch:
    description: Fail the task when the observed fate or path differs from the expectation.
    type: bool
    default: true
  count:
    description: Echo requests per ping.
    type: int
    default: 1
  workdir:
    description: Directory under which the run's artifacts are written, in a subdirectory named after the run id.
    type: path
    default: /tmp/packetflow
  run_id:
    description: Run id to use (default C(pf-<date>-<random>)). Must start with C(pf-).
    type: str
extends_documentation_fragment:
  - dockernet.packetflow.docker
  - dockernet.packetflow.attributes
  - dockernet.packetflow.attributes.LINUX
  - dockernet.packetflow.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details:
      - In check mode it returns RV(plan), the topology, TRACE rules and captures a run would set up,
        without touching the host.
  diff_mode:
    support: none
notes:
  - O(timeout) bounds each container start, each capture start and each traffic exchange too.
seealso:
  - module: dockernet.packetflow.packetflow_facts
  - module: dockernet.packetflow.packetflow_cleanup
"""

EXAMPLES = r"""
- name: Show where a ping between two user networks goes
  dockernet.packetflow.packetflow_scenario:
    scenario: cross_network
  register: cross

- name: Published port on another host port, expecting delivery
  dockernet.packetflow.packetflow_scenario:
    scenario: published_port
    port: 0
    expect:
      fate: delivered
"""

RETURN = r"""
scenario:
  description: The scenario id.
  returned: always
  type: str
  sample: cross_network
description:
  description: What the scenario does.
  returned: always
  type: str
run_id:
  description: Run id; tags the TRACE rules and labels the containers and networks.
  returned: always
  type: str
  sample: pf-20261125-1a2b3c
started:
  description: Start time, UTC, ISO 8601.
  returned: always
  type: str
seconds:
  description: Wall time of the run.
  returned: always
  type: float
host:
  description: >-
    Host facts the run depended on (name, kernel, docker_version, backend, userland_proxy, br_netfilter,
    iptables_default).
  returned: always
  type: dict
topology:
  description: Containers, networks and the outside client the run built.
  returned: always
  type: dict
traffic:
  description: What was sent, with the command and whether it got an answer.
  returned: always
  type: list
  elements: dict
packets:
  description: One journey per packet, from the analysis core (see docs/result-contract.md).
  returned: success
  type: list
  elements: dict
expected:
  description: Expected fate, place and path, with the reason.
  returned: always
  type: dict
observed:
  description: Observed fate, place and path.
  returned: success
  type: dict
mismatch:
  description: Readable diff of expected and observed fate and path, when they differ.
  returned: when passed is false
  type: str
passed:
  description: Whether observed matches expected.
  returned: success
  type: bool
explanation:
  description: The outcome in one sentence, naming the rule of Docker's that decided it.
  returned: success
  type: str
plan:
  description: In check mode, the TRACE rules and captures that a run would set up.
  returned: check mode
  type: dict
ruleset:
  description: >-
    The ruleset the trace refers to (format, text, and on iptables-nft the base chains that exist) and the
    rules hit.
  returned: success
  type: dict
artifacts:
  description: Paths on the target of the pcaps (by interface), the raw trace and the ruleset.
  returned: success
  type: dict
stats:
  description: trace_events, captured, kernel_drops, unparsed_lines, seconds.
  returned: success
  type: dict
warnings_list:
  description: Notes about the host (back end mismatch, untraced paths).
  returned: always
  type: list
  elements: str
error:
  description: Message when the run failed or is partial, else null.
  returned: always
  type: str
"""

import binascii
import os
import signal
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue import scenarios as catalogue
from ansible_collections.dockernet.packetflow.plugins.module_utils.host import capture
from ansible_collections.dockernet.packetflow.plugins.module_utils.host import facts as hostfacts
from ansible_collections.dockernet.packetflow.plugins.module_utils.host import lab as lab_module
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.lab import Lab, State
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.tracer import FORMATS, Tracer

try:
    import docker
    HAS_DOCKER = True
except ImportError:
    HAS_DOCKER = False

TOOLS = ("tcpdump", "busybox", "nsenter", "ip")
BACKEND_TOOLS = {"legacy": ("iptables-legacy", "iptables-legacy-save"),
                 "nft": ("iptables-nft", "iptables-nft-save", "xtables-monitor"),
                 "nftables": ("nft",)}
HTTP_REQUEST = b"GET / HTTP/1.0\r\n\r\n"


class Timeout(Exception):
    """Raised by the SIGTERM handler so that tear-down still runs."""


def new_run_id():
    """pf-<UTC date>-<6 hex>."""
    return "pf-%s-%s" % (time.strftime("%Y%m%d", time.gmtime()), binascii.hexlify(os.urandom(3)).decode())


def preflight(params, docker_mod, get_bin_path):
    """Check everything a run needs before anything is built; return (client, facts)."""
    if os.geteuid() != 0:
        raise RuntimeError("packetflow_scenario must run as root (it adds TRACE rules, creates namespaces "
                           "and captures packets); use become: true")
    for tool in TOOLS:
        if not get_bin_path(tool):
            raise RuntimeError("%s is not installed on this host (install it, e.g. with role "
                               "dockernet.packetflow.tcpdump for tcpdump)" % tool)
    try:
        client = docker_mod.DockerClient(base_url=params["docker_host"], timeout=params["timeout"])
        client.ping()
    except Exception as exc:
        raise RuntimeError("Docker is not reachable at %s (is dockerd running?): %s" % (params["docker_host"], exc))
    facts = hostfacts.gather(client)
    if facts["backend"] is None:
        raise RuntimeError("Docker's firewall rules were found in neither iptables-legacy, iptables-nft nor nftables")
    for tool in BACKEND_TOOLS[facts["backend"]]:
        if not get_bin_path(tool):
            raise RuntimeError("%s is not installed but Docker's rules are on the %s back end" % (tool, facts["backend"]))
    return client, facts


def addresses(topo, facts):
    """Symbolic endpoint -> address."""
    addr = {"hostip": facts["primary_address"], "lo": "127.0.0.1"}
    for index, cont in enumerate(topo["containers"]):
        addr["c%d" % index] = cont["ip"] or "127.0.0.1"
    if topo["containers"] and topo["containers"][0]["gateway"]:
        addr["gw0"] = topo["containers"][0]["gateway"]
    if topo.get("peer"):
        addr["peer"] = topo["peer"]["ip"]
        addr["peerhost"] = topo["peer"]["host_ip"]
    return addr


def resolve_traffic(spec, topo, facts, port):
    """The scenario's traffic with addresses, the legs to trace and the command to send it."""
    addr = addresses(topo, facts)
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
            prefix, who = capture.netns_prefix(netns=topo["peer"]["netns"]), topo["peer"]["netns"]
        else:
            cont = topo["containers"][int(src[1:])]
            prefix, who = capture.netns_prefix(pid=cont["pid"]), cont["name"]
        items.append({"from": who, "to": dst, "proto": proto, "port": dport, "legs": legs, "prefix": prefix})
    return items


def send(item, count, timeout):
    """Send one traffic item, bounded; fill in command, ok and output."""
    if item["proto"] == "icmp":
        argv = ["busybox", "ping", "-c", str(count), "-W", "1", "-w", str(min(timeout, count + 1)), item["to"]]
        data = None
    else:
        argv = ["busybox", "nc", "-w", "2", item["to"], str(item["port"])]
        data = HTTP_REQUEST
    item["command"] = " ".join(item["prefix"] + argv)
    try:
        proc = subprocess.run(item["prefix"] + argv, input=data, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False)
        out = proc.stdout.decode("utf-8", "replace")
        item["ok"] = proc.returncode == 0 if data is None else "HTTP/" in out
    except subprocess.TimeoutExpired:
        out, item["ok"] = "timed out after %ss" % timeout, False
    item["output"] = out[-500:]


def bpf(legs):
    """A capture filter for the legs only, so a busy host's other traffic is not recorded."""
    parts = []
    for leg in legs:
        one = "%s and host %s and host %s" % (leg["proto"], leg["src"], leg["dst"])
        if leg.get("dport"):
            one += " and port %s" % leg["dport"]
        if "(%s)" % one not in parts:
            parts.append("(%s)" % one)
    return " or ".join(parts)


def capture_specs(spec, topo, traffic, rundir, hostip):
    """One capture per interface on the path: inside containers, host veths, bridges, lo, the peer."""
    specs, seen = [], set()
    legs = [leg for item in traffic for leg in item["legs"]]
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
    if any(item["from"] == "host" and item["to"] in ("127.0.0.1", hostip) for item in traffic):
        add("lo")
    return specs


def subsequence(wanted, path):
    """Entries of wanted missing from path when read in order."""
    missing, pos = [], 0
    for entry in wanted:
        try:
            pos = path.index(entry, pos) + 1
        except ValueError:
            missing.append(entry)
    return missing


def place(fate_at):
    """table:chain:rule of a fate_at dict."""
    if not fate_at:
        return None
    where = "%s:%s" % (fate_at.get("table"), fate_at.get("chain"))
    num = fate_at.get("rule")
    if num is None and fate_at.get("handle") is not None:
        num = fate_at.get("handle")
    if fate_at.get("type") in ("policy", "return"):
        return "%s:%s" % (where, fate_at["type"])
    return "%s:%s" % (where, num) if num is not None else where


def observe(traffic, packets):
    """Observed fate, place, path and notes, from the request packets of each traffic item."""
    path, notes, fates = [], [], []
    for item in traffic:
        forward = {(leg["src"], leg["dst"]) for leg in item["legs"]}
        mine = [p for p in packets if (p["flow"].get("src"), p["flow"].get("dst")) in forward]
        item["packets"] = [p["id"] for p in mine]
        for packet in mine:
            for hop in packet.get("hops", []):
                for key in crossed(hop):
                    if not path or path[-1] != key:
                        path.append(key)
        dropped = [p for p in mine if p.get("fate") == "dropped"]
        if any(p.get("fate") == "delivered" for p in mine):
            fates.append(("delivered", None, item))
        elif dropped:
            fates.append(("dropped", dropped[0].get("fate_at"), item))
        elif item["ok"]:
            fates.append(("delivered", None, item))
            notes.append("%s -> %s was answered; %s" % (
                item["from"], item["to"], "its trace ends before a final hook (no rules registered there)"
                if mine else "nothing of it was traced on this host"))
        else:
            fates.append(("unknown", None, item))
        if dropped and item["ok"]:
            notes.append("%s -> %s got an answer although a packet was traced as dropped" % (item["from"], item["to"]))
    drop = [f for f in fates if f[0] == "dropped"]
    if drop:
        fate, at, item = drop[0]
    elif fates and all(f[0] == "delivered" for f in fates):
        fate, at, item = "delivered", None, None
    else:
        fate, at, item = "unknown", None, None
    return {"fate": fate, "at": place(at), "fate_at": at, "path": path, "notes": notes}


def crossed(hop):
    """table:chain of a hop, then the chain it jumps to: an empty chain (DOCKER-USER, say)
    leaves no hop of its own on iptables-nft."""
    keys = ["%s:%s" % (hop.get("table"), hop.get("chain"))]
    verdict = hop.get("verdict") or ""
    if verdict.startswith(("JUMP:", "GOTO:")):
        keys.append("%s:%s" % (hop.get("table"), verdict.split(":", 1)[1]))
    return keys


def compare(expected, observed):
    """(passed, diff text)."""
    lines = []
    if expected["fate"] != observed["fate"]:
        lines.append("- expected fate: %s" % expected["fate"])
        lines.append("+ observed fate: %s" % observed["fate"])
    if expected.get("at") and not (observed["at"] or "").startswith(expected["at"]):
        lines.append("- expected decided at: %s" % expected["at"])
        lines.append("+ observed decided at: %s" % observed["at"])
    missing = subsequence(expected.get("via") or [], observed["path"])
    if missing:
        lines.append("- expected path (in order): %s" % " -> ".join(expected["via"]))
        lines.append("+ observed path: %s" % (" -> ".join(observed["path"]) or "(nothing traced)"))
        lines.append("  missing: %s" % ", ".join(missing))
    forbidden = [f for f in expected.get("forbid") or [] if f in observed["path"]]
    if forbidden:
        lines.append("+ observed chains that should not be crossed: %s" % ", ".join(forbidden))
    return not lines, "\n".join(lines)


def plan_topology(spec, names, port):
    """Placeholder topology for check mode."""
    conts = []
    for index, cspec in enumerate(spec["containers"]):
        bridged = cspec["network"] not in ("host", "none")
        conts.append({"name": names[index], "pid": None, "network": cspec["network"],
                      "ip": "<%s>" % names[index] if bridged else None,
                      "gateway": "<gateway of %s>" % cspec["network"] if bridged else None,
                      "veth": "<veth of %s>" % names[index] if bridged else None,
                      "published": "%s:80" % port if cspec.get("publish") else None})
    nets = [{"name": n, "bridge": "docker0" if n == "bridge" else "<bridge of %s>" % n}
            for n in sorted({c["network"] for c in conts if c["ip"]})]
    peer = {"netns": "pf-<id>", "ip": "<peer>", "host_ip": "<host side>", "veth": "pfp<id>",
            "host_veth": "pfh<id>"} if spec.get("peer") else None
    return {"containers": conts, "networks": nets, "peer": peer}


def run_scenario(params, check_mode, docker_mod, get_bin_path):
    """Run one scenario and return the result contract; raise RuntimeError before building anything."""
    started = time.time()
    spec = catalogue.SCENARIOS[params["scenario"]]
    run_id = params["run_id"] or new_run_id()
    if not run_id.startswith("pf-"):
        raise RuntimeError("run_id must start with pf- (got %s)" % run_id)
    client, facts = preflight(params, docker_mod, get_bin_path)
    names = [params["name"], params["second_name"]]
    port = params["port"] or lab_module.free_port()
    state = State(run_id)
    lab = Lab(client, run_id, params["image"], params["timeout"], state)
    lab.preflight(spec, names, port)
    peer_net = hostfacts.free_peer_subnet() if spec.get("peer") else None
    if spec.get("peer") and peer_net is None:
        raise RuntimeError("no free documentation-range subnet for the outside client")
    expected = catalogue.expectation(params["scenario"], facts, params.get("expect"))
    host = {k: facts[k] for k in ("name", "kernel", "docker_version", "backend", "userland_proxy",
                                  "br_netfilter", "iptables_default")}
    result = {"scenario": params["scenario"], "description": spec["description"], "run_id": run_id,
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "host": host,
              "expected": expected, "warnings_list": list(facts["warnings"]), "error": None}
    if check_mode:
        topo = plan_topology(spec, names, port)
        traffic = resolve_traffic(spec, topo, facts, port)
        tracer = Tracer(facts["backend"], run_id, [leg for i in traffic for leg in i["legs"]], "/nonexistent")
        result.update(topology=topo, traffic=[strip(i) for i in traffic], seconds=round(time.time() - started, 3),
                      plan={"rules": tracer.plan(),
                            "captures": [s["label"] for s in capture_specs(spec, topo, traffic, "", facts["primary_address"])]})
        return result
    rundir = os.path.join(params["workdir"], run_id)
    os.makedirs(rundir, mode=0o755, exist_ok=True)
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    tracer, captures, lines, ruleset, stats, stage = None, [], [], None, {}, "build the lab"
    teardown_errors = []
    try:
        state.save()
        topo = lab.build(spec, names, port, peer_net)
        result["topology"] = topo
        traffic = resolve_traffic(spec, topo, facts, port)
        result["traffic"] = traffic
        inside = topo["containers"][0]["pid"] if spec.get("inside") else None
        if inside and facts["backend"] == "legacy":
            all_netns = "/proc/sys/net/netfilter/nf_log_all_netns"
            if os.path.exists(all_netns):
                state.sysctl(all_netns, "1")
            else:
                # Only the initial namespace has it: a host that is itself a container
                # traces inside namespaces only when its kernel's host has it set.
                result["warnings_list"].append(
                    "%s is not settable here (not the initial network namespace): the kernel's host must set "
                    "net.netfilter.nf_log_all_netns=1 (role dockernet.packetflow.nf_log, nf_log_all_netns: true) "
                    "or none_network traces nothing" % all_netns)
        stage = "arm tracing"
        tracer = Tracer(facts["backend"], run_id, [leg for i in traffic for leg in i["legs"]], rundir,
                        pid=inside, timeout=params["timeout"])
        monitor = tracer.start_collector()
        if monitor:
            state.add("pids", monitor)
        tracer.arm(remember=lambda objects: state.add("nft_created", objects))
        stage = "start captures"
        capture.start_all(capture_specs(spec, topo, traffic, rundir, facts["primary_address"]), params["timeout"], captures)
        for cap in captures:
            state.add("pids", cap.proc.pid)
        stage = "send traffic"
        for item in traffic:
            send(item, params["count"], params["timeout"])
        stage = "collect"
        ruleset = tracer.ruleset()
        lines = tracer.collect()
        stats = capture.stop_all(captures, params["timeout"])
    except Exception as exc:
        result["error"] = "%s failed: %s" % (stage, exc)
    finally:
        if tracer is not None:
            tracer.stop()
            teardown_errors += tracer.disarm()
        capture.stop_all(captures, params["timeout"])
        teardown_errors += lab.teardown()
        teardown_errors += state.restore()
        if not teardown_errors:
            state.remove()
        signal.signal(signal.SIGTERM, previous)
    if teardown_errors:
        result["error"] = ((result["error"] + "; ") if result["error"] else "") + \
            "tear-down incomplete (run packetflow_cleanup): " + "; ".join(teardown_errors)
    result["seconds"] = round(time.time() - started, 3)
    if result["error"]:
        if "traffic" in result:
            result["traffic"] = [strip(i) for i in result["traffic"]]
        return result
    return finish(result, spec, traffic, tracer, captures, lines, ruleset, stats, expected)


def strip(item):
    """A traffic item as returned (no internal fields)."""
    return {k: v for k, v in item.items() if k not in ("prefix", "legs")}


def on_sigterm(signum, frame):
    """Turn SIGTERM into an exception so tear-down runs."""
    raise Timeout("terminated by SIGTERM")


def finish(result, spec, traffic, tracer, captures, lines, ruleset, stats, expected):
    """Build the journeys and compare them with the expectation."""
    pcaps = {cap.label: cap.path for cap in captures if os.path.exists(cap.path)}
    rundir = os.path.dirname(tracer.log_path)
    ruleset_path = os.path.join(rundir, "ruleset.txt")
    with open(ruleset_path, "w") as handle:
        handle.write(ruleset["text"])
    journeys = build_journeys(lines, trace_format=FORMATS[tracer.backend], ruleset=ruleset, pcaps=pcaps)
    packets = journeys["packets"]
    observed = observe(traffic, packets)
    passed, diff = compare(expected, observed)
    hit = []
    for packet in packets:
        for hop in packet.get("hops", []):
            key = {"table": hop.get("table"), "chain": hop.get("chain"), "rule": hop.get("rule")}
            if hop.get("type") == "rule" and key not in hit:
                hit.append(key)
    result["warnings_list"] += observed.pop("notes")
    result.update(
        traffic=[strip(i) for i in traffic], packets=packets, observed=observed, passed=passed,
        explanation=narrate.outcome(traffic, expected, observed, packets),
        ruleset=dict(ruleset, hit=hit),
        artifacts={"pcaps": pcaps, "trace_log": tracer.log_path, "ruleset": ruleset_path},
        stats={"trace_events": len(lines),
               "captured": sum(s.get("captured") or 0 for s in stats.values()),
               "kernel_drops": sum(s.get("kernel_drops") or 0 for s in stats.values()),
               "captures": stats,
               "unparsed_lines": len(journeys.get("unparsed", [])),
               "seconds": result["seconds"]})
    if not passed:
        result["mismatch"] = "scenario %s: expected and observed differ\n%s\n%s" % (
            result["scenario"], diff, result["explanation"])
    return result


def main():
    """Ansible entry point."""
    module = AnsibleModule(
        argument_spec=dict(
            scenario=dict(type="str", required=True, choices=catalogue.names()),
            name=dict(type="str", default="web1"),
            second_name=dict(type="str", default="web2"),
            port=dict(type="int", default=8080),
            image=dict(type="str", default="mybusybox:latest"),
            expect=dict(type="dict", options=dict(
                fate=dict(type="str", choices=["delivered", "dropped", "unknown"]),
                at=dict(type="str"),
                via=dict(type="list", elements="str"))),
            fail_on_mismatch=dict(type="bool", default=True),
            count=dict(type="int", default=1),
            timeout=dict(type="int", default=10),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            workdir=dict(type="path", default="/tmp/packetflow"),
            run_id=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker"))
    started = time.time()
    try:
        result = run_scenario(module.params, module.check_mode, docker, module.get_bin_path)
    except RuntimeError as exc:
        module.fail_json(msg=str(exc), changed=False, scenario=module.params["scenario"], run_id=None,
                         passed=False, error=str(exc), seconds=round(time.time() - started, 3))
    if result.get("error"):
        module.fail_json(msg=result["error"], changed=False, **result)
    if not result.get("passed", True) and module.params["fail_on_mismatch"]:
        module.fail_json(msg=result["mismatch"], changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
