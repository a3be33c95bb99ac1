"""Render the fixture results and assert on the parsed HTML of the pages."""

import copy
import os
import re
import stat

from conftest import FIXTURES, load
from htmltree import parse

from ansible_collections.dockernet.packetflow.plugins.plugin_utils import (
    report_model,
    report_names,
    report_render,
    report_ruleset,
)


def page(dest, host):
    with open(os.path.join(dest, host, "index.html"), encoding="utf-8") as handle:
        return parse(handle.read())


def section(tree, name):
    return tree.find("section", id="scenario-" + name)


def hop_wheres(packet_div):
    return [row.find_all("td")[2].text() for row in packet_div.find("table", cls="hops").find_all("tr", cls="hop")]


def test_every_scenario_present_with_its_badge(site):
    dest = site[1]
    for host in ("deb12", "deb13", "sid"):
        doc, tree = load("fleet/%s/results.json" % host), page(dest, host)
        names = [s["scenario"] for s in doc["scenarios"]]
        sections = tree.find_all("section", cls="scenario")
        assert [s.attrs["id"] for s in sections] == ["scenario-" + n for n in names]
        assert [a.attrs["href"] for a in tree.find("nav").find_all("a")] == ["#scenario-" + n for n in names]
        badges = {s.attrs["id"][9:]: s.find("h2").find("span", cls="badge").text() for s in sections}
        assert badges["cross_network"] == "pass"
        assert badges["external_to_published"] == ("error" if host == "sid" else "partial")
        assert tree.find("header").find("p", cls="summary").text().strip().startswith("5 passed, 0 failed")


def test_hops_in_order_with_steps_and_verdict(site):
    dest = site[1]
    request = section(page(dest, "deb12"), "cross_network").find("div", cls="packet")
    assert hop_wheres(request) == [
        "raw PREROUTING policy", "mangle PREROUTING policy", "nat PREROUTING policy", "mangle FORWARD policy",
        "filter FORWARD rule 1", "filter DOCKER-USER rule 1", "filter FORWARD rule 2",
        "filter DOCKER-ISOLATION-STAGE-1 rule 2", "filter DOCKER-ISOLATION-STAGE-2 rule 1"]
    steps = [r.find("span", cls="stepno").text() for r in request.find_all("tr", cls="hop")]
    assert steps == ["1", "2", "3", "4", "5", "5", "5", "5", "5"]
    decided = request.find_all("tr", cls="decided")
    assert len(decided) == 1 and "-o br-3c4d -j DROP" in decided[0].text()
    svg = request.find("svg")
    assert [t.text() for t in svg.find_all("text", cls="stepnum")] == ["1", "2", "3", "4", "5"]
    assert svg.find("text", cls="verdict").text() == "✗ DROP"
    explain = section(page(dest, "deb12"), "cross_network").find("p", cls="explain").text()
    assert "dropped by filter DOCKER-ISOLATION-STAGE-2 rule 1 (-o br-3c4d -j DROP)" in explain


def test_docker28_drops_in_raw_prerouting(site):
    dest = site[1]
    request = section(page(dest, "sid"), "cross_network").find("div", cls="packet")
    assert hop_wheres(request) == ["raw PREROUTING rule 2"]
    assert "! -i br-3c4d -j DROP" in request.find("tr", cls="decided").text()


def test_reply_shown_after_request(site):
    dest = site[1]
    blocks = section(page(dest, "deb12"), "host_to_container").find_all("div", cls="packet")
    assert [b.find("h3").text().split(":")[0] for b in blocks] == ["First request", "Its reply"]
    assert hop_wheres(blocks[1])[-1] == "filter INPUT policy"
    assert blocks[1].find("svg").find("text", cls="verdict").text() == "✓ to local process"


def test_rewrites_spelled_out(site):
    dest = site[1]
    tree = page(dest, "deb12")
    rewrites = [d.text() for d in section(tree, "published_port").find_all("div", cls="rewrite")]
    assert "DNAT 192.0.2.2:8080 → 172.17.0.2:80 by nat DOCKER rule 4" in rewrites
    built = [d.text() for d in section(tree, "external_to_published").find_all("div", cls="rewrite")]
    assert built == ["DNAT 198.51.100.1:8080 → 172.17.0.2:80 by nat DOCKER rule 4"]


