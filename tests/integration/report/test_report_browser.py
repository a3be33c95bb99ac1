"""Open the rendered report pages in headless Chromium (Debian's chromium package).

Asserts that every page renders with no console message (the pages carry no script, so any
message is an error such as a blocked fetch), that every scenario shows, and that nothing is
fetched from the network; saves screenshots under tests/output/report/. The wide fleet index
(50 hosts x 30 columns) is measured in the page through the DevTools protocol (cdp.py).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

import pytest
from cdp import Browser

from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_render

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "unit", "report"))
import flow_fixtures  # noqa: E402  pylint: disable=wrong-import-position
FIXTURES = os.path.join(REPO, "tests", "unit", "fixtures", "results")
OUTPUT = os.path.join(REPO, "tests", "output", "report")
CHROMIUM = shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--host-resolver-rules=MAP * ~NOTFOUND"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package")


def chromium(url, *extra):
    """Run headless Chromium on ``url`` with a fresh profile; return (stdout, console lines)."""
    profile = tempfile.mkdtemp(prefix="pf-chromium-")
    try:
        proc = subprocess.run([CHROMIUM, *FLAGS, "--user-data-dir=" + profile, *extra, url],
                              capture_output=True, text=True, timeout=120, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return proc.stdout, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


class Ids(HTMLParser):
    """Collect element ids and tag counts of a dumped DOM."""

    def __init__(self):
        super().__init__()
        self.ids, self.tags = [], {}

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if dict(attrs).get("id"):
            self.ids.append(dict(attrs)["id"])


@pytest.fixture(scope="module")
def site():
    """Render the fixtures under tests/output/report/site."""
    dest = os.path.join(OUTPUT, "site")
    shutil.rmtree(dest, ignore_errors=True)
    docs = report_render.documents([os.path.join(FIXTURES, "fleet"), os.path.join(FIXTURES, "hostile", "results.json")])
    return report_render.render(docs, dest)


@pytest.mark.parametrize("name", ["recorded", "runner"])
def test_results_of_real_traces_render_without_errors(name):
    dest = os.path.join(OUTPUT, name)
    shutil.rmtree(dest, ignore_errors=True)
    docs = report_render.documents([os.path.join(FIXTURES, name)])
    result = report_render.render(docs, dest)
    for doc, page in zip(docs, result["pages"]):
        dom, console = chromium("file://" + page, "--dump-dom")
        assert console == []
        parsed = Ids()
        parsed.feed(dom)
        assert len([i for i in parsed.ids if i.startswith("scenario-")]) == len(doc["scenarios"])
    assert chromium("file://" + result["index"], "--dump-dom")[1] == []
    for label, url, height in (("fleet-index", result["index"], 700), ("host", result["pages"][0], 2600)):
        shot = os.path.join(OUTPUT, "%s-%s.png" % (name, label))
        assert chromium("file://" + url, "--window-size=1300,%d" % height, "--screenshot=" + shot)[1] == []


def test_the_harness_sees_console_errors_and_blocked_fetches(site, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<p>x</p><script>console.error("pf-probe"); missing();</script>', encoding="utf-8")
    console = chromium(page.as_uri(), "--dump-dom")[1]
    assert any("pf-probe" in line for line in console)
    assert any("missing is not defined" in line for line in console)
    with open(os.path.join(OUTPUT, "site", "index.html"), encoding="utf-8") as handle:
        html = handle.read()
    page.write_text(html.replace("</main>", '<img src="http://192.0.2.1/x.png"></main>'), encoding="utf-8")
    console = chromium(page.as_uri(), "--dump-dom")[1]
    assert any("Content Security Policy" in line for line in console)


@pytest.mark.parametrize("host", ["deb12", "deb13", "sid", None])
def test_host_pages_render_every_scenario_without_errors(site, host):
    index = len(site["pages"]) - 1 if host is None else [os.path.basename(os.path.dirname(p)) for p in site["pages"]].index(host)
    results = os.path.join(FIXTURES, "fleet", host, "results.json") if host else os.path.join(FIXTURES, "hostile", "results.json")
    with open(results, encoding="utf-8") as handle:
        names = [s["scenario"] for s in json.load(handle)["scenarios"]]
    dom, console = chromium("file://" + site["pages"][index], "--dump-dom")
    assert console == []
    parsed = Ids()
    parsed.feed(dom)
    sections = [i for i in parsed.ids if i.startswith("scenario-")]
    assert len(sections) == len(names) == len(set(sections))
    assert parsed.tags.get("svg", 0) > len(names) and parsed.tags.get("script", 0) == 0


def test_fleet_index_renders_and_screenshots(site):
    os.makedirs(OUTPUT, exist_ok=True)
    dom, console = chromium("file://" + site["index"], "--dump-dom")
    assert console == [] and 'class="matrix"' in dom
    for name, url, height in (("fleet-index.png", "file://" + site["index"], 900),
                              ("host-deb12.png", "file://" + site["pages"][0], 5200),
                              ("host-hostile.png", "file://" + site["pages"][-1], 2400)):
        shot = os.path.join(OUTPUT, name)
        if os.path.exists(shot):
            os.unlink(shot)
        console = chromium(url, "--window-size=1300,%d" % height, "--screenshot=" + shot)[1]
        assert console == []
        with open(shot, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_host_page_prints(site):
    pdf = os.path.join(OUTPUT, "host-deb12.pdf")
    if os.path.exists(pdf):
        os.unlink(pdf)
    console = chromium("file://" + site["pages"][0], "--no-pdf-header-footer", "--print-to-pdf=" + pdf)[1]
    assert console == []
    with open(pdf, "rb") as handle:
        data = handle.read()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") > 3


def wide_fleet(hosts, columns):
    """``hosts`` documents of the runner fixture's nine scenarios and copies of them under new
    names, ``columns`` in all; every seventh host drifts in the first scenario."""
    with open(os.path.join(FIXTURES, "runner", "localhost", "results.json"), encoding="utf-8") as handle:
        real = json.load(handle)
    scenarios = [dict(s, ruleset=None) for s in real["scenarios"]]
    scenarios += [dict(scenarios[i % 9], scenario="flow-%02d-to-a-rather-long-service-name" % i)
                  for i in range(columns - len(scenarios))]
    docs = []
    for n in range(hosts):
        mine = list(scenarios)
        if n % 7 == 6:
            dropped = [dict(p, fate="dropped", fate_at=dict(table="filter", chain="DOCKER-USER")) for p in mine[0]["packets"]]
            mine[0] = dict(mine[0], packets=dropped)
        docs.append(dict(host="wide-%02d" % n, facts=dict(real["facts"], name="wide-%02d" % n), scenarios=mine))
    return docs


MEASURE = """JSON.stringify((() => {
  const box = document.querySelectorAll('.matrixbox')[BOX], table = box.querySelector('table.matrix');
  const head = table.querySelector('thead th:nth-child(5)'), first = table.querySelector('tbody tr:nth-child(30) th');
  const before = [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth];
  box.scrollTop = 600; box.scrollLeft = 900;
  const b = box.getBoundingClientRect(), h = head.getBoundingClientRect(), f = first.getBoundingClientRect();
  return {page: before, box: [box.clientWidth, box.scrollWidth, box.clientHeight, box.scrollHeight],
          scrolled: [box.scrollTop, box.scrollLeft],
          head_top: h.top - b.top, first_left: f.left - b.left,
          head: getComputedStyle(head).position, corner: getComputedStyle(table.querySelector('thead th')).position,
          first: getComputedStyle(first).position, after: document.documentElement.scrollWidth};
})())"""


def test_wide_fleet_index_keeps_its_header_and_host_column_in_view():
    dest = os.path.join(OUTPUT, "wide")
    shutil.rmtree(dest, ignore_errors=True)
    docs = wide_fleet(50, 30)
    result = report_render.render(docs, dest, limit=1)
    assert result["drift"] == 7
    assert chromium("file://" + result["index"], "--dump-dom")[1] == []
    shot = os.path.join(OUTPUT, "fleet-wide-50x30.png")
    with Browser(CHROMIUM, 1400, 900) as browser:
        browser.open("file://" + result["index"])
        browser.screenshot(os.path.join(OUTPUT, "fleet-wide-50x30-top.png"))
        got = json.loads(browser.evaluate(MEASURE.replace("BOX", "0")))
        browser.screenshot(shot)
    # The page never scrolls sideways; the matrix does, inside its own box, both ways.
    assert got["page"][0] <= got["page"][2] and got["page"][1] <= got["page"][2] and got["after"] <= got["page"][2]
    assert got["box"][1] > got["box"][0] and got["box"][3] > got["box"][2]
    assert got["scrolled"] == [600, 900]
    # Scrolled by 600 x 900 px, the header row is still at the box's top and the host column at its left.
    assert got["head"] == got["corner"] == got["first"] == "sticky"
    assert abs(got["head_top"]) <= 1 and abs(got["first_left"]) <= 1


def test_flows_render_on_host_pages_and_the_fleet_index():
    dest = os.path.join(OUTPUT, "flows")
    shutil.rmtree(dest, ignore_errors=True)
    docs = report_render.documents(results=flow_fixtures.flow_docs())
    result = report_render.render(docs, dest)
    for doc, page in zip(docs, result["pages"]):
        dom, console = chromium("file://" + page, "--dump-dom")
        assert console == []
        parsed = Ids()
        parsed.feed(dom)
        assert len([i for i in parsed.ids if i.startswith("flow-")]) == len(doc["flows"])
        assert 'class="badge mismatch"' in dom and 'class="versus"' in dom
    dom, console = chromium("file://" + result["index"], "--dump-dom")
    assert console == [] and 'class="matrix flows"' in dom and 'class="drifts"' in dom
    for label, url, height in (("fleet-index", result["index"], 1300), ("host", result["pages"][1], 3000)):
        assert chromium("file://" + url, "--window-size=1400,%d" % height,
                        "--screenshot=" + os.path.join(OUTPUT, "flows-%s.png" % label))[1] == []


def wide_flow_fleet(hosts, columns):
    """``hosts`` documents of ``columns`` flows: the runner's real flows (flow_fixtures) and copies
    under long names; every fifth host's first flow is dropped in DOCKER-USER (drift)."""
    real = flow_fixtures.flow_docs({"localhost": "runner/localhost/results.json"})[0]
    scenarios = [dict(s, ruleset=None) for s in real["scenarios"]]
    flows = [dict(f, ruleset=None) for f in real["flows"]]
    flows += [dict(flows[i % len(flows)], flow="flow-%02d from the api tier to a rather long service name" % i)
              for i in range(columns - len(flows))]
    docs = []
    for n in range(hosts):
        mine = list(flows)
        if n % 5 == 4:
            dropped = [dict(p, fate="dropped", fate_at=dict(table="filter", chain="DOCKER-USER")) for p in mine[0]["packets"]]
            mine[0] = dict(mine[0], packets=dropped, observed=dict(mine[0]["observed"], fate="dropped", verdict="denied",
                                                                   at="filter:DOCKER-USER:1"))
        docs.append(dict(host="wide-%02d" % n, facts=dict(real["facts"], name="wide-%02d" % n), scenarios=scenarios, flows=mine))
    return docs


