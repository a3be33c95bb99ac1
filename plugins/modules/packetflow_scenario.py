#!/usr/bin/python
# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: packetflow_scenario
short_description: Run one Docker networking scenario and show where its packets go
version_added: 0.1.0
description:
  - Builds the scenario's own topology from the lab image (containers, user networks and,
    where needed, an outside client network namespace), all labelled with a run id.
  - Arms TRACE scoped to the scenario's flow on the firewall back end that holds Docker's rules
    (iptables-legacy, iptables-nft or nftables), inserted at position 1 and tagged
    C(packetflow:<run_id>).
  - Captures with tcpdump on every interface on the path, waits until each capture listens, sends
    bounded traffic with the host's tools inside the right namespace, collects the trace and the
    ruleset and builds one journey per packet with the analysis core.
  - Checks the observed fate against the expectation and always tears everything down (TRACE rules,
    monitors, captures, containers, networks, namespaces, sysctls), also when a step fails.
  - Before it changes anything it starts a detached reaper, which tears the run down if the module
    dies (SIGKILL included) or overruns its deadline of 120 + 20 times O(timeout) seconds.
  - The host is left as it was found, so the module reports C(changed=false). Artifacts (pcaps, raw
    trace, ruleset) stay under O(workdir) for the caller to fetch and remove.
attributes:
  check_mode:
    support: full
    details:
      - In check mode it returns RV(plan), the topology, TRACE rules and captures a run would set up,
        without touching the host.
  diff_mode:
    support: none
options:
  scenario:
    description: The scenario to run.
    type: str
    required: true
    choices: [host_to_container, container_to_host, container_to_container, cross_network, published_port,
              external_to_published, container_to_external, host_network, none_network]
  family:
    description:
      - Address family of the scenario's traffic and tracing.
      - C(ipv6) builds dual-stack lab networks on ULA subnets (fd00::/8, picked so that they overlap nothing on
        the host), gives the outside client an address of 2001:db8::/32, probes over IPv6 and arms TRACE in
        ip6tables raw (or an ip6 table on the nftables back end).
      - C(ipv6) needs Docker's IPv6 on (daemon.json C(ipv6), C(fixed-cidr-v6)) and its IPv6 rules
        (C(ip6tables), which Docker before 27 takes only with C(experimental)), see role
        dockernet.packetflow.docker_engine; on iptables-legacy also nf_log_ipv6 (role dockernet.packetflow.nf_log).
        The module refuses it, before anything changes, where they are off.
    type: str
    choices: [ipv4, ipv6]
    default: ipv4
  name:
    description:
      - Name of the first container (the study's C(web1)). Must not exist yet.
      - Docker's name syntax, two or more of C([a-zA-Z0-9_.-]), not starting with C(_), C(.) or C(-).
    type: str
    default: web1
  second_name:
    description: Name of the second container, in scenarios that need two. Must not exist yet; same syntax as O(name).
    type: str
    default: web2
  port:
    description:
      - Host port published to the container's port 80 (the study's C(-p 8080:80)), or served on the
        host by the C(host_network) container. Must be free.
      - C(0) picks a free port. From 0 to 65535.
    type: int
    default: 8080
  image:
    description: Lab image with busybox C(httpd); it is never pulled.
    type: str
    default: mybusybox:latest
  expect:
    description: Override the catalogue's expectation, key by key.
    type: dict
    suboptions:
      fate:
        description: Expected fate of the scenario's request packets.
        type: str
        choices: [delivered, dropped, unknown]
      at:
        description: Where the fate is decided, as C(table:chain) (a prefix of the observed place).
        type: str
      via:
        description: C(table:chain) entries the request packets must cross, in this order.
        type: list
        elements: str
  fail_on_mismatch:
    description: Fail the task when the observed fate or path differs from the expectation.
    type: bool
    default: true
  count:
    description: Echo requests per ping, from 1 to 1000.
    type: int
    default: 1
extends_documentation_fragment:
  - dockernet.packetflow.docker
  - dockernet.packetflow.run
  - dockernet.packetflow.attributes
notes:
  - O(timeout) bounds each container start, each capture start and each traffic exchange too.
