# Copyright: dockernet.packetflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read scenario results, render the report pages with Jinja2 and write them safely.

Controller-side only (used by the packetflow_report action plugin and by the tests).
"""

from __future__ import annotations

import filecmp
import glob
import json
import os
import shutil
import tempfile
from urllib.parse import quote

from jinja2 import ChainableUndefined, Environment, FileSystemLoader

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import collector_paused
from ansible_collections.dockernet.packetflow.plugins.plugin_utils import (
    report_fleet,
    report_flows,
    report_junit,
    report_markup,
    report_model,
)
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_names import dir_name, scenario_key

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report_templates")
PAGE_MODE, ARTIFACT_MODE = 0o644, 0o600


def environment():
    """Jinja2 environment of the report: autoescape on for every template, report_markup's functions global."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=ChainableUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.globals.update(
        badge=report_markup.badge,
        flow_badge=report_markup.flow_badge,
        fate=report_markup.fate,
        capture_rows=report_markup.capture_rows,
        packet_rows=report_markup.packet_rows,
    )
    return env


def load_json(path):
    """Read one results.json file; its artifacts are resolved against its folder."""
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    if not isinstance(doc, dict):
        raise ValueError("%s does not hold a results.json document" % path)
    return doc, os.path.dirname(os.path.abspath(path))


def scenario_from(item):
    """Turn one registered result (scenario, trace_log output, or failure) into a scenario."""
    if "scenario" in item:
        return item
    if item.get("packets") is not None:
        return dict(
            item,
            scenario=item.get("name") or "trace_log",
            description=item.get("description") or "Packets of a trace log gathered elsewhere.",
        )
    label = item.get("item")
    if isinstance(label, dict):
        label = label.get("scenario") or label.get("name")
    return dict(scenario=str(label or "unnamed"), error=item.get("msg") or "the scenario task failed", packets=[])


def documents(src=(), results=(), default_host="localhost"):
    """Gather results.json files and registered results into one document per host.

    Every path in ``src`` is checked before any is read. The collector is paused while the
    documents are read and copied (see render).
    """
    docs: dict[str, dict] = {}

    def add(doc, base):
        host = str(doc.get("host") or default_host)
        entry = docs.setdefault(host, dict(host=host, generated=None, facts={}, scenarios=[], flows=[], base=base))
        entry["generated"] = doc.get("generated") or entry["generated"]
        entry["facts"] = dict(entry["facts"], **(doc.get("facts") or {}))
        entry["base"] = entry["base"] or base
        for scenario in doc.get("scenarios") or []:
            entry["scenarios"] = [s for s in entry["scenarios"] if scenario_key(s) != scenario_key(scenario)]
            entry["scenarios"].append(scenario)
        for flow in doc.get("flows") or []:
            entry["flows"] = [f for f in entry["flows"] if report_flows.name(f) != report_flows.name(flow)]
            entry["flows"].append(flow)

    def add_item(item):
        if isinstance(item, list):
            for sub in item:
                add_item(sub)
        elif not isinstance(item, dict):
            raise ValueError("a result must be a dict, got %s" % type(item).__name__)
        elif isinstance(item.get("results"), list) and "scenario" not in item and "scenarios" not in item:
            add_item(item["results"])
        elif "scenarios" in item or "flows" in item:
            add(item, None)
        elif "flow" in item and "scenario" not in item:
            add(dict(host=default_host, flows=[item]), None)
        else:
            add(dict(host=default_host, scenarios=[scenario_from(item)]), None)

    for path in src:
        if not os.path.exists(path):
            raise ValueError("no such results file or folder: %s" % path)
    with collector_paused():
        for path in src:
            files = sorted(glob.glob(os.path.join(path, "*", "results.json"))) if os.path.isdir(path) else [path]
            if os.path.isdir(path) and os.path.isfile(os.path.join(path, "results.json")):
                files.insert(0, os.path.join(path, "results.json"))
            for name in files:
                add(*load_json(name))
        add_item(report_model.plain(list(results)))
    return list(docs.values())


def write(path, data, mode, check=False):
    """Write ``data`` to ``path`` atomically with ``mode``; return whether anything changed."""
    current = None
    if os.path.isfile(path) and not os.path.islink(path):
        with open(path, "rb") as handle:
            current = handle.read()
        if current == data and (os.stat(path).st_mode & 0o777) == mode:
            return False
    if check:
        return True
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".pf-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return True


def inside(root, path):
    """Whether ``path`` resolves to a place under ``root``."""
    root, path = os.path.realpath(root), os.path.realpath(path)
    return os.path.commonpath([root, path]) == root


def locate(path, roots, fetched):
    """Find an artifact on the controller, only inside ``roots`` (never elsewhere on disk)."""
    candidates = [path if os.path.isabs(path) else os.path.join(roots[0], path)]
    candidates += [os.path.join(roots[0], *parts, os.path.basename(path)) for parts in fetched]
    for candidate in candidates:
        if os.path.isfile(candidate) and any(inside(root, candidate) for root in roots):
            return candidate
    return None


