#!/usr/bin/python
# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: packetflow_flow
short_description: Trace one of your own flows on a live Docker host and check it against a policy
version_added: 0.2.0
description:
  - Traces one flow between your own endpoints (running containers on any network mode, the host,
    an address on or beyond the host, or an outside client the run creates) through every netfilter
    chain it crosses, Docker's and yours (DOCKER-USER, ufw's chains, firewalld's nftables table, plain
    rules), and through
    tcpdump on every interface on its path.
  - Resolves everything before it changes anything - the containers, their addresses and veths, the
    bridge, the egress interface (C(ip route get)), and the container a published host port is
    DNATed to - and refuses with a message naming the fix when the flow cannot be traced.
  - Adds only the flow's own TRACE rules (both directions, before and after NAT), captures and probe
    processes, and removes all of them; your containers, networks, rules and sysctls stay as found.
    A detached reaper removes them too if the module is killed.
  - In C(probe) mode it sends a bounded probe from the source's own network namespace with the host's
    tools (busybox ping, or the module's Python sockets), so nothing is required of the container's
    image. In C(observe) mode it sends nothing and waits for the real traffic.
  - With O(expect) it checks the observed verdict (allowed or denied), optionally where it was
    decided, and fails the task on a mismatch, showing expected and observed side by side.
attributes:
  check_mode:
    support: full
    details:
      - In check mode it returns RV(plan) - the TRACE rules it would arm, the interfaces it would
        capture on and the probe it would send - and changes nothing.
  diff_mode:
    support: none
options:
  name:
    description: The flow's name in the result and the report (default C(<src> → <dst> <proto>/<port>)).
    type: str
  src:
    description:
      - Where the flow starts. A running container's name or id (any network mode, C(container:<other>)
        included), C(host), or C(outside) - a network namespace the run creates, with a documentation
        address, standing in for a client beyond the host.
      - In O(mode=observe) also an IPv4 address, the real client's.
    type: str
    required: true
  dst:
    description:
      - Where the flow goes. A running container's name or id, C(host), or an IPv4 address on or beyond
        the host.
      - A published port is named as the host (C(host) or one of its addresses) with O(port) the host port;
        the module finds the container it is DNATed to and traces both legs.
    type: str
    required: true
  proto:
    description: Protocol of the flow.
    type: str
    choices: [icmp, tcp, udp]
    default: tcp
  port:
    description: Destination port, from 1 to 65535; required for a tcp or udp probe, not allowed with icmp.
    type: int
  mode:
    description: C(probe) sends a bounded probe; C(observe) waits for the real traffic, sending nothing.
    type: str
    choices: [probe, observe]
    default: probe
  count:
    description: Probes to send (O(mode=probe)).
    type: int
    default: 3
  interval:
    description: Seconds between probes (O(mode=probe)).
    type: float
    default: 0.2
  duration:
    description: Seconds to wait for the real traffic at most (O(mode=observe)).
    type: int
    default: 10
  max_packets:
    description: Stop waiting once an interface on the path captured this many packets (O(mode=observe)).
    type: int
    default: 100
  expect:
    description: The policy the flow should obey; without it the flow is reported, not checked.
    type: dict
    suboptions:
      verdict:
        description: Whether the flow should get through.
        type: str
        choices: [allowed, denied]
        required: true
      at:
        description: C(table:chain) where the verdict should be decided (or, when allowed, a chain it must cross).
        type: str
  fail_on_mismatch:
    description: Fail the task when the observed verdict or place differs from O(expect).
    type: bool
    default: true
extends_documentation_fragment:
  - dockernet.packetflow.docker
  - dockernet.packetflow.run
  - dockernet.packetflow.attributes
