# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn scenario results (docs/result-contract.md) into what the report pages show.

Pure functions on plain data: no Ansible, no files, no HTML. Sentences and labels come from
the narration module; the templates escape every string they print, so nothing here needs to.
"""

from __future__ import annotations

import functools
import hashlib
import operator
from collections import Counter

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.drift import deciding_rules, nat_target
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import HOOKS
from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_svg
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_names import dir_name, scenario_key
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_ruleset import ruleset_view


def anchor(scenario_name):
    """The page anchor of a scenario."""
    return "scenario-" + dir_name(scenario_name or "unnamed")


_SCALARS = frozenset((str, int, float, bool, type(None)))
_STR = frozenset((str,))


def plain(value):
    """``value`` in builtin JSON types: Ansible's tagged str/dict subclasses copied into builtins.

    Parts that are builtin already are returned as they are, not copied (the report never
    changes its input): a results document holds hundreds of thousands of small dicts of
    builtin scalars, recognised in C (map, issuperset). Subclasses, such as Ansible's lazy
    containers, are always read through their own ``items`` and iteration.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict and _STR.issuperset(map(type, value)):
        if _SCALARS.issuperset(map(type, value.values())):
            return value
        values = [v if type(v) in _SCALARS else plain(v) for v in value.values()]
        return value if all(map(operator.is_, values, value.values())) else dict(zip(value, values, strict=True))
    if kind is list or kind is tuple:
        items = [v if type(v) in _SCALARS else plain(v) for v in value]
        return value if kind is list and all(map(operator.is_, items, value)) else items
    if isinstance(value, dict):
        # An exact type test on purpose: Ansible's tagged str subclasses must become plain str.
        return {
            k if type(k) is str else str(k): v if type(v) in _SCALARS else plain(v)  # pylint: disable=unidiomatic-typecheck
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [v if type(v) in _SCALARS else plain(v) for v in value]
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def hook_names(hops):
    """Return the netfilter hook of each hop: its own ``hook`` when the analysis core gave one,
    else its chain's; user chains inherit the hook they were entered from."""
    current, out = None, []
    for hop in hops:
        own = hop.get("hook")
        found = own if own in HOOKS else _chain_hook(str(hop.get("chain") or ""))
        current = found or current
        out.append(current or "OTHER")
    return out


@functools.lru_cache(maxsize=4096)
def _chain_hook(chain):
    """The hook a chain's name gives (``PREROUTING``, ``NAT-OUTPUT``...), None for Docker's and user chains."""
    name = chain.upper()
    if name in HOOKS:
        return name
    return None if name.startswith("DOCKER") else next((h for h in HOOKS if h in name), None)


def stages(hops):
    """Group consecutive hops at the same hook and table into numbered steps (with their NAT, if any).
    Bridge-family hops are the row "bridge" of their hook, drawn above the IP layer's tables."""
    groups: list[dict] = []
    for hop, hook in zip(hops, hook_names(hops), strict=True):
        table = "bridge" if hop.get("family") == "bridge" else str(hop.get("table") or "?")
        if groups and groups[-1]["hook"] == hook and groups[-1]["table"] == table:
            groups[-1]["hops"].append(hop)
        else:
            groups.append({"step": len(groups) + 1, "hook": hook, "table": table, "hops": [hop], "nat": None})
        groups[-1]["nat"] = groups[-1]["nat"] or nat_target(hop)
    return groups


def fingerprint(packet):
    """Return (short text, code) of a packet's path, for comparing hosts."""
    if not packet:
        return "no packet", "-"
    hops = packet.get("hops") or []
    hooks: list[str] = []
    for hook in hook_names(hops):
        if not hooks or hooks[-1] != hook:
            hooks.append(hook)
    end = packet.get("fate") or "unknown"
    decided = packet.get("fate_at") or {}
    text = narrate.path_label(hooks, end, decided.get("chain"))
    where_dropped = str(decided.get("chain") or "") if end == "dropped" else ""
    full = "|".join(deciding_rules(hops)) + "=>" + end + ":" + where_dropped
    return text, hashlib.sha1(full.encode()).hexdigest()[:6]


def scenario_fingerprint(scenario):
    """Fingerprint of a scenario: its first request and reply paths together."""
    request, reply = narrate.first_pair(scenario.get("packets") or [])
    parts = [fingerprint(request), fingerprint(reply)] if reply else [fingerprint(request)]
    text = narrate.pair_label([p[0] for p in parts])
    code = hashlib.sha1("/".join(p[1] for p in parts).encode()).hexdigest()[:6]
    return text, code


def matched(run, key):
    """Whether a run's observation matched its expectation: its own ``passed``, else expected and observed
    ``key`` compared; None when neither says."""
    if run.get("passed") in (True, False):
        return run["passed"]
    expected = (run.get("expected") or {}).get(key)
    observed = (run.get("observed") or {}).get(key)
    return expected == observed if expected and observed else None


def status(scenario):
    """Return the badge of a scenario: pass, fail, error or partial."""
    error, packets = scenario.get("error"), scenario.get("packets") or []
    if error:
        return "partial" if packets else "error"
    return {True: "pass", False: "fail", None: "partial"}[matched(scenario, "fate")]


def journey_rows(packet):
    """Rows of a packet's hop table: hops (numbered by step) and captures, in journey order.

    The last hop is marked ``decided`` when the packet's fate is known.
    """
    rows = _journey_rows(packet)
    hooks = [r for r in rows if r["kind"] == "hook"]
    if hooks and packet.get("fate") in ("delivered", "dropped"):
        hooks[-1]["decided"] = True
    return rows


def _journey_rows(packet):
    hops = packet.get("hops") or []
    step_of = {}
    for group in stages(hops):
        for hop in group["hops"]:
            step_of[id(hop)] = (group["step"], group["hook"])
    hop_rows = [
        dict(
            kind="hook",
            hop=h,
            step=step_of[id(h)][0],
            hook=step_of[id(h)][1],
            where=narrate.where(h),
            nat=bool(nat_target(h)),
        )
        for h in hops
    ]
    caps = [dict(kind="capture", cap=c) for c in packet.get("captures") or []]
    journey = packet.get("journey") or []
    if journey:
        rows, pending_hops, pending_caps = [], list(hop_rows), list(caps)
        for entry in journey:
            if entry.get("kind") == "hook" and pending_hops:
                rows.append(pending_hops.pop(0))
            elif entry.get("kind") == "capture":
                rows.append(pending_caps.pop(0) if pending_caps else dict(kind="capture", cap=entry))
        return rows + pending_hops + pending_caps
    if all(r["hop"].get("ts") is not None for r in hop_rows) and all(c["cap"].get("ts") is not None for c in caps):
        return sorted(hop_rows + caps, key=lambda r: (r.get("hop") or r.get("cap")).get("ts"))
    return hop_rows + caps


def packet_view(packet):
    """What the page shows for one prominent packet."""
    rewrites = narrate.nat_texts(packet)
    return dict(
        packet=packet,
        rows=journey_rows(packet),
        nat=rewrites,
        changes=[] if rewrites else narrate.address_changes(packet),
        sentence=narrate.fate_sentence(packet),
        diagram=report_svg.hook_diagram(packet, stages(packet.get("hops") or [])),
    )


def packet_row(packet):
    """One row of the list of all packets: where its fate was decided, its hop count and capture interfaces."""
    captures = packet.get("captures") or []
    return dict(
        p=packet,
        decided=narrate.where(packet.get("fate_at")),
        hops=len(packet.get("hops") or []),
        ifaces=", ".join(str(c["iface"]) if "iface" in c else "" for c in captures),
    )


def capture_view(packets, limit):
    """Captures grouped by interface, in time order, each with its packet."""
    by_iface: dict[str, list] = {}
    start = None
    for packet in packets:
        for cap in packet.get("captures") or []:
            by_iface.setdefault(str(cap.get("iface") or "?"), []).append((cap, packet))
            if cap.get("ts") is not None:
                start = cap["ts"] if start is None else min(start, cap["ts"])
    out = []
    for iface in sorted(by_iface):
        rows = sorted(by_iface[iface], key=lambda r: (r[0].get("ts") is None, r[0].get("ts") or 0))
        out.append(
            dict(
                iface=iface,
                total=len(rows),
                rows=[
                    dict(cap=c, packet=p, rel=None if c.get("ts") is None or start is None else c["ts"] - start)
                    for c, p in rows[:limit]
                ],
            )
        )
    return out


def path_groups(packets):
    """Count packets by path, so thousands of packets read as a few distinct paths."""
    groups: dict[str, dict] = {}
    for packet in packets:
        text, code = fingerprint(packet)
        group = groups.setdefault(
            code,
            dict(
                code=code,
                text=text,
                count=0,
                first=packet.get("id"),
                direction=packet.get("direction") or "request",
                fate=packet.get("fate") or "unknown",
            ),
        )
        group["count"] += 1
    return sorted(groups.values(), key=lambda g: -g["count"])


def scenario_view(scenario, host, limit, artifacts):
    """Everything the page shows for one scenario."""
    packets = scenario.get("packets") or []
    request, reply = narrate.first_pair(packets)
    return dict(
        s=scenario,
        anchor=anchor(scenario_key(scenario)),
        name=scenario_key(scenario) or "unnamed",
        status=status(scenario),
        explanation=narrate.explain(scenario),
        notes=narrate.notes(scenario, host),
        topology=report_svg.topology(topology_with_gateways(scenario.get("topology") or {}, host), host),
        request=packet_view(request) if request else None,
        reply=packet_view(reply) if reply else None,
        packets=[packet_row(p) for p in packets[:limit]],
        packet_total=len(packets),
        groups=path_groups(packets),
        captures=capture_view(packets, limit),
        ruleset=ruleset_view(scenario.get("ruleset"), packets),
        artifacts=artifacts,
        fingerprint=scenario_fingerprint(scenario),
    )


def topology_with_gateways(topo, host):
    """The topology with every network's gateway known where the results allow it.

    Older results, and a freshly started Docker 20.10 whose default bridge has no Gateway in
    its IPAM config, leave a network's gateway empty: take it from a container on that network,
    else from the host facts' bridge of that name or interface.
    """
    networks = []
    for net in topo.get("networks") or []:
        if not net.get("gateway"):
            gateway = next(
                (
                    c.get("gateway")
                    for c in topo.get("containers") or []
                    if c.get("network") == net.get("name") and c.get("gateway")
                ),
                None,
            )
            net = dict(net, gateway=gateway or _bridge_gateway(net, host.get("bridges") or []))
        networks.append(net)
    return dict(topo, networks=networks)


def _bridge_gateway(net, bridges):
    """The gateway the host facts give for a network's name or its bridge interface."""
    for bridge in bridges:
        if bridge.get("gateway") and (
            bridge.get("name") == net.get("name") or (net.get("bridge") and bridge.get("bridge") == net.get("bridge"))
        ):
            return bridge["gateway"]
    return None


def host_facts(doc):
    """Host facts for the header: results.json facts, completed by the scenarios' host entries."""
    facts = dict(doc.get("facts") or {})
    for scenario in doc.get("scenarios") or []:
        for key, value in (scenario.get("host") or {}).items():
            facts.setdefault(key, value)
    facts.setdefault("name", doc.get("host"))
    return facts


def summary(views):
    """Count scenarios by badge."""
    counts = Counter(v["status"] for v in views)
    return dict(total=len(views), **{k: counts.get(k, 0) for k in ("pass", "fail", "error", "partial")})