def test_plain_language_notes(site):
    dest = site[1]
    sid = page(dest, "sid")
    assert "br_netfilter" in section(sid, "container_to_container").find("p", cls="explain").text()
    assert "br_netfilter module is not loaded" in section(sid, "container_to_container").find("ul", cls="notes").text()
    assert "docker-proxy" in section(sid, "published_port").find("ul", cls="notes").text()
    none = section(sid, "none_network")
    assert "loopback" in none.find("p", cls="explain").text() and none.find("div", cls="packet") is None


def test_failed_and_partial_scenarios_render_their_error(site):
    dest = site[1]
    sid = section(page(dest, "sid"), "external_to_published")
    assert "port is already allocated" in sid.find("div", cls="errorbox").text()
    partial = section(page(dest, "deb12"), "external_to_published")
    assert "did not report 'listening on'" in partial.find("div", cls="errorbox").text()
    assert partial.find("div", cls="packet") is not None


def test_mismatch_gives_a_fail_badge(tmp_path):
    doc = copy.deepcopy(load("fleet/deb12/results.json"))
    scenario = doc["scenarios"][2]
    scenario["expected"]["fate"], scenario["passed"] = "delivered", False
    scenario["mismatch"] = "expected delivered, observed dropped at filter:DOCKER-ISOLATION-STAGE-2:1"
    scenario["warnings_list"] = ["Docker's rules are in iptables-nft but <b>legacy</b> was traced"]
    report_render.render(report_render.documents(results=[doc]), str(tmp_path))
    block = section(page(tmp_path, "deb12"), "cross_network")
    assert block.find("h2").find("span", cls="badge").text() == "fail"
    assert "observed dropped at filter:DOCKER-ISOLATION-STAGE-2:1" in block.find("div", cls="errorbox").text()
    assert "but <b>legacy</b> was traced" in block.find("ul", cls="notes").text()
    del scenario["passed"]
    assert report_model.status(scenario) == "fail"


def test_ruleset_hit_rules_highlighted(site):
    dest = site[1]
    pre = section(page(dest, "deb12"), "cross_network").find("pre", cls="ruleset")
    hits = [s.text() for s in pre.find_all("span", cls="hit")]
    assert any(h.startswith("-A DOCKER-ISOLATION-STAGE-2 -o br-3c4d -j DROP") for h in hits)
    assert not any(h.startswith("-A DOCKER-ISOLATION-STAGE-2 -o br-1a2b -j DROP") for h in hits)


def test_captures_per_interface_and_artifact_links(site):
    dest = site[1]
    block = section(page(dest, "deb12"), "host_to_container")
    summaries = [s.text() for s in block.find_all("summary")]
    assert any(s.startswith("docker0: 2 packets") for s in summaries)
    link = [a for a in block.find_all("a") if a.text() == "pcap"][0]
    assert link.attrs["href"] == "artifacts/host_to_container/docker0.pcap"
    pcap = dest / "deb12" / "artifacts" / "host_to_container" / "docker0.pcap"
    assert stat.S_IMODE(pcap.stat().st_mode) == 0o600
    assert "(not on the controller)" in block.text()
    assert stat.S_IMODE((dest / "deb12" / "index.html").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "index.html").stat().st_mode) == 0o644


def test_hostile_values_render_as_text(site):
    result, dest = site
    host_dir = os.path.basename(os.path.dirname(result["pages"][-1]))
    assert host_dir == "_.._img_src_x_onerror_alert_1_-aa4cb6dd"
    with open(result["pages"][-1], encoding="utf-8") as handle:
        raw = handle.read()
    tree = parse(raw)
    assert tree.find_all("script") == [] and tree.find_all("img") == [] and tree.find_all("iframe") == []
    for node in tree.iter():
        assert not any(k.startswith("on") for k in node.attrs), node.tag
        assert not any("javascript:" in (v or "") for k, v in node.attrs.items() if k in ("href", "src"))
    text = tree.text()
    for needle in ("<script>alert('x')</script>host", "\"><img src=x onerror=alert(4)>", "<iframe src=javascript:alert(6)>",
                   "</td><script>alert(7)</script>", "</pre><script>alert(8)</script>", "<a href=\"javascript:alert(9)\">click</a>",
                   "It was <em>dropped</em> & gone.", "br-<i>evil</i>"):
        assert needle in text, needle
    assert tree.find("section", id="scenario-cross_network_script_alert_3_script_-23a96cdd") is not None


def test_artifacts_outside_the_results_folder_are_never_copied(site):
    result, dest = site
    copied = [f for walked in os.walk(dest) for f in walked[2]]
    assert "passwd" not in copied and "shadow" not in copied
    with open(result["pages"][-1], encoding="utf-8") as handle:
        tree = parse(handle.read())
    assert all("etc" not in (a.attrs.get("href") or "") for a in tree.find_all("a"))