notes:
  - O(timeout) bounds each probe's wait and each capture start.
  - IPv4 flows only so far.
  - The module reads the engine itself for O(docker_host) forms C(unix://) and C(tcp://); only other forms
    (C(ssh://), C(https://)) need the Docker SDK listed in the requirements.
  - Frames between two ports of one bridge are traced in the bridge layer too (the run's own C(bridge) table,
    or ebtables log rules on iptables-legacy), so a flow on one bridge shows its path whether or not
    br_netfilter hands the frames to iptables.
  - On the iptables-nft back end the trace also sees native nftables tables (firewalld's); on
    iptables-legacy it does not, so a probe the trace shows accepted but that got no answer is
    reported with verdict C(unknown) and a warning naming those tables.
seealso:
  - module: dockernet.packetflow.packetflow_scenario
  - module: dockernet.packetflow.packetflow_cleanup
"""

EXAMPLES = r"""
- name: Why can't api reach db on 5432?
  dockernet.packetflow.packetflow_flow:
    src: api
    dst: db
    port: 5432
    expect:
      verdict: allowed

- name: Is the published port 8080 really closed to the outside?
  dockernet.packetflow.packetflow_flow:
    name: 8080 from outside
    src: outside
    dst: host
    port: 8080
    expect:
      verdict: denied
      at: filter:DOCKER-USER

- name: Watch what a client that retries on its own really does, for 30 s
  dockernet.packetflow.packetflow_flow:
    src: 192.0.2.10
    dst: web
    port: 443
    mode: observe
    duration: 30
"""

RETURN = r"""
flow:
  description: The flow's name.
  returned: always
  type: str
  sample: api → db tcp/5432
error:
  description: Message when the run failed or is partial, else null.
  returned: always
  type: str
run_id:
  description: Run id; tags the TRACE rules.
  returned: always
  type: str
  sample: pf-20261201-5d1c0e
started:
  description: Start time, UTC, ISO 8601.
  returned: always
  type: str
  sample: "2026-12-01T21:04:11Z"
seconds:
  description: Wall time of the run.
  returned: always
  type: float
  sample: 1.86
mode:
  description: probe or observe.
  returned: always
  type: str
src:
  description: The source as resolved (kind, name, id, address, network_mode, pid).
  returned: always
  type: dict
dst:
  description: The destination as resolved, with C(published) (the DNAT target) for a published port.
  returned: always
  type: dict
path:
  description: The interfaces captured and the legs traced.
  returned: always
  type: dict
traffic:
  description: The probe sent (or the wait), with its command and whether it got an answer.
  returned: always
  type: list
  elements: dict
packets:
  description: One journey per packet (see docs/result-contract.md).
  returned: success
  type: list
  elements: dict
expected:
  description: The expectation given, C({}) without one.
  returned: always
  type: dict
observed:
  description: >-
    Verdict (allowed, denied, unknown), fate, where decided, whose rule (docker, user, ufw, firewalld, policy),
    its text, and the path.
  returned: success
  type: dict
passed:
  description: Whether the observed verdict matches O(expect); null without an expectation.
  returned: success
  type: bool
mismatch:
  description: Expected and observed side by side.
  returned: when passed is false
  type: str
explanation:
  description: The outcome in one sentence, naming the deciding rule and whose it is.
  returned: success
  type: str
plan:
  description: In check mode, the TRACE rules, the captures and the probe a run would use.
  returned: check mode
  type: dict
host:
  description: Host facts the run depended on.
  returned: always
  type: dict
ruleset:
  description: The ruleset the trace refers to and the rules hit.
  returned: success
  type: dict
artifacts:
  description: Paths on the target of the pcaps, the raw trace and the ruleset.
  returned: success
  type: dict
stats:
  description: trace_events, captured, kernel_drops, unparsed_lines, seconds, lost.
  returned: success
  type: dict
warnings_list:
  description: Notes about the host and the trace.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import module_run
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.flow import run_flow


def main():
    """Ansible entry point: validate, trace the flow, check the policy."""
    module = AnsibleModule(
        argument_spec=module_run.run_options(
            name=dict(type="str"),
            src=dict(type="str", required=True),
            dst=dict(type="str", required=True),
            proto=dict(type="str", default="tcp", choices=["icmp", "tcp", "udp"]),
            port=dict(type="int"),
            mode=dict(type="str", default="probe", choices=["probe", "observe"]),
            count=dict(type="int", default=3),
            interval=dict(type="float", default=0.2),
            duration=dict(type="int", default=10),
            max_packets=dict(type="int", default=100),
            expect=dict(
                type="dict",
                options=dict(
                    verdict=dict(type="str", required=True, choices=["allowed", "denied"]),
                    at=dict(type="str"),
                ),
            ),
            fail_on_mismatch=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    module_run.finish(
        module,
        lambda docker_mod: run_flow(module.params, module.check_mode, docker_mod, module.get_bin_path),
        reader=True,
    )


if __name__ == "__main__":
    main()