def copy_private(source, target):
    """Copy ``source`` to ``target`` through a file that is 0600 from its creation on."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".pf-")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as handle:
            shutil.copyfileobj(handle, out)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def artifact(path, roots, fetched, host_dir, subdir, check):
    """Bring one artifact next to the page (mode 0600); return its link, or its path when absent."""
    if not path:
        return None, False
    source = locate(path, roots, fetched)
    if source is None:
        return dict(path=path, href=None), False
    target = (
        source
        if inside(host_dir, source)
        else os.path.join(host_dir, "artifacts", subdir, dir_name(os.path.basename(source), "file"))
    )
    changed = False
    if target != source and not (os.path.isfile(target) and filecmp.cmp(source, target, shallow=False)):
        changed = True
        if not check:
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            copy_private(source, target)
    if os.path.exists(target) and (os.stat(target).st_mode & 0o777) != ARTIFACT_MODE:
        changed = True
        if not check:
            os.chmod(target, ARTIFACT_MODE)
    href = "/".join(quote(part) for part in os.path.relpath(target, host_dir).split(os.sep))
    return dict(path=path, href=href), changed


def artifacts(scenario, base, host_dir, check, name=None):
    """Links to a scenario's pcaps, trace log and ruleset file.

    Paths are looked up under the folder of results.json and the host's report folder only:
    as given when relative, else where a fetch put them (<scenario>/, <run_id>/<scenario>/ or
    <run_id>/ followed by the file name). Copies are 0600: pcaps can hold payloads.
    """
    arts = scenario.get("artifacts") or {}
    subdir = dir_name(name or scenario_key(scenario), "unnamed")
    run = dir_name(scenario.get("run_id"), "run")
    fetched = [(subdir,), (run, subdir), (run,)]
    roots = [base or host_dir, host_dir]
    changed = False
    out: dict = dict(pcaps={})
    for iface, path in sorted((arts.get("pcaps") or {}).items()):
        out["pcaps"][iface], moved = artifact(path, roots, fetched, host_dir, subdir, check)
        changed |= moved
    for key in ("trace_log", "ruleset"):
        out[key], moved = artifact(arts.get(key), roots, fetched, host_dir, subdir, check)
        changed |= moved
    return out, changed


def host_page(env, doc, host_dir, limit, fleet_href, check=False):
    """Render one host's page; return (html, views, artifacts changed)."""
    facts = report_model.host_facts(doc)
    views, changed = [], False
    for scenario in doc["scenarios"]:
        arts, moved = artifacts(scenario, doc.get("base"), host_dir, check)
        changed |= moved
        views.append(report_model.scenario_view(scenario, facts, limit, arts))
    flows = []
    for flow in doc.get("flows") or []:
        arts, moved = artifacts(flow, doc.get("base"), host_dir, check, report_flows.name(flow))
        changed |= moved
        flows.append(report_flows.flow_view(flow, facts, limit, arts))
    html = env.get_template("host.html.j2").render(
        facts=facts,
        generated=doc.get("generated"),
        views=views,
        summary=report_model.summary(views),
        flows=flows,
        flow_summary=report_flows.summary(flows),
        fleet_href=fleet_href,
    )
    return html, views, flows, changed


def render(docs, dest, limit=500, fleet_index=True, check=False):
    """Write ``dest/<host>/index.html`` per host and ``dest/index.html``; return what was done.

    The garbage collector is paused meanwhile: the views make no reference cycles, only
    hundreds of thousands of young dicts the collector would walk again and again.
    """
    with collector_paused():
        return _render(docs, dest, limit, fleet_index, check)


def _render(docs, dest, limit, fleet_index, check):
    env = environment()
    dest = os.path.abspath(dest)
    if not check:
        os.makedirs(dest, mode=0o755, exist_ok=True)
    pages, changed, hosts = [], False, []
    for doc in docs:
        host_dir = os.path.join(dest, dir_name(doc["host"]))
        if not inside(dest, host_dir) or os.path.realpath(host_dir) == os.path.realpath(dest):
            raise ValueError("refusing to write outside %s for host %r" % (dest, doc["host"]))
        if not check:
            os.makedirs(host_dir, mode=0o755, exist_ok=True)
        html, views, flows, moved = host_page(
            env, doc, host_dir, limit, "../index.html" if fleet_index else None, check
        )
        page = os.path.join(host_dir, "index.html")
        changed |= moved | write(page, html.encode("utf-8"), PAGE_MODE, check)
        pages.append(page)
        hosts.append(
            dict(host=doc["host"], page=page, flows=report_flows.summary(flows), **report_model.summary(views))
        )
    junit = os.path.join(dest, "junit.xml")
    changed |= write(junit, report_junit.junit_xml(docs), PAGE_MODE, check)
    result = dict(changed=changed, dest=dest, pages=pages, junit=junit, hosts=hosts)
    result.update(index=None, totals=None, drift=None, flow_totals=None, flow_drift=None)
    if fleet_index:
        fleet, flows = report_fleet.fleet(docs), report_fleet.flow_matrix(docs)
        for row in fleet["rows"] + flows["rows"]:
            row["href"] = quote(dir_name(row["doc"]["host"])) + "/index.html"
        html = env.get_template("fleet.html.j2").render(fleet=fleet, flows=flows)
        index = os.path.join(dest, "index.html")
        result.update(
            changed=changed | write(index, html.encode("utf-8"), PAGE_MODE, check),
            index=index,
            totals=fleet["totals"],
            drift=fleet["drift"],
            flow_totals=flows["totals"],
            flow_drift=flows["drifts"],
        )
    return result
