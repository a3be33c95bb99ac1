"""Any string from a host renders as that same text, never as markup."""

import copy
import os
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load
from htmltree import parse

from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_render
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_names import dir_name

PIECES = list("<>&\"'/=; \\`{}%#.-_aZ:\u202e") + ["<script>", "</svg>", "-->", "{{", "{%", "&amp;"]
NASTY = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)


@settings(max_examples=25, deadline=None)
@given(host=NASTY, container=NASTY, rule=NASTY, error=NASTY)
def test_host_strings_round_trip_as_text(host, container, rule, error):
    doc = copy.deepcopy(load("fleet/deb12/results.json"))
    doc["host"], doc["facts"]["name"] = host, host
    scenario = doc["scenarios"][2]
    scenario["topology"]["containers"][0]["name"] = container
    scenario["packets"][0]["hops"][-1]["rule_text"] = rule
    scenario["error"] = error
    with tempfile.TemporaryDirectory() as dest:
        result = report_render.render(report_render.documents(results=[doc]), dest)
        page = result["pages"][0]
        assert os.path.dirname(os.path.dirname(page)) == dest
        with open(page, encoding="utf-8") as handle:
            tree = parse(handle.read())
    assert tree.find_all("script") == []
    assert all(not k.startswith("on") for node in tree.iter() for k in node.attrs)
    assert tree.find("h1").text() == "Packet paths on " + host
    block = tree.find("section", id="scenario-cross_network")
    assert block.find("div", cls="errorbox").text() == "Partial result: " + error
    assert block.find("tr", cls="decided").find("td", cls="rule").text() == rule
    svg_titles = [t.text() for t in block.find("svg").find_all("title")]
    assert container in svg_titles
    assert os.path.basename(os.path.dirname(page)) == dir_name(host)
