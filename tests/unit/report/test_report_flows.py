"""The flows of results.json on the host pages, the fleet index and junit.xml.

The flows are derived from the recorded scenario results (flow_fixtures.py): real packets.
"""

import os
import xml.etree.ElementTree as ET

import flow_fixtures
import pytest
from conftest import FIXTURES
from htmltree import parse

from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_flows, report_render


@pytest.fixture(scope="module")
def flow_site(tmp_path_factory):
    dest = tmp_path_factory.mktemp("flows") / "reports"
    docs = report_render.documents(results=flow_fixtures.flow_docs())
    return report_render.render(docs, str(dest)), dest


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def section(dest, host, flow):
    tree = parse(read(os.path.join(dest, host, "index.html")))
    return tree.find("section", id=report_flows.anchor(flow))


def test_each_flow_has_its_section_badge_and_journey(flow_site):
    result, dest = flow_site
    tree = parse(read(os.path.join(dest, "vm-legacy", "index.html")))
    sections = tree.find_all("section", cls="flow")
    assert sections[0].find("h2").text().splitlines() == ["api to db pass", "probe · icmp"]
    assert len(sections) == 5 and tree.find_all("section", cls="scenario") == sections
    badges = {s.attrs["id"]: s.find("h2").find("span", cls="badge").text() for s in sections}
    assert badges == {
        report_flows.anchor("api to db"): "pass",
        report_flows.anchor("isolated networks"): "pass",
        report_flows.anchor("app to host"): "no expectation",
        report_flows.anchor("web closed to the host"): "mismatch",
        report_flows.anchor("web from outside"): "pass",
    }
    assert result["hosts"][0]["flows"] == dict(total=5, **{"pass": 3, "mismatch": 1, "noexpect": 1, "error": 0})
    iso = section(dest, "vm-legacy", "isolated networks")
    rows = {r.find("th").text(): r.find("td").text() for r in iso.find("table", cls="endpoints").find_all("tr")}
    assert rows["Source"] == "address (172.30.1.2)" and rows["Destination"] == "address (172.30.2.2)"
    assert rows["Deciding rule"] == "Docker's own rule: -A DOCKER-ISOLATION-STAGE-2 -o br-5b855b1848ed -j DROP"
    assert "br-" in rows["Interfaces captured"]
    assert "dropped by filter DOCKER-ISOLATION-STAGE-2 rule 1" in iso.find("p", cls="explain").text()
    packet = iso.find("div", cls="packet")
    assert packet.find("table", cls="hops").find("tr", cls="decided") is not None
    assert iso.find("svg") is not None and "Captures per interface" in iso.text()


def test_expected_and_observed_side_by_side_and_the_mismatch(flow_site):
    _result, dest = flow_site
    closed = section(dest, "vm-legacy", "web closed to the host")
    versus = {r.find("th").text(): [td.text() for td in r.find_all("td")] for r in closed.find("table", cls="versus").find_all("tr")[1:]}
    assert versus["verdict"] == ["denied", "allowed"]
    assert [r.find("th").text() for r in closed.find("table", cls="versus").find_all("tr", cls="differs")] == ["verdict"]
    assert "- expected verdict: denied\n+ observed verdict: allowed" in closed.find("div", cls="errorbox").text()
    unjudged = section(dest, "vm-legacy", "app to host")
    assert "No expectation was given" in unjudged.text() and unjudged.find("div", cls="errorbox") is None
    errored = section(dest, "vm-nftables", "db from the host")
    assert errored.find("h2").find("span", cls="badge").text() == "error"
    assert "container db is not running" in errored.find("div", cls="errorbox").text()
    assert "tcpdump captured nothing for this flow" in errored.text()


def test_the_host_page_keeps_scenarios_next_to_flows(flow_site):
    _result, dest = flow_site
    tree = parse(read(os.path.join(dest, "localhost", "index.html")))
    navs = tree.find_all("nav")
    assert [a.attrs["href"] for a in navs[0].find_all("a")] == ["#" + report_flows.anchor(n) for n in flow_fixtures.FLOWS]
    assert len(navs[1].find_all("a")) == 9
    assert "Flows: 3 as expected, 1 not as expected, 1 without an expectation of 5." in tree.find("p", cls="summary").text()


def test_fleet_index_marks_the_flow_that_drifts_and_says_where(flow_site):
    result, dest = flow_site
    tree = parse(read(os.path.join(dest, "index.html")))
    matrix = tree.find("table", cls="flows")
    heads = [th.text() for th in matrix.find("thead").find_all("th")]
    assert heads == ["Host", *flow_fixtures.FLOWS, "db from the host"]
    drifting = matrix.find_all("td", cls="drift")
    assert len(drifting) == 1 and "vm-nft" in drifting[0].parent.find("th").text()
    assert "unknown at nat:PREROUTING here" in drifting[0].text()
    assert [li.text() for li in tree.find("ul", cls="drifts").find_all("li")] == [
        "app to host: vm-nft: delivered at nat:INPUT on most hosts, unknown at nat:PREROUTING here"
    ]
    assert [d["flow"] for d in result["flow_drift"]] == ["app to host"]
    assert result["flow_totals"] == dict(total=21, **{"pass": 12, "mismatch": 4, "noexpect": 4, "error": 1})
    cells = [td.find("span", cls="badge").text() for td in matrix.find("tbody").find_all("tr")[2].find_all("td")]
    assert cells == ["pass", "pass", "no expectation", "mismatch", "pass", "error"]


