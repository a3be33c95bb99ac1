# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet index's matrices: hosts x scenarios and hosts x flows, each cell's path compared with the majority's.

Pure functions on plain data, like report_model. Each scenario's fingerprint is made once,
and each host's scenarios are looked up by name once, so the matrix grows with its cells.
"""

from __future__ import annotations

from collections import Counter

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import drift, narrate
from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_flows
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_model import (
    anchor,
    host_facts,
    scenario_fingerprint,
    status,
)
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_names import scenario_key

BADGES = ("pass", "fail", "error", "partial")


def fleet(docs):
    """The hosts x scenarios matrix with drift: cells whose path differs from the majority."""
    names: list = []
    seen: set = set()
    for doc in docs:
        for scenario in doc["scenarios"]:
            if scenario_key(scenario) not in seen:
                seen.add(scenario_key(scenario))
                names.append(scenario_key(scenario))
    prints = [[scenario_fingerprint(s) for s in doc["scenarios"]] for doc in docs]
    majority, split = _majorities(docs, prints)
    rows = []
    totals: Counter = Counter()
    for doc, doc_prints in zip(docs, prints, strict=True):
        first: dict = {}
        for scenario, fingerprint in zip(doc["scenarios"], doc_prints, strict=True):
            first.setdefault(scenario_key(scenario), (scenario, fingerprint))
        cells: list[dict | None] = []
        for name in names:
            if name not in first:
                cells.append(None)
                continue
            scenario, fingerprint = first[name]
            cell = _cell(name, scenario, fingerprint, majority[name], name in split)
            totals[cell["status"]] += 1
            cells.append(cell)
        rows.append(dict(doc=doc, facts=host_facts(doc), cells=cells, summary=Counter(c["status"] for c in cells if c)))
    per_scenario = [Counter(r["cells"][i]["status"] for r in rows if r["cells"][i]) for i in range(len(names))]
    return dict(
        names=names,
        rows=rows,
        per_scenario=per_scenario,
        totals=dict(total=sum(totals.values()), **{k: totals.get(k, 0) for k in BADGES}),
        drift=sum(1 for r in rows for c in r["cells"] if c and c["drift"]),
        split=split,
    )


def _majorities(docs, prints):
    """The path code most hosts share per scenario (None without a strict majority), and the
    scenarios whose paths are split with no such majority."""
    codes: dict = {}
    for doc, doc_prints in zip(docs, prints, strict=True):
        for scenario, (_text, code) in zip(doc["scenarios"], doc_prints, strict=True):
            counter = codes.setdefault(scenario_key(scenario), Counter())
            if scenario.get("packets"):
                counter[code] += 1
    majority, split = {}, []
    for name, counter in codes.items():
        top = counter.most_common(2)
        majority[name] = top[0][0] if top and (len(top) == 1 or top[0][1] > top[1][1]) else None
        if majority[name] is None and len(counter) > 1:
            split.append(name)
    return majority, split


def _cell(name, scenario, fingerprint, majority, split):
    """One cell of the matrix: a host's outcome and path in one scenario."""
    text, code = fingerprint
    packets = scenario.get("packets")
    return dict(
        status=status(scenario),
        fate=(scenario.get("observed") or {}).get("fate")
        or (narrate.first_pair(packets or [])[0] or {}).get("fate")
        or "unknown",
        expected=(scenario.get("expected") or {}).get("fate"),
        text=text,
        code=code,
        drift=bool(packets) and majority is not None and code != majority,
        split=split and bool(packets),
        anchor=anchor(name),
        error=scenario.get("error"),
    )


def flow_matrix(docs):
    """The hosts x flows matrix: each cell's outcome against its expectation, and path drift.

    A flow drifts where a host's signature (fate and the first request's deciding rules,
    analysis/drift.py) differs from the one most hosts share; ``drifts`` says, per such flow,
    which hosts differ and at which chain.
    """
    names: list = []
    per_host = []
    for doc in docs:
        mine: dict = {}
        for flow in doc.get("flows") or []:
            mine.setdefault(report_flows.name(flow), flow)
        per_host.append(mine)
        names += [n for n in mine if n not in names]
    drifts, drifting = [], {}
    for flow_name in names:
        signatures = {
            doc["host"]: drift.signature(m[flow_name]) for doc, m in zip(docs, per_host, strict=True) if flow_name in m
        }
        differing, majority, split = drift.against_majority(signatures)
        if differing:
            hosts = [
                dict(
                    host=host,
                    text=drift.change_text(host, majority, signatures[host], where, ("on most hosts", "here")),
                )
                for host, where in differing.items()
            ]
            drifts.append(dict(flow=flow_name, anchor=report_flows.anchor(flow_name), split=split, hosts=hosts))
            drifting[flow_name] = {h["host"]: h["text"] for h in hosts}
    rows: list[dict] = []
    totals: Counter = Counter()
    for doc, mine in zip(docs, per_host, strict=True):
        cells: list[dict | None] = []
        for flow_name in names:
            flow = mine.get(flow_name)
            if flow is None:
                cells.append(None)
                continue
            cell = _flow_cell(flow_name, flow, drifting.get(flow_name, {}).get(doc["host"]))
            totals[cell["status"]] += 1
            cells.append(cell)
        rows.append(dict(doc=doc, facts=host_facts(doc), cells=cells))
    return dict(
        names=names,
        rows=rows,
        drifts=drifts,
        totals=dict(total=sum(totals.values()), **{k: totals.get(k, 0) for k in report_flows.OUTCOMES}),
        drift=sum(len(d["hosts"]) for d in drifts),
    )


def _flow_cell(flow_name, flow, drift_text):
    """One cell of the flows matrix: a host's verdict for one flow, against what was expected."""
    observed, expected = flow.get("observed") or {}, flow.get("expected") or {}
    signature = drift.signature(flow)
    return dict(
        status=report_flows.outcome(flow),
        verdict=observed.get("verdict") or "unknown",
        expected=expected.get("verdict"),
        at=observed.get("at") or (signature or {}).get("at"),
        drift=drift_text,
        anchor=report_flows.anchor(flow_name),
        error=flow.get("error"),
    )
