# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin: render the per-host HTML reports and the fleet index on the controller."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_render

ARGUMENT_SPEC = dict(
    src=dict(type="list", elements="path", default=[]),
    results=dict(type="list", elements="raw", default=[]),
    dest=dict(type="path"),
    host=dict(type="str"),
    hosts=dict(type="list", elements="str"),
    fleet_index=dict(type="bool", default=True),
    max_packets=dict(type="int", default=500),
)


class ActionModule(ActionBase):
    """Render reports from results.json files or registered scenario results; nothing runs on targets."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        if not args["src"] and not args["results"]:
            raise AnsibleActionFail("give results.json files or folders in src, or scenario results in results")
        if args["max_packets"] < 1:
            raise AnsibleActionFail("max_packets must be at least 1")
        dest = args["dest"] or os.path.join(task_vars.get("playbook_dir") or os.getcwd(), "reports")
        default_host = args["host"] or task_vars.get("inventory_hostname") or "localhost"
        try:
            docs = report_render.documents(args["src"], args["results"], default_host)
            if args["hosts"] is not None:
                wanted = set(args["hosts"])
                docs = [d for d in docs if d["host"] in wanted]
            done = report_render.render(
                docs, dest, args["max_packets"], args["fleet_index"], check=self._task.check_mode
            )
        except (OSError, ValueError) as exc:
            raise AnsibleActionFail("cannot make the report: %s" % exc) from exc
        result.update(done)
        if not docs:
            result.setdefault("warnings", []).append(
                "no results to report: no results.json under src and no results given"
            )
        result["msg"] = "%d host page(s)%s under %s" % (
            len(done["pages"]),
            " and the fleet index" if done["index"] else "",
            done["dest"],
        )
        return result
