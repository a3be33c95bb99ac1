"""One folder name per host, shared by the report and the trace role (through the host_dir filter)."""

import os
import re

import jinja2
import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.dockernet.packetflow.plugins.filter.host_dir import FilterModule
from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_render
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_names import MAX_LENGTH, RESERVED, dir_name

ROLE_TASKS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "trace", "tasks", "main.yml")
HOSTILE = ["..", ".", "", "/", "a/b", "a_b", "a b", "a\nb", "a\x00b", "../../etc", "..\\..\\etc", ".hidden",
           "index.html", "x" * 300, "x" * 301, "é", "e", "$(id)", "`id`", "~root", "C:\\x", "\u202egnp.exe", "-rf"]
SAFE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def role_host_dir(hostname, reports="/reports"):
    """The trace role's own set_fact expression for __trace_host_dir, rendered for ``hostname``."""
    with open(ROLE_TASKS, encoding="utf-8") as handle:
        tasks = yaml.safe_load(handle)
    task = next(t for t in tasks if t.get("name") == "Name the host's report directory")
    env = jinja2.Environment()
    env.filters["dockernet.packetflow.host_dir"] = FilterModule().filters()["host_dir"]
    expression = task["ansible.builtin.set_fact"]["__trace_host_dir"]
    return env.from_string(expression).render(trace_reports_dir=reports, inventory_hostname=hostname)


def test_a_slash_b_and_a_underscore_b_get_their_own_folders():
    assert dir_name("a_b") == "a_b"
    assert dir_name("a/b") == "a_b-3ec69c85"
    assert role_host_dir("a/b") != role_host_dir("a_b")


def test_safe_names_stay_as_they_are():
    for name in ("localhost", "deb12", "web-07.example.org", "a..b", "_", "x" * MAX_LENGTH):
        assert dir_name(name) == name


def test_the_same_name_gives_the_same_folder_in_every_process():
    # Pinned values: the trace role and the report run in different processes, on different days.
    assert dir_name("../../<img src=x onerror=alert(1)>") == "_.._img_src_x_onerror_alert_1_-aa4cb6dd"
    assert dir_name("") == "_-da39a3ee"
    assert dir_name(None, "unnamed") == "unnamed-da39a3ee"


def test_long_names_are_capped_and_stay_distinct():
    capped = [dir_name("x" * n) for n in (MAX_LENGTH + 1, 300, 301)]
    assert len(set(capped)) == 3
    for value in capped:
        assert len(value) == MAX_LENGTH and re.fullmatch(r"x{71}-[0-9a-f]{8}", value)


def test_hostile_names_stay_inside_the_reports_folder(tmp_path):
    values = [dir_name(name) for name in HOSTILE]
    assert len(set(values)) == len(HOSTILE)
    for value in values:
        assert SAFE.fullmatch(value) and len(value) <= MAX_LENGTH and value not in RESERVED, value
        path = os.path.realpath(os.path.join(tmp_path, value))
        assert os.path.dirname(path) == os.path.realpath(tmp_path)


def test_filter_is_the_report_s_function_and_refuses_non_strings():
    host_dir = FilterModule().filters()["host_dir"]
    for name in HOSTILE:
        assert host_dir(name) == dir_name(name)
    with pytest.raises(AnsibleFilterError, match="host_dir expects a host name.*int: 7"):
        host_dir(7)


def test_report_pages_land_where_the_trace_role_writes_results(tmp_path):
    docs = report_render.documents(results=[dict(host=h, scenarios=[]) for h in ("a/b", "a_b", "index.html")])
    result = report_render.render(docs, str(tmp_path))
    pages = {h["host"]: h["page"] for h in result["hosts"]}
    assert len(set(pages.values())) == 3
    for host, page in pages.items():
        assert os.path.dirname(page) == role_host_dir(host, str(tmp_path))
    assert os.path.isfile(tmp_path / "index.html")
