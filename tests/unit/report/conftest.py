"""Render the fixture results once per test into a fresh folder."""

import json
import os

import pytest

from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_render

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "results")


def load(rel):
    """One fixture results.json as a dict."""
    with open(os.path.join(FIXTURES, rel), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture
def site(tmp_path):
    """Render the fleet and hostile fixtures; return (render result, dest)."""
    docs = report_render.documents([os.path.join(FIXTURES, "fleet"), os.path.join(FIXTURES, "hostile", "results.json")])
    dest = tmp_path / "reports"
    return report_render.render(docs, str(dest)), dest
