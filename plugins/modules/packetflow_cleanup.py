#!/usr/bin/python
# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: packetflow_cleanup
short_description: Remove whatever a killed packetflow run left behind
version_added: 0.1.0
description:
  - A run of M(dockernet.packetflow.packetflow_scenario) tears down everything it built, and its
    reaper does so when the module is killed, but a host reboot mid-run (or a reaper killed too)
    leaves things behind. This module finds the leftovers by tag and label and removes them.
  - Removes TRACE rules tagged C(packetflow:<run_id>) from iptables-legacy and iptables-nft, nftables
    tables named C(pf_<run_id>), the empty raw chains iptables-nft created for a run, containers and
    networks labelled C(dockernet.packetflow.run),
    network namespaces C(pf-*) and host veths C(pfh*), the processes a run started (found by the
    C(PACKETFLOW_RUN=<run_id>) tag in their environment, not by name),
    and puts back the sysctls a run changed (from its state file under C(/run/packetflow)).
  - Leaves alone whatever belongs to a run still in progress (its lock under C(/run/packetflow) is
    held), and removes the lock files of dead runs.
  - Idempotent; a second call removes nothing and reports C(changed=false).
requirements:
  - root
  - Python Docker SDK (C(docker)) on the target, for containers and networks
attributes:
  check_mode:
    support: full
    details:
      - In check mode it finds the leftovers and reports them in RV(removed) without removing anything.
  diff_mode:
    support: full
    details:
      - In diff mode RV(diff) shows, by kind, the leftovers found before and what is still there after.
options:
  run_id:
    description: Only remove what this run left. Default is every run's leftovers.
    type: str
extends_documentation_fragment:
  - dockernet.packetflow.docker
  - dockernet.packetflow.attributes
  - dockernet.packetflow.attributes.LINUX
seealso:
  - module: dockernet.packetflow.packetflow_scenario
"""

EXAMPLES = r"""
- name: Remove leftovers of every killed packetflow run
  dockernet.packetflow.packetflow_cleanup:

- name: Remove what one run left
  dockernet.packetflow.packetflow_cleanup:
    run_id: pf-20261125-1a2b3c

- name: Point every packetflow module at another Docker daemon
  module_defaults:
    group/dockernet.packetflow.packetflow:
      docker_host: tcp://127.0.0.1:2375
      timeout: 30
  block:
    - name: Learn the host's facts
      dockernet.packetflow.packetflow_facts:

    - name: Remove leftovers, showing what they were
      dockernet.packetflow.packetflow_cleanup:
      diff: true
"""

RETURN = r"""
removed:
  description: What was removed (or would be, in check mode), by kind.
  returned: always
  type: dict
  sample:
    rules: ["iptables-nft -t raw -D PREROUTING -s 172.17.0.1/32 ... --comment packetflow:pf-20261125-1a2b3c -j TRACE"]
    containers: [web1]
    networks: []
    nft_tables: []
    netns: [pf-1a2b3c]
    links: [pfh1a2b3c]
    processes: [4242]
    sysctls: {/proc/sys/net/netfilter/nf_log_all_netns: "0"}
    state_files: [/run/packetflow/pf-20261125-1a2b3c.json]
errors:
  description: What could not be removed.
  returned: always
  type: list
  elements: str
diff:
  description:
    - The leftovers by kind (the keys of RV(removed)), before the module ran and after it.
    - C(after) holds what is still there, the leftovers that could not be removed; in check mode,
      what would be left.
  returned: in diff mode
  type: dict
  contains:
    before:
      description: Leftovers found, by kind.
      type: dict
    after:
      description: Leftovers still there, by kind.
      type: dict
  sample:
    before: {containers: [web1], netns: [pf-1a2b3c], rules: [], networks: [], nft_tables: [], links: [],
             processes: [], sysctls: {}, state_files: []}
    after: {containers: [], netns: [], rules: [], networks: [], nft_tables: [], links: [],
            processes: [], sysctls: {}, state_files: []}
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import docker_api
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.cleanup import Cleaner
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import check_run_id


def main():
    """Ansible entry point: find the leftovers by ownership, remove them, report them."""
    module = AnsibleModule(argument_spec=docker_api.docker_options(run_id=dict(type="str")), supports_check_mode=True)
    if os.geteuid() != 0:
        module.fail_json(msg="packetflow_cleanup must run as root; use become: true")
    run_id = module.params["run_id"]
    try:
        if run_id:
            check_run_id(run_id)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    cleaner = Cleaner(run_id, None, module.check_mode, module.params["timeout"])
    if not docker_api.HAS_DOCKER:
        cleaner.errors.append("Python Docker SDK missing: containers and networks not checked")
    else:
        try:
            cleaner.client = docker_api.connect(module.params["docker_host"], module.params["timeout"])
        except RuntimeError as exc:
            cleaner.errors.append(str(exc))
    try:
        removed, errors = cleaner.run()
    except Exception as exc:
        module.fail_json(msg="packetflow_cleanup failed unexpectedly: %s" % exc, exception=traceback.format_exc())
    for run_id in cleaner.live:
        module.warn("run %s is live (its lock is held): left alone" % run_id)
    result = dict(changed=any(removed.values()), removed=removed, errors=errors)
    if module._diff:
        result["diff"] = cleaner.diff()
    if errors:
        module.fail_json(msg="could not remove everything: %s" % "; ".join(errors), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