def test_wide_flows_matrix_keeps_its_header_and_host_column_in_view():
    dest = os.path.join(OUTPUT, "wide-flows")
    shutil.rmtree(dest, ignore_errors=True)
    result = report_render.render(wide_flow_fleet(50, 30), dest, limit=1)
    assert [len(d["hosts"]) for d in result["flow_drift"]] == [10]
    with open(result["index"], encoding="utf-8") as handle:
        assert handle.read().count('<td class="cell drift">') == 10
    with Browser(CHROMIUM, 1400, 900) as browser:
        browser.open("file://" + result["index"])
        browser.screenshot(os.path.join(OUTPUT, "fleet-wide-flows-50x30-top.png"))
        # Box 0 is the scenario matrix, box 1 the flows matrix.
        got = json.loads(browser.evaluate(MEASURE.replace("BOX", "1")))
        browser.evaluate("document.querySelectorAll('.matrixbox')[1].scrollIntoView()")
        browser.screenshot(os.path.join(OUTPUT, "fleet-wide-flows-50x30.png"))
    assert got["page"][0] <= got["page"][2] and got["page"][1] <= got["page"][2] and got["after"] <= got["page"][2]
    assert got["box"][1] > got["box"][0] and got["box"][3] > got["box"][2]
    assert got["scrolled"] == [600, 900]
    assert got["head"] == got["corner"] == got["first"] == "sticky"
    assert abs(got["head_top"]) <= 1 and abs(got["first_left"]) <= 1
