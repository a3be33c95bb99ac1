"""Path drift (analysis/drift.py) on the results fixtures: one host before and after, and across hosts.

fleet/deb12 (Docker 20.10) and fleet/sid (Docker 28.5) stand for one host before and after its
upgrade; recorded/* are the analysis core's output on real traces of the three back ends, and the
flows are derived from them (tests/unit/report/flow_fixtures.py).
"""

import copy
import json
import os
import sys

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import drift

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "..", "fixtures", "results")
sys.path.insert(0, os.path.join(HERE, "..", "report"))

import flow_fixtures  # noqa: E402  pylint: disable=wrong-import-position


def load(rel):
    with open(os.path.join(RESULTS, rel), encoding="utf-8") as handle:
        return json.load(handle)


def by_name(result):
    return {c["name"]: c for c in result["changes"]}


def test_upgrade_from_20_10_to_28_names_the_scenarios_that_changed_and_where():
    got = drift.compare(load("fleet/deb12/results.json"), load("fleet/sid/results.json"))
    changes = by_name(got)
    assert sorted(changes) == ["container_to_container", "cross_network"]
    cross = changes["cross_network"]
    assert cross["kind"] == "scenarios" and not cross["fate_changed"] and cross["path_changed"]
    assert cross["before"]["at"] == "filter:DOCKER-ISOLATION-STAGE-2" and cross["after"]["at"] == "raw:PREROUTING"
    assert cross["diverges"] == dict(step=1, before="filter:FORWARD:JUMP:DOCKER-USER", after="raw:PREROUTING:DROP",
                                     after_common=None)
    assert cross["text"] == (
        "cross_network: dropped at filter:DOCKER-ISOLATION-STAGE-2 before, dropped at raw:PREROUTING after; "
        "paths diverge at step 1: filter:FORWARD before, raw:PREROUTING after")
    bridged = changes["container_to_container"]
    assert bridged["after"]["path"] == [] and bridged["diverges"]["after"] == drift.END
    # sid's external_to_published errored before any packet: no outcome to compare.
    assert got["missing"] == [dict(kind="scenarios", name="external_to_published",
                                   text="external_to_published: only before")]
    assert got["unchanged"] == dict(scenarios=3, flows=0)
    assert (got["before_host"], got["after_host"]) == ("deb12", "sid")


def test_a_result_compared_with_itself_has_no_drift():
    doc = load("recorded/nft/results.json")
    got = drift.compare(doc, copy.deepcopy(doc))
    assert got["changes"] == [] and got["missing"] == [] and got["unchanged"]["scenarios"] == len(doc["scenarios"])


def test_back_ends_do_not_count_as_drift_but_a_fate_does():
    # The same Docker traced by iptables-legacy and by iptables-nft: rule numbers and policies differ,
    # the steering rules do not; only container_to_host, whose nft trace ends early, changes fate.
    got = drift.compare(load("recorded/legacy/results.json"), load("recorded/nft/results.json"))
    assert [c["name"] for c in got["changes"]] == ["container_to_host"]
    change = got["changes"][0]
    assert change["fate_changed"] and not change["path_changed"]
    assert (change["before"]["fate"], change["after"]["fate"]) == ("delivered", "unknown")
    assert change["text"] == ("container_to_host: delivered at nat:INPUT before, unknown at nat:PREROUTING after")


def test_paths_that_share_a_prefix_part_at_the_first_different_step():
    scenarios = {s["scenario"]: s for s in load("recorded/legacy/results.json")["scenarios"]}
    accepted, dropped = drift.signature(scenarios["container_to_container"]), drift.signature(scenarios["cross_network"])
    where = drift.divergence(accepted, dropped)
    assert where == dict(step=2 + 1, before="filter:FORWARD:JUMP:DOCKER", after="filter:DOCKER-ISOLATION-STAGE-1:JUMP:DOCKER-ISOLATION-STAGE-2",
                         after_common="filter:FORWARD:JUMP:DOCKER-ISOLATION-STAGE-1")
    assert drift.divergence(accepted, accepted) is None


def test_flows_are_compared_by_name_too():
    legacy, nft = flow_fixtures.flow_docs(keep_scenarios=())[:2]
    got = drift.compare(legacy, nft)
    assert [(c["kind"], c["name"]) for c in got["changes"]] == [("flows", "app to host")]
    assert got["unchanged"] == dict(scenarios=0, flows=4)
    only_after = dict(nft, flows=nft["flows"] + [dict(nft["flows"][0], flow="new flow")])
    assert drift.compare(legacy, only_after)["missing"] == [dict(kind="flows", name="new flow", text="new flow: only after")]


def test_a_flow_without_packets_is_compared_by_its_observed_chains():
    flow = dict(flow="f", observed=dict(fate="dropped", at="filter:DOCKER-USER:1",
                                        path=["raw:PREROUTING", "filter:FORWARD", "filter:DOCKER-USER"]))
    assert drift.signature(flow) == dict(fate="dropped", at="filter:DOCKER-USER",
                                         path=["raw:PREROUTING", "filter:FORWARD", "filter:DOCKER-USER"])
    assert drift.signature(dict(flow="f", observed={}, packets=[])) is None


def test_the_majority_across_hosts_and_who_differs():
    sigs = {d["host"]: drift.signature(next(f for f in d["flows"] if f["flow"] == "app to host"))
            for d in flow_fixtures.flow_docs(keep_scenarios=())}
    differing, majority, split = drift.against_majority(sigs)
    assert list(differing) == ["vm-nft"] and majority["fate"] == "delivered" and not split
    assert drift.against_majority({"a": sigs["vm-legacy"], "b": sigs["vm-nft"]})[2] is True
    assert drift.against_majority({"a": None}) == ({}, None, False)