def test_pages_are_self_contained(site):
    result, dest = site
    for path in result["pages"] + [result["index"]]:
        with open(path, encoding="utf-8") as handle:
            raw = handle.read()
        tree = parse(raw)
        assert tree.find_all("script") == [] and tree.find_all("link") == [] and tree.find_all("img") == []
        for node in tree.iter():
            for key in ("src", "href"):
                assert not re.match(r"^[a-z]+:", node.attrs.get(key) or ""), (path, node.attrs)
        style = "".join(s.text() for s in tree.find_all("style"))
        assert "@import" not in style and set(re.findall(r"url\(([^)]*)\)", style)) <= {"#arrow"}


def test_fleet_index_matrix_and_drift(site):
    result, dest = site
    assert result["drift"] == 2
    with open(dest / "index.html", encoding="utf-8") as handle:
        tree = parse(handle.read())
    table = tree.find("table", cls="matrix")
    header = [th.text() for th in table.find("thead").find_all("th")][1:]
    assert header[-1] == "cross_network<script>alert(3)</script>"
    assert header[:-1] == [s["scenario"] for s in load("fleet/deb12/results.json")["scenarios"]]
    rows = {r.find("th").find("a").text(): r for r in table.find("tbody").find_all("tr")}
    assert set(rows) == {"deb12-docker", "deb13-docker", "sid-docker", "<script>alert('x')</script>host"}
    assert rows["deb12-docker"].find("a").attrs["href"] == "deb12/index.html"
    drift = {c.find("a").attrs["href"].split("#")[1] for c in rows["sid-docker"].find_all("td", cls="drift")}
    assert drift == {"scenario-cross_network", "scenario-container_to_container"}
    assert rows["deb12-docker"].find_all("td", cls="drift") == []
    assert "✗ DOCKER-ISOLATION-STAGE-2" in rows["deb12-docker"].find_all("td")[2].text()
    assert "24 runs" in tree.find("p", cls="summary").text()


def test_rendering_again_changes_nothing_and_check_mode_writes_nothing(site, tmp_path):
    dest = site[1]
    docs = report_render.documents([os.path.join(FIXTURES, "fleet"), os.path.join(FIXTURES, "hostile", "results.json")])
    assert report_render.render(docs, str(dest))["changed"] is False
    fresh = tmp_path / "check"
    assert report_render.render(docs, str(fresh), check=True)["changed"] is True
    assert not fresh.exists()


def test_registered_results_trace_log_output_and_failed_items(tmp_path):
    sid = load("fleet/sid/results.json")
    registered = {"results": [dict(s, changed=False, item=s["scenario"]) for s in sid["scenarios"][:2]]
                  + [{"failed": True, "msg": "nsenter: cannot open", "item": {"scenario": "host_network"}}]}
    trace = {"packets": load("fleet/deb12/results.json")["scenarios"][2]["packets"], "stats": {"trace_events": 9}}
    docs = report_render.documents(results=[registered, trace], default_host="web-07")
    assert [d["host"] for d in docs] == ["web-07"]
    names = [s["scenario"] for s in docs[0]["scenarios"]]
    assert names == ["host_to_container", "container_to_container", "host_network", "trace_log"]
    result = report_render.render(docs, str(tmp_path / "r"))
    tree = page(tmp_path / "r", "web-07")
    assert section(tree, "host_network").find("span", cls="badge").text() == "error"
    assert "nsenter: cannot open" in section(tree, "host_network").text()
    assert section(tree, "trace_log").find("div", cls="packet") is not None
    assert result["hosts"][0]["total"] == 4


def test_user_chains_inherit_the_hook_they_were_entered_from():
    hops = [dict(table="nat", chain="OUTPUT"), dict(table="nat", chain="DOCKER"), dict(table="filter", chain="OUTPUT"),
            dict(table="filter", chain="FORWARD"), dict(table="filter", chain="DOCKER-USER"),
            dict(table="filter", chain="DOCKER-FORWARD")]
    assert report_model.hook_names(hops) == ["OUTPUT", "OUTPUT", "OUTPUT", "FORWARD", "FORWARD", "FORWARD"]
    assert [(g["step"], g["hook"], g["table"]) for g in report_model.stages(hops)] == [
        (1, "OUTPUT", "nat"), (2, "OUTPUT", "filter"), (3, "FORWARD", "filter")]


