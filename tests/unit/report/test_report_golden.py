"""Every fixture renders exactly to its saved page (tests/unit/fixtures/report_golden/).

The "registered" case passes documents as registered results (the action plugin's
``results``), through the copy out of Ansible's types, with a limit of three listed packets.

The golden pages were saved before the report code was made faster, so a faster path that
changes one byte of any page fails here. The pages carry no time of rendering (their dates
come from results.json), so they are compared as they are. After a deliberate change of the
pages, rewrite them with
``PYTHONPATH=.venv/collections .venv/bin/python tests/unit/report/test_report_golden.py``
and review the diff.
"""

import json
import os
import sys

import flow_fixtures
import pytest

from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_render

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures", "results")
GOLDEN = os.path.join(HERE, "..", "fixtures", "report_golden")
CASES = {
    "fleet": (["fleet", "hostile/results.json"], 500),
    "fresh": (["fresh/results.json"], 500),
    "recorded": (["recorded"], 500),
    "runner": (["runner"], 500),
    "runner-two-packets": (["runner"], 2),
    "registered": (["fleet/deb12/results.json", "fleet/sid/results.json", "hostile/results.json"], 3),
    # Flows derived from the recorded scenarios (flow_fixtures.py), given as registered results.
    "flows": ([], 3),
}


def rendered(case, dest):
    """Render one case into ``dest``; return {page path relative to dest: html}."""
    sources, limit = CASES[case]
    paths = [os.path.join(FIXTURES, s) for s in sources]
    if case == "flows":
        docs = report_render.documents(results=flow_fixtures.flow_docs())
    elif case == "registered":
        docs = report_render.documents(results=[load(path) for path in paths])
    else:
        docs = report_render.documents(paths)
    result = report_render.render(docs, str(dest), limit=limit)
    pages = {}
    for path in result["pages"] + [result["index"], result["junit"]]:
        with open(path, encoding="utf-8") as handle:
            pages[os.path.relpath(path, dest).replace(os.sep, "/")] = handle.read()
    return pages


def load(path):
    """A results.json document, as a playbook would register it."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def golden(case):
    """The saved pages of one case, as rendered() returns them."""
    root, pages = os.path.join(GOLDEN, case), {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as handle:
                pages[os.path.relpath(path, root).replace(os.sep, "/")] = handle.read()
    return pages


@pytest.mark.parametrize("case", sorted(CASES))
def test_pages_are_byte_for_byte_the_golden_ones(case, tmp_path):
    saved, now = golden(case), rendered(case, tmp_path / "reports")
    assert sorted(now) == sorted(saved)
    for page in saved:
        assert now[page] == saved[page], "%s/%s differs from its golden page" % (case, page)


def write_golden():
    """Rewrite the golden pages from the current code."""
    import shutil
    import tempfile

    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            pages = rendered(case, os.path.join(tmp, "reports"))
        shutil.rmtree(os.path.join(GOLDEN, case), ignore_errors=True)
        for page, html in pages.items():
            path = os.path.join(GOLDEN, case, page)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(html)
        print("%s: %d pages" % (case, len(pages)), file=sys.stderr)


if __name__ == "__main__":
    write_golden()
