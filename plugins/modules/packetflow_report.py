#!/usr/bin/python
# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The code is the action plugin plugins/action/packetflow_report.py; this file holds its documentation.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: packetflow_report
short_description: Render HTML reports of where packets went, per host and for the fleet
version_added: 0.1.0
description:
  - Renders on the controller, with Jinja2 templates shipped in the collection, one self-contained
    page per host (C(<dest>/<host>/index.html)) and a fleet index (C(<dest>/index.html)). Nothing runs
    on the targets.
  - A host page shows the host's facts and a pass/fail summary, then per scenario the topology, the
    path of the first request and of its reply on the netfilter hook diagram with numbered steps and
    the verdict, a hop table with rule text and NAT rewrites spelled out, the captures per interface
    with links to the pcaps and the raw trace, the outcome against the expectation with one
    plain-language sentence, any error, and the ruleset with the rules that were hit highlighted.
  - The fleet index is a hosts by scenarios matrix with each cell's fate and path fingerprint; cells
    whose path differs from the majority of hosts are marked as drift.
  - The flows of results.json (see M(dockernet.packetflow.packetflow_flow)) get a "Flows" section on
    each host page, with the same journey views as the scenarios plus the endpoints, the interfaces
    captured, the deciding rule and its owner, and expected and observed side by side; the fleet
    index gets a hosts by flows matrix of verdicts against expectations (pass, mismatch, no
    expectation, error) in which a flow whose fate or path differs from most hosts' is marked as
    drift, saying which hosts differ and at which chain. Older results.json without flows render as before.
  - C(<dest>/junit.xml) holds the outcomes as JUnit XML for CI pipelines and AWX, in two suites,
    C(packetflow.flows) (one test case per host and flow) and C(packetflow.scenarios) (one per host
    and scenario); the class name is the host. A mismatch is a failure with expected and observed, an
    errored run an error; a flow without an expectation passes, with property C(expectation=none).
  - Pages are plain HTML with inline CSS and SVG, no script and nothing fetched, readable offline and
    printable. Every value from a host is escaped.
  - Host folder names are made from the host name with anything but letters, digits, C(.), C(_) and
    C(-) replaced, so a host name cannot lead outside O(dest).
  - Artifacts (pcaps, raw trace, ruleset file) are linked when found under the folder of the
    results.json file, either at their relative path or, for a target path, as
    C(<scenario>/<file>), C(<run_id>/<scenario>/<file>) or C(<run_id>/<file>) there (where the trace
    role fetches them). Those outside the host's report folder are copied into it; all are left with
    mode 0600, as pcaps can hold payloads. Pages are written with mode 0644, only when their content
    changes, so a second run with the same results reports no change.
extends_documentation_fragment:
  - dockernet.packetflow.attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details:
      - In check mode it renders the pages and reports which would change, without writing them.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
    details:
      - It runs on the controller only; the targets need nothing.
options:
  src:
    description:
      - results.json files, or folders holding C(<host>/results.json) files (and maybe a
        C(results.json) of their own), as written by the P(dockernet.packetflow.trace#role) role.
    type: list
    elements: path
    default: []
  results:
    description:
      - Results given directly, any mix of results.json documents (with C(scenarios) or C(flows)), single
        flow results of M(dockernet.packetflow.packetflow_flow), single
        scenario results of M(dockernet.packetflow.packetflow_scenario), registered loop results
        (with C(results)), and the output of M(dockernet.packetflow.packetflow_trace_log) (with
        C(packets)).
      - Scenario results without a C(host) document belong to O(host).
      - A failed task without a scenario result still shows, as an errored scenario named after its loop item.
    type: list
    elements: raw
    default: []
  dest:
    description: Folder of the report. Defaults to C(reports) next to the playbook.
    type: path
  host:
    description: Host that bare scenario results belong to. Defaults to C(inventory_hostname).
    type: str
  hosts:
    description: Only report these hosts (as named in results.json); all when omitted.
    type: list
    elements: str
  fleet_index:
    description: Also write the fleet index C(<dest>/index.html), and link host pages to it.
    type: bool
    default: true
  max_packets:
    description:
      - Rows listed per scenario in the packet list and per interface in the capture lists. The first
        request and its reply are always shown in full; all packets are counted by path.
    type: int
    default: 500
notes:
  - Run it once for the whole play (C(run_once)), so that one task writes the fleet index. The
    C(dockernet.packetflow.report) role does so.
seealso:
  - module: dockernet.packetflow.packetflow_scenario
"""

EXAMPLES = r"""
- name: Render the report of every results.json under reports/
  dockernet.packetflow.packetflow_report:
    src:
      - "{{ playbook_dir }}/reports"
    dest: "{{ playbook_dir }}/reports"
  run_once: true

- name: Render the report straight from registered scenario results
  dockernet.packetflow.packetflow_report:
    results: "{{ scenario_runs.results }}"
    dest: /srv/www/packetflow
    fleet_index: false
"""

RETURN = r"""
dest:
  description: Absolute path of the report folder.
  returned: always
  type: str
  sample: /home/ops/packetflow/playbooks/reports
pages:
  description: Paths of the host pages.
  returned: always
  type: list
  elements: str
  sample: [/home/ops/packetflow/playbooks/reports/web-07/index.html]
index:
  description: Path of the fleet index, or null when O(fleet_index=false).
  returned: always
  type: str
  sample: /home/ops/packetflow/playbooks/reports/index.html
junit:
  description: Path of the JUnit XML file of every host's flows and scenarios.
  returned: always
  type: str
  sample: /home/ops/packetflow/playbooks/reports/junit.xml
hosts:
  description: Per host, its page, scenario counts by outcome and, in C(flows), flow counts by outcome.
  returned: always
  type: list
  elements: dict
  sample:
    - {host: web-07, page: /srv/reports/web-07/index.html, total: 9, pass: 8, fail: 1, error: 0, partial: 0,
       flows: {total: 2, pass: 1, mismatch: 1, noexpect: 0, error: 0}}
totals:
  description: Scenario runs by outcome across the fleet; null when O(fleet_index=false).
  returned: always
  type: dict
  sample: {total: 18, pass: 16, fail: 1, error: 1, partial: 0}
flow_totals:
  description: Flow runs by outcome across the fleet, as RV(totals) is for scenarios; null when O(fleet_index=false).
  returned: always
  type: dict
  sample: {total: 4, pass: 2, mismatch: 1, noexpect: 1, error: 0}
drift:
  description:
    - Number of host and scenario cells whose path differs from the majority of the hosts.
    - Null when O(fleet_index=false).
  returned: always
  type: int
  sample: 2
flow_drift:
  description:
    - The flows whose fate or path differs between hosts, each with the hosts that differ from most
      and a sentence saying at which chain; null when O(fleet_index=false).
  returned: always
  type: list
  elements: dict
  sample:
    - flow: isolated networks
      anchor: flow-isolated_networks-1a2b3c4d
      split: false
      hosts:
        - host: sid
          text: "sid: dropped at filter:DOCKER-ISOLATION-STAGE-2 on most hosts, dropped at raw:PREROUTING here"
"""
