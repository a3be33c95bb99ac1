#!/usr/bin/python
# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: packetflow_drift
short_description: Compare two results.json of one host, before and after an upgrade
version_added: 0.2.0
description:
  - Reads two results.json files of the same host, as the P(dockernet.packetflow.trace#role) role
    writes them, and says which scenarios and flows changed fate or path between them, and at which
    chain their paths part.
  - A path is the rules that steered the first request (table, chain and verdict; policies, returns
    and rules that only trace or log are left out, NAT rules by their target), so rule numbers and
    the iptables back end do not count as drift.
  - Nothing on the host changes, except the optional report O(dest).
  - Run it where the files are, usually the controller (C(delegate_to=localhost) or a play on
    C(localhost)); C(playbooks/drift.yml) does so.
attributes:
  check_mode:
    support: full
    details:
      - In check mode it compares and reports whether O(dest) would change, without writing it.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  before:
    description: Path of the results.json taken before the change (for example before the Docker upgrade).
    type: path
    required: true
  after:
    description: Path of the results.json taken after the change.
    type: path
    required: true
  fail_on_drift:
    description: Fail the task when a scenario or flow changed fate or path.
    type: bool
    default: false
  dest:
    description:
      - Also write the comparison to this file, as HTML when its name ends in C(.html), else as JSON.
      - Written with mode 0644 and only when its content changes.
    type: path
extends_documentation_fragment:
  - dockernet.packetflow.attributes
seealso:
  - module: dockernet.packetflow.packetflow_report
"""

EXAMPLES = r"""
- name: Say what changed for the flows and scenarios of web-07 across its Docker upgrade
  dockernet.packetflow.packetflow_drift:
    before: /srv/packetflow/before/web-07/results.json
    after: /srv/packetflow/reports/web-07/results.json
    dest: /srv/packetflow/reports/web-07/drift.html
  delegate_to: localhost

- name: Fail when anything took another path
  dockernet.packetflow.packetflow_drift:
    before: before/results.json
    after: after/results.json
    fail_on_drift: true
"""

RETURN = r"""
changes:
  description:
    - The scenarios and flows that changed fate or path. C(before) and C(after) are their signatures
      (C(fate), C(at) as C(table:chain), C(path) as C(table:chain:VERDICT) steps); C(diverges) says
      at which step (from 1) the paths part and what each took there.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: scenarios
      name: cross_network
      fate_changed: false
      path_changed: true
      before: {fate: dropped, at: "filter:DOCKER-ISOLATION-STAGE-2", path: ["filter:FORWARD:JUMP:DOCKER-USER"]}
      after: {fate: dropped, at: "raw:PREROUTING", path: ["raw:PREROUTING:DROP"]}
      diverges: {step: 1, before: "filter:FORWARD:JUMP:DOCKER-USER", after: "raw:PREROUTING:DROP", after_common: null}
      text: "cross_network: same fate (dropped at raw:PREROUTING); paths diverge at step 1: ..."
unchanged:
  description: How many scenarios and flows kept their fate and path.
  returned: always
  type: dict
  sample: {scenarios: 5, flows: 2}
missing:
  description: Scenarios and flows found in one file only, or without an outcome in one of them.
  returned: always
  type: list
  elements: dict
  sample: [{kind: flows, name: api to db, text: "api to db: only after"}]
drift:
  description: Number of entries in RV(changes).
  returned: always
  type: int
  sample: 1
dest:
  description: Path of the written comparison, or null without O(dest).
  returned: always
  type: str
  sample: /srv/packetflow/reports/web-07/drift.html
"""

import html
import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import drift


def read(module, option):
    """The results.json named by ``option``, or a failure naming the option, the path and the fix."""
    path = module.params[option]
    fix = "give the path of a results.json the trace role wrote (reports/<host>/results.json)"
    if not os.path.isfile(path):
        module.fail_json(msg="%s=%s is not a file: %s" % (option, path, fix))
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError) as exc:
        module.fail_json(msg="%s=%s cannot be read as JSON (%s): %s" % (option, path, exc, fix))
    if not isinstance(doc, dict) or not ("scenarios" in doc or "flows" in doc):
        module.fail_json(msg="%s=%s holds no scenarios or flows: %s" % (option, path, fix))
    return doc


def as_html(result):
    """A small self-contained page of the comparison."""
    rows = "".join(
        "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
        % tuple(html.escape(str(v)) for v in (c["kind"], c["name"], c["diverges"]["step"], c["text"]))
        for c in result["changes"]
    )
    missing = "".join("<li>%s</li>" % html.escape(m["text"]) for m in result["missing"])
    title = "Path drift on %s" % (result["after_host"] or result["before_host"] or "a host")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>%s</title></head><body><h1>%s</h1>'
        "<p>%d changed, %d scenarios and %d flows unchanged.</p>"
        "<table><thead><tr><th>Kind</th><th>Name</th><th>Step</th><th>What changed</th></tr></thead>"
        "<tbody>%s</tbody></table>%s</body></html>\n"
        % (
            html.escape(title),
            html.escape(title),
            len(result["changes"]),
            result["unchanged"]["scenarios"],
            result["unchanged"]["flows"],
            rows,
            "<h2>Found on one side only</h2><ul>%s</ul>" % missing if missing else "",
        )
    )


def write(path, text, check):
    """Write ``text`` to ``path`` (mode 0644) unless it holds it already; return whether it changed."""
    data = text.encode("utf-8")
    if os.path.isfile(path):
        with open(path, "rb") as handle:
            if handle.read() == data and os.stat(path).st_mode & 0o777 == 0o644:
                return False
    if check:
        return True
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".pf-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            before=dict(type="path", required=True),
            after=dict(type="path", required=True),
            fail_on_drift=dict(type="bool", default=False),
            dest=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    dest = module.params["dest"]
    if dest and not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        module.fail_json(msg="dest=%s is in no existing folder: create the folder or give another path" % dest)
    before, after = read(module, "before"), read(module, "after")
    result = drift.compare(before, after)
    warnings = []
    if before.get("host") and after.get("host") and before["host"] != after["host"]:
        warnings.append("before is of host %s, after of host %s" % (before["host"], after["host"]))
    changed = False
    if dest:
        text = as_html(result) if dest.endswith(".html") else json.dumps(result, indent=1, sort_keys=True) + "\n"
        changed = write(dest, text, module.check_mode)
    count = len(result["changes"])
    msg = "; ".join(c["text"] for c in result["changes"]) or "no scenario or flow changed fate or path"
    outcome = dict(result, changed=changed, drift=count, dest=dest, msg=msg, warnings=warnings)
    if count and module.params["fail_on_drift"]:
        outcome["msg"] = "%d changed (fail_on_drift): %s" % (count, msg)
        module.fail_json(**outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