def test_many_packets_stay_collapsed(tmp_path):
    doc = copy.deepcopy(load("fleet/deb12/results.json"))
    scenario = doc["scenarios"][2]
    base = scenario["packets"][0]
    scenario["packets"] = [dict(copy.deepcopy(base), id=i + 1) for i in range(1200)]
    docs = report_render.documents(results=[doc])
    report_render.render(docs, str(tmp_path / "r"), limit=100)
    block = section(page(tmp_path / "r", "deb12"), "cross_network")
    assert len(block.find_all("div", cls="packet")) == 1
    details = [d for d in block.find_all("details") if d.find("summary").text().startswith("All packets (1200)")]
    assert len(details) == 1 and "open" not in details[0].attrs
    assert "1100 more packets" in details[0].text()
    assert details[0].find_all("tr")[1].find("td").text() == "1200"


def test_nft_ruleset_hits_by_handle():
    text = "table ip filter {\n\tchain FORWARD {\n\t\tcounter jump DOCKER-USER # handle 7\n\t\tjump DOCKER-FORWARD # handle 9\n\t}\n}\n"
    packets = [dict(hops=[dict(table="filter", chain="FORWARD", type="rule", rule=2, handle=9)])]
    view = report_ruleset.ruleset_view(dict(format="nft", text=text), packets)
    assert [(line["text"].strip(), line["hit"]) for line in view["lines"] if line["rule"]] == [
        ("counter jump DOCKER-USER # handle 7", 0), ("jump DOCKER-FORWARD # handle 9", 1)]
    assert (view["hit"], view["total"]) == (1, 2)


def test_missing_gateways_come_from_containers_or_host_facts(tmp_path):
    docs = report_render.documents([os.path.join(FIXTURES, "fresh", "results.json")])
    assert all(not n["gateway"] for s in docs[0]["scenarios"] for n in s["topology"]["networks"])
    report_render.render(docs, str(tmp_path))
    tree = page(tmp_path, "fresh-2010")

    def labels(name):
        svg = section(tree, name).find("figure").find("svg")
        return [t.find("title").text() for t in svg.find_all("text") if t.text().startswith("network ")]

    assert labels("host_to_container") == ["network bridge · gw 172.17.0.1"]
    assert labels("container_to_container") == ["network pf-net-a · gw 172.18.0.1"]
    assert labels("cross_network") == ["network pf-net-a · gw 172.18.0.1", "network pf-net-b"]
    assert "gw ?" not in tree.text()


def test_a_bridge_gateway_is_found_by_interface_when_names_differ():
    topo = dict(networks=[dict(name="pf-x", bridge="br-9", gateway=None)], containers=[])
    host = dict(bridges=[dict(name="renamed", bridge="br-9", gateway="172.30.0.1"),
                         dict(name="pf-x", bridge="br-8", gateway=None)])
    assert report_model.topology_with_gateways(topo, host)["networks"][0]["gateway"] == "172.30.0.1"
    assert report_model.topology_with_gateways(topo, {})["networks"][0]["gateway"] is None


def test_events_lost_under_load_are_shown(tmp_path):
    doc = load("fresh/results.json")
    lost, clean = doc["scenarios"][0], doc["scenarios"][1]
    lost["stats"] = dict(lost.get("stats") or {},
                         lost={"kernel_suppressed": 0, "kmsg_overrun": 9289, "monitor_overruns": 0,
                               "capture_kernel_drops": 279})
    clean["stats"] = dict(clean.get("stats") or {},
                          lost={"kernel_suppressed": 0, "kmsg_overrun": 0, "monitor_overruns": 0,
                                "capture_kernel_drops": 0})
    report_render.render(report_render.documents(results=[doc]), str(tmp_path))
    tree = page(tmp_path, report_names.dir_name(doc["host"]))
    shown = section(tree, lost["scenario"]).find("span", cls="lost")
    assert shown is not None and "9289 kernel log records overwritten" in shown.text()
    assert "279 packets dropped by tcpdump" in shown.text()
    assert section(tree, clean["scenario"]).find("span", cls="lost") is None
    assert "Lost under load: 0 kernel log records" in section(tree, clean["scenario"]).text()


def test_trace_log_warnings_are_shown(tmp_path):
    warning = "12 of 40 trace lines (30%) could not be read and were left out (see unparsed)"
    trace = {"packets": load("fleet/deb12/results.json")["scenarios"][2]["packets"], "warnings": [warning]}
    report_render.render(report_render.documents(results=[trace], default_host="web-07"), str(tmp_path))
    notes = section(page(tmp_path, "web-07"), "trace_log").find("ul", cls="notes")
    assert notes is not None and warning in notes.text()
