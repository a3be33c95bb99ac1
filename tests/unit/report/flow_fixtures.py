"""Flow results derived from the real recorded scenario results (tests/unit/fixtures/results).

The packets, rulesets, stats and artifacts are the recorded scenarios' own (the analysis core's
output on real traces, and the scenario runner's real output); only the flow keys of
docs/result-contract.md ("Flow result") are added, worked out from those packets: endpoints
from the first request's addresses and the topology, interfaces from the captures, the
verdict, the deciding rule and its owner from the hop that decided. Nothing is invented
about the packets themselves.
"""

import copy
import json
import os

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "results")
HOSTS = {
    "vm-legacy": "recorded/legacy/results.json",
    "vm-nft": "recorded/nft/results.json",
    "vm-nftables": "recorded/nftables/results.json",
    "localhost": "runner/localhost/results.json",
}
# flow name: (scenario it is derived from, expectation)
FLOWS = {
    "api to db": ("container_to_container", {"verdict": "allowed"}),
    "isolated networks": ("cross_network", {"verdict": "denied", "at": "filter:DOCKER-ISOLATION-STAGE-2"}),
    "app to host": ("container_to_host", {}),
    "web closed to the host": ("published_port", {"verdict": "denied"}),
    "web from outside": ("external_to_published", {"verdict": "allowed", "at": "filter:DOCKER"}),
}
VERDICTS = {"delivered": "allowed", "dropped": "denied"}


def load(rel):
    with open(os.path.join(FIXTURES, rel), encoding="utf-8") as handle:
        return json.load(handle)


def _endpoint(address, topology, port=None):
    for container in topology.get("containers") or []:
        if container.get("ip") == address:
            return dict(kind="container", name=container["name"], id=container.get("id"), address=address,
                        network_mode=container.get("network"), pid=container.get("pid"), port=port)
    return dict(kind="address", name=None, address=address, port=port)


def _decider(request):
    """The hop that decided: the last rule that accepted or dropped, else where the fate was decided."""
    rules = [h for h in request.get("hops") or [] if h.get("type") == "rule" and h.get("verdict") in ("ACCEPT", "DROP")]
    return rules[-1] if rules else request.get("fate_at") or {}


def _owner(hop):
    """Docker's rule when its chain is Docker's or its text names a Docker bridge; else the user's."""
    chain, text = str(hop.get("chain") or ""), str(hop.get("rule_text") or "")
    if not chain:
        return None
    docker = (chain.startswith("DOCKER") and chain != "DOCKER-USER") or "docker0" in text or "br-" in text
    return "docker" if docker else "user"


def flow_from(name, scenario, expected):
    """A flow result made of one recorded scenario result."""
    flow = copy.deepcopy(scenario)
    packets = flow.get("packets") or []
    request = next((p for p in packets if p.get("direction") != "reply"), {})
    five = request.get("flow") or {}
    proto = str(five.get("proto") or "icmp").lower()
    port = five.get("dport")
    observed = dict(flow.get("observed") or {})
    observed["fate"] = observed.get("fate") or request.get("fate") or "unknown"
    observed["verdict"] = VERDICTS.get(observed["fate"], "unknown")
    decided = _decider(request)
    if decided.get("chain"):
        observed["at"] = "%s:%s:%s" % (decided["table"], decided["chain"], decided.get("rule") or decided.get("handle") or decided.get("type"))
    observed["owner"], observed["rule_text"] = _owner(decided), decided.get("rule_text")
    observed["path"] = ["%s:%s" % (h["table"], h["chain"]) for h in request.get("hops") or []]
    interfaces = []
    for packet in packets:
        for cap in packet.get("captures") or []:
            if cap.get("iface") not in interfaces:
                interfaces.append(cap.get("iface"))
    topology = flow.pop("topology", None) or {}
    for key in ("scenario", "description", "expected", "passed", "explanation"):
        flow.pop(key, None)
    flow.update(
        flow=name, mode="probe", proto=proto, port=port,
        src=_endpoint(five.get("src"), topology) if five.get("src") else dict(kind="host"),
        dst=_endpoint(five.get("dst"), topology, port) if five.get("dst") else dict(kind="host"),
        path=dict(interfaces=interfaces, legs=[dict(src=five.get("src"), dst=five.get("dst"), proto=proto, dport=port)]),
        expected=dict(expected), observed=observed,
    )
    if expected.get("verdict"):
        flow["passed"] = expected["verdict"] == observed["verdict"] and (
            not expected.get("at") or str(observed.get("at") or "").startswith(expected["at"])
        )
        if not flow["passed"]:
            flow["mismatch"] = "- expected verdict: %s\n+ observed verdict: %s (%s at %s)" % (
                expected["verdict"], observed["verdict"], observed["fate"], observed.get("at") or "?")
    else:
        flow["passed"] = None
    return flow


def flow_docs(hosts=None, keep_scenarios=("localhost",)):
    """results.json documents with ``flows``, one per host, from the recorded scenario results.

    ``hosts`` maps host names to recorded results (default HOSTS). Only the hosts in
    ``keep_scenarios`` keep their scenarios too (a page with both).
    """
    docs = []
    for host, rel in (hosts or HOSTS).items():
        doc = load(rel)
        scenarios = {s["scenario"]: s for s in doc["scenarios"]}
        flows = [flow_from(name, scenarios[source], expected)
                 for name, (source, expected) in FLOWS.items() if source in scenarios]
        if host == "vm-nftables":
            flows.append(dict(flow="db from the host", mode="probe", proto="tcp", port=5432,
                              src=dict(kind="host"), dst=dict(kind="container", name="db"), expected={"verdict": "allowed"},
                              observed={}, passed=None, packets=[],
                              error="container db is not running: start it (docker start db) or name a running one"))
        docs.append(dict(doc, host=host, flows=flows, scenarios=doc["scenarios"] if host in keep_scenarios else []))
    return docs