seealso:
  - module: dockernet.packetflow.packetflow_facts
  - module: dockernet.packetflow.packetflow_cleanup
"""

EXAMPLES = r"""
- name: Show where a ping between two user networks goes
  dockernet.packetflow.packetflow_scenario:
    scenario: cross_network
  register: cross

- name: The same path in IPv6 (needs Docker's IPv6 and ip6tables on)
  dockernet.packetflow.packetflow_scenario:
    scenario: cross_network
    family: ipv6

- name: Published port on another host port, expecting delivery
  dockernet.packetflow.packetflow_scenario:
    scenario: published_port
    port: 0
    expect:
      fate: delivered
"""

RETURN = r"""
scenario:
  description: The scenario id.
  returned: always
  type: str
  sample: cross_network
family:
  description: Address family the scenario ran in.
  returned: always
  type: str
  sample: ipv4
description:
  description: What the scenario does.
  returned: always
  type: str
run_id:
  description: Run id; tags the TRACE rules and labels the containers and networks.
  returned: always
  type: str
  sample: pf-20261125-1a2b3c
started:
  description: Start time, UTC, ISO 8601.
  returned: always
  type: str
seconds:
  description: Wall time of the run.
  returned: always
  type: float
host:
  description: >-
    Host facts the run depended on (name, kernel, docker_version, backend, userland_proxy, br_netfilter,
    iptables_default).
  returned: always
  type: dict
topology:
  description: Containers, networks and the outside client the run built.
  returned: always
  type: dict
traffic:
  description: What was sent, with the command and whether it got an answer.
  returned: always
  type: list
  elements: dict
packets:
  description: One journey per packet, from the analysis core (see docs/result-contract.md).
  returned: success
  type: list
  elements: dict
expected:
  description: Expected fate, place and path, with the reason.
  returned: always
  type: dict
observed:
  description: Observed fate, place and path.
  returned: success
  type: dict
mismatch:
  description: Readable diff of expected and observed fate and path, when they differ.
  returned: when passed is false
  type: str
passed:
  description: Whether observed matches expected.
  returned: success
  type: bool
explanation:
  description: The outcome in one sentence, naming the rule of Docker's that decided it.
  returned: success
  type: str
plan:
  description: In check mode, the TRACE rules and captures that a run would set up.
  returned: check mode
  type: dict
ruleset:
  description: >-
    The ruleset the trace refers to (format, text, and on iptables-nft the base chains that exist) and the
    rules hit.
  returned: success
  type: dict
artifacts:
  description: Paths on the target of the pcaps (by interface), the raw trace and the ruleset.
  returned: success
  type: dict
stats:
  description: trace_events, captured, kernel_drops, unparsed_lines, seconds.
  returned: success
  type: dict
warnings_list:
  description: Notes about the host (back end mismatch, untraced paths).
  returned: always
  type: list
  elements: str
error:
  description: Message when the run failed or is partial, else null.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue import scenarios
from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue.validate import FATES
from ansible_collections.dockernet.packetflow.plugins.module_utils.host import module_run
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.scenario import run_scenario


def main():
    """Ansible entry point: validate, run the scenario, report."""
    module = AnsibleModule(
        argument_spec=module_run.run_options(
            scenario=dict(type="str", required=True, choices=scenarios.names()),
            family=dict(type="str", default="ipv4", choices=list(scenarios.FAMILIES)),
            name=dict(type="str", default="web1"),
            second_name=dict(type="str", default="web2"),
            port=dict(type="int", default=8080),
            image=dict(type="str", default="mybusybox:latest"),
            expect=dict(
                type="dict",
                options=dict(
                    fate=dict(type="str", choices=list(FATES)),
                    at=dict(type="str"),
                    via=dict(type="list", elements="str"),
                ),
            ),
            fail_on_mismatch=dict(type="bool", default=True),
            count=dict(type="int", default=1),
        ),
        supports_check_mode=True,
    )
    module_run.finish(
        module,
        lambda sdk: run_scenario(module.params, module.check_mode, sdk, module.get_bin_path),
        scenario=module.params["scenario"],
        run_id=None,
        passed=False,
    )


if __name__ == "__main__":
    main()