def test_results_without_flows_render_no_flows_part(site):
    result, dest = site
    assert result["flow_totals"]["total"] == 0 and result["flow_drift"] == []
    assert 'class="matrix flows"' not in read(os.path.join(dest, "index.html"))
    host = parse(read(os.path.join(dest, "deb12", "index.html")))
    assert host.find_all("section", cls="flow") == [] and len(host.find_all("nav")) == 1


def test_junit_has_a_case_per_host_and_flow_and_per_scenario(flow_site):
    result, _dest = flow_site
    root = ET.parse(result["junit"]).getroot()
    flows, scenarios = root.findall("testsuite")
    assert flows.get("name") == "packetflow.flows" and scenarios.get("name") == "packetflow.scenarios"
    assert (flows.get("tests"), flows.get("failures"), flows.get("errors")) == ("21", "4", "1")
    assert scenarios.get("tests") == "9" and root.get("tests") == "30"
    case = {(c.get("classname"), c.get("name")): c for c in flows.findall("testcase")}
    failed = case[("vm-nft", "web closed to the host")].find("failure")
    assert failed.get("message") == "expected denied, observed allowed at nat:DOCKER:4"
    assert failed.text.startswith("- expected verdict: denied")
    assert case[("vm-nftables", "db from the host")].find("error").get("message").startswith("container db is not")
    unjudged = case[("vm-legacy", "app to host")]
    assert unjudged.find("failure") is None and unjudged.find("error") is None
    assert {p.get("name"): p.get("value") for p in unjudged.iter("property")} == dict(expectation="none", verdict="allowed")
    assert unjudged.find("system-out").text.startswith("no expectation: observed allowed.")
    assert case[("vm-legacy", "api to db")].find("failure") is None


def test_junit_escapes_hostile_names_and_drops_what_xml_cannot_carry(site):
    result, _dest = site
    data = read(result["junit"])
    assert "<img" not in data and "&lt;img" in data
    root = ET.fromstring(data.encode("utf-8"))
    hostile = [c for c in root.iter("testcase") if "<img" in c.get("classname")]
    assert hostile and all(c.get("name") for c in hostile)
    doc = dict(host="h\x01", flows=[dict(flow="bell\x07", passed=False, mismatch="a\x00b")])
    from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_junit

    case = ET.fromstring(report_junit.junit_xml([doc])).find("testsuite/testcase")
    assert (case.get("classname"), case.get("name"), case.find("failure").text) == ("h", "bell", "ab")


def test_junit_is_written_once_and_not_rewritten(tmp_path):
    docs = report_render.documents([os.path.join(FIXTURES, "fleet")])
    first = report_render.render(docs, str(tmp_path))
    assert first["changed"] and oct(os.stat(first["junit"]).st_mode & 0o777) == "0o644"
    assert report_render.render(docs, str(tmp_path))["changed"] is False


def test_endpoints_name_the_published_ports_target_and_the_egress():
    dst = dict(kind="address", address="192.0.2.5", port=8080, egress="eth0",
               published=dict(container="web", address="172.17.0.2", port=80, host_port=8080, network="bridge"))
    assert report_flows.endpoint(dst) == (
        "address (192.0.2.5:8080), published port 8080 → web 172.17.0.2:80, leaves the host by eth0")
    assert report_flows.endpoint(dict(kind="host")) == "host"
    assert report_flows.endpoint(None) == "?"


def test_a_flows_events_lost_under_load_are_shown(tmp_path):
    docs = flow_fixtures.flow_docs()
    flows = docs[0]["flows"]
    flows[0]["stats"] = dict(flows[0].get("stats") or {}, lost={"kernel_suppressed": 0, "kmsg_overrun": 0,
                                                                "monitor_overruns": 1, "capture_kernel_drops": 1794})
    flows[1]["stats"] = dict(flows[1].get("stats") or {}, lost={"kernel_suppressed": 0, "kmsg_overrun": 0,
                                                                "monitor_overruns": 0, "capture_kernel_drops": 0})
    report_render.render(report_render.documents(results=docs), str(tmp_path))
    shown = section(tmp_path, docs[0]["host"], flows[0]["flow"]).find("span", cls="lost")
    assert shown is not None and "1 monitor overruns" in shown.text()
    assert "1794 packets dropped by tcpdump" in shown.text()
    clean = section(tmp_path, docs[0]["host"], flows[1]["flow"])
    assert clean.find("span", cls="lost") is None and "Lost under load: 0 kernel log records" in clean.text()
