#!/usr/bin/python
# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: packetflow_facts
short_description: Facts that decide how Docker's packets can be traced on a host
version_added: 0.1.0
description:
  - Reports the firewall back end that holds Docker's rules (C(legacy), C(nft) or C(nftables)), and warns
    when the host's C(iptables) command uses another one.
  - Reports the Docker version, whether the userland proxy is on, whether br_netfilter is loaded and
    bridge-nf-call-iptables set, the nf_log binding, Docker's bridges with their subnets, the host's
    primary address and the file rsyslog writes kernel messages to.
  - Read only.
requirements:
  - Python Docker SDK (C(docker)) on the target
options: {}
extends_documentation_fragment:
  - dockernet.packetflow.docker
  - dockernet.packetflow.attributes
  - dockernet.packetflow.attributes.LINUX
  - dockernet.packetflow.attributes.READ_ONLY
  - ansible.builtin.action_common_attributes.facts
attributes:
  facts:
    support: full
seealso:
  - module: dockernet.packetflow.packetflow_scenario
"""

EXAMPLES = r"""
- name: Learn which back end holds Docker's rules
  dockernet.packetflow.packetflow_facts:

- name: Show it
  ansible.builtin.debug:
    msg: "{{ ansible_facts.packetflow.backend }} (iptables command: {{ ansible_facts.packetflow.iptables_default }})"
"""

RETURN = r"""
ansible_facts:
  description: Facts under the key C(packetflow).
  returned: always
  type: complex
  contains:
    packetflow:
      description: >-
        name, kernel, docker_version, backend (legacy, nft, nftables or null: where Docker's rules are),
        firewall_backend_reported (what docker info names, Docker 28.1+, else null), iptables_default,
        userland_proxy, br_netfilter, bridge_nf_call_iptables, nf_log_ipv4, nf_log_all_netns,
        primary_address, bridges (name, bridge, subnet, gateway), rsyslog_kern_file, warnings.
      returned: always
      type: dict
      sample:
        backend: nft
        iptables_default: nft
        docker_version: 20.10.24+dfsg1
        userland_proxy: true
        br_netfilter: true
        bridges: [{name: bridge, bridge: docker0, subnet: 172.17.0.0/16, gateway: 172.17.0.1}]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import docker_api
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.facts import gather


def main():
    """Ansible entry point."""
    module = AnsibleModule(argument_spec=docker_api.docker_options(), supports_check_mode=True)
    if not docker_api.HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker"))
    try:
        client = docker_api.connect(module.params["docker_host"], module.params["timeout"])
        facts = gather(client)
    except RuntimeError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:
        module.fail_json(msg="packetflow_facts failed unexpectedly: %s" % exc, exception=traceback.format_exc())
    for warning in facts["warnings"]:
        module.warn(warning)
    module.exit_json(changed=False, ansible_facts={"packetflow": facts})


if __name__ == "__main__":
    main()
