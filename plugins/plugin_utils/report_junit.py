# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The report's outcomes as JUnit XML, for CI pipelines and AWX.

Two suites: ``packetflow.flows`` (one test case per host x flow) and ``packetflow.scenarios``
(one per host x scenario); the class name is the host, the case name the flow or scenario. A
mismatch is a failure, an errored run an error; a flow without an expectation passes, marked
by its ``expectation`` property and its system-out. ElementTree escapes every value.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate
from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_flows, report_model
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_names import scenario_key

# Characters XML 1.0 cannot carry at all, even escaped (control characters but tab and newlines).
_NOT_XML = {c: None for c in range(32) if c not in (9, 10, 13)}


def _text(value):
    return str(value if value is not None else "").translate(_NOT_XML)


def _case(suite, host, name, seconds):
    case = ET.SubElement(suite, "testcase", classname=_text(host), name=_text(name))
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        case.set("time", "%.3f" % seconds)
    return case


def _where(side):
    """``denied at filter:DOCKER-USER`` of an expected or observed flow outcome."""
    side = side or {}
    verdict = side.get("verdict") or "unknown"
    return "%s at %s" % (verdict, side["at"]) if side.get("at") else verdict


def _flow_case(suite, host, flow):
    case = _case(suite, host, report_flows.name(flow), flow.get("seconds"))
    state = report_flows.outcome(flow)
    observed = flow.get("observed") or {}
    props = ET.SubElement(case, "properties")
    expectation = (flow.get("expected") or {}).get("verdict") or "none"
    for key, value in (("expectation", expectation), ("verdict", observed.get("verdict") or "unknown")):
        ET.SubElement(props, "property", name=key, value=_text(value))
    if state == "error":
        ET.SubElement(case, "error", message=_text(flow.get("error")), type="error").text = _text(flow.get("error"))
    elif state == "mismatch":
        text = flow.get("mismatch") or narrate.explain(flow)
        message = "expected %s, observed %s" % (_where(flow.get("expected")), _where(observed))
        ET.SubElement(case, "failure", message=_text(message), type="mismatch").text = _text(text)
    out = narrate.explain(flow)
    if state == "noexpect":
        out = "no expectation: observed %s. %s" % (observed.get("verdict") or "unknown", out)
    ET.SubElement(case, "system-out").text = _text(out)


def _scenario_case(suite, host, scenario):
    case = _case(suite, host, scenario_key(scenario) or "unnamed", scenario.get("seconds"))
    state = report_model.status(scenario)
    if state in ("error", "partial"):
        ET.SubElement(case, "error", message=_text(scenario.get("error")), type=state).text = _text(
            scenario.get("error")
        )
    elif state == "fail":
        expected, observed = scenario.get("expected") or {}, scenario.get("observed") or {}
        message = "expected %s, observed %s" % (expected.get("fate") or "?", observed.get("fate") or "unknown")
        text = scenario.get("mismatch") or narrate.explain(scenario)
        ET.SubElement(case, "failure", message=_text(message), type="mismatch").text = _text(text)
    ET.SubElement(case, "system-out").text = _text(narrate.explain(scenario))


def _suite(root, name, cases):
    suite = ET.SubElement(root, "testsuite", name=name)
    for add, host, result in cases:
        add(suite, host, result)
    tags = [c.tag for case in suite for c in case]
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(tags.count("failure")))
    suite.set("errors", str(tags.count("error")))
    suite.set("skipped", "0")
    return suite


def junit_xml(docs):
    """JUnit XML (bytes, UTF-8) of every host's flows and scenarios."""
    root = ET.Element("testsuites", name="packetflow")
    flows = [(_flow_case, d["host"], f) for d in docs for f in d.get("flows") or []]
    scenarios = [(_scenario_case, d["host"], s) for d in docs for s in d.get("scenarios") or []]
    suites = [_suite(root, "packetflow.flows", flows), _suite(root, "packetflow.scenarios", scenarios)]
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(s.get(key)) for s in suites)))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
