"""Render packets made by the analysis core (build_journeys), not by hand."""

import glob
import os
import shutil
import stat
import sys
import urllib.parse

import pytest

from conftest import FIXTURES
from htmltree import parse

from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_render

journey = pytest.importorskip("ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys")
sys.path.insert(0, FIXTURES)
import make_fixtures  # noqa: E402  pylint: disable=wrong-import-position

TRACES = os.path.join(FIXTURES, "..", "traces")


def render_packets(tmp_path, packets, name):
    scenario = dict(scenario=name, packets=packets, expected=dict(fate=packets[0]["fate"]),
                    observed=dict(fate=packets[0]["fate"]),
                    ruleset=dict(format="iptables-save", text=make_fixtures.RULES_2010))
    report_render.render(report_render.documents(results=[scenario], default_host="core"), str(tmp_path))
    with open(tmp_path / "core" / "index.html", encoding="utf-8") as handle:
        return parse(handle.read())


def test_core_packets_from_a_legacy_trace_render(tmp_path):
    with open(os.path.join(FIXTURES, "traces", "cross_network.legacy.log"), encoding="utf-8") as handle:
        built = journey.build_journeys(handle, ruleset=dict(format="iptables-save", text=make_fixtures.RULES_2010))
    tree = render_packets(tmp_path, built["packets"], "cross_network")
    block = tree.find("section", id="scenario-cross_network")
    rows = block.find("table", cls="hops").find_all("tr", cls="hop")
    assert [r.find_all("td")[2].text() for r in rows][-2:] == [
        "filter DOCKER-ISOLATION-STAGE-1 rule 2", "filter DOCKER-ISOLATION-STAGE-2 rule 1"]
    assert "-o br-3c4d -j DROP" in block.find("tr", cls="decided").text()
    assert block.find("span", cls="badge").text() == "pass"
    assert "dropped by filter DOCKER-ISOLATION-STAGE-2 rule 1" in block.find("p", cls="explain").text()


RECORDED = sorted(p for ext in ("log", "trace", "dmesg", "kmsg", "journal") for p in glob.glob(os.path.join(TRACES, "*." + ext)))


@pytest.mark.parametrize("path", RECORDED, ids=os.path.basename)
def test_core_packets_from_recorded_traces_render(tmp_path, path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        built = journey.build_journeys(handle)
    if not built["packets"]:
        pytest.skip("no packet in %s" % os.path.basename(path))
    tree = render_packets(tmp_path, built["packets"], os.path.basename(path).split(".")[0])
    sections = tree.find_all("section", cls="scenario")
    assert len(sections) == 1 and sections[0].find("div", cls="packet") is not None


def test_recorded_results_from_three_back_ends(tmp_path):
    docs = report_render.documents([os.path.join(FIXTURES, "recorded")])
    result = report_render.render(docs, str(tmp_path))
    assert [h["host"] for h in result["hosts"]] == ["vm-legacy", "vm-nft", "vm-nftables"]
    for host in result["hosts"]:
        with open(host["page"], encoding="utf-8") as handle:
            tree = parse(handle.read())
        assert len(tree.find_all("section", cls="scenario")) == 6
        cross = tree.find("section", id="scenario-cross_network")
        assert cross.find("span", cls="badge").text() == "pass"
        assert "DOCKER-ISOLATION-STAGE-2" in cross.find("tr", cls="decided").text()
        hits = [s.text() for s in cross.find("pre", cls="ruleset").find_all("span", cls="hit")]
        assert any("DROP" in h or " drop" in h for h in hits), host["host"]
    with open(tmp_path / "vm-nftables" / "index.html", encoding="utf-8") as handle:
        nft = parse(handle.read()).find("section", id="scenario-cross_network").find("pre", cls="ruleset").text()
    assert "table filter {" in nft and "# handle" in nft


def test_trace_role_output_renders_in_place_with_private_artifacts(tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(os.path.join(FIXTURES, "runner"), reports)
    docs = report_render.documents([str(reports)])
    assert report_render.render(docs, str(reports))["changed"] is True
    assert report_render.render(docs, str(reports))["changed"] is False
    with open(reports / "localhost" / "index.html", encoding="utf-8") as handle:
        tree = parse(handle.read())
    names = [s["scenario"] for s in docs[0]["scenarios"]]
    assert [s.attrs["id"] for s in tree.find_all("section", cls="scenario")] == ["scenario-" + n for n in names]
    links = [a.attrs["href"] for a in tree.find_all("a") if a.text() in ("pcap", "trace log", "ruleset")]
    assert len(links) > 2 * len(names)
    for href in links:
        path = reports / "localhost" / urllib.parse.unquote(href)
        assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600, href
    assert not (reports / "localhost" / "artifacts").exists()
