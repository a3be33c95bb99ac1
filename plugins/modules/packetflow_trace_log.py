#!/usr/bin/python
# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: packetflow_trace_log
short_description: Show the path of every packet in an existing netfilter trace log
version_added: 0.1.0
description:
  - Reads a trace log that already exists on the target and returns one journey per packet, the
    netfilter tables, chains and rules it crossed, with the rule text, the NAT rewrites and its fate
    (C(delivered), C(dropped) or C(unknown)).
  - "Formats: iptables-legacy C(TRACE:) lines from the kernel log (rsyslog files in RFC 3339 or
    traditional CentOS 7 style, C(journalctl -k -o short-iso), C(dmesg), raw C(/dev/kmsg) records),
    C(xtables-monitor --trace) output (iptables-nft) and C(nft monitor trace) output (nftables)."
  - The file is streamed, so memory stays flat on large logs; the packets returned are capped by
    O(max_packets).
  - Every line that holds no trace event is returned in RV(unparsed) with its line number and the
    reason in plain words (the first 1000; RV(counts.unparsed) counts them all). A line with a field
    that does not hold what its name says is unparsed, never half read. With O(flow), lines that
    cannot concern the flow are skipped unparsed and counted in RV(counts.filtered).
  - "Reads the forms real logs carry: leading whitespace before the syslog prefix, xtables-monitor fields
    printed glued (C(ID=43007SPORT=80)), nft packet lines with elided fields, C(icmpv6 type), ebtables
    C(TRACE: eb:<table>:<chain>) lines as bridge hops; and checks every field against its type."
  - Warns when more than a tenth of the lines that look like trace lines cannot be read.
  - A ruleset is detected among C(iptables-save), C(nft -j list ruleset), C(iptables -S),
    C(iptables -L -n -v --line-numbers) and C(nft list ruleset) text. C(iptables -S) and C(-L) do not name
    their table - paste the command line before each table's output (C(# iptables -t nat -S)), else a table
    that rewrites is taken for nat and any other for filter.
  - Where no ruleset names a verdict, it is inferred from the trace alone where the trace proves it
    (the next rule of the chain traced, another chain or hook reached, Docker's fixed rules, a reply
    traced), and marked C(inferred) with the reason.
  - Read only, but for the file O(dest) when given.
options:
  path:
    description: The trace log to read.
    type: path
    required: true
  format:
    description: Format of the log; C(auto) detects it from the first lines.
    type: str
    default: auto
    choices: [auto, legacy, xtables-monitor, nft-monitor]
  ruleset_path:
    description:
      - A ruleset dump taken when the trace was recorded, to give every hop its rule text and target.
      - C(iptables-save) output (either back end), C(nft -j list ruleset), or the forms people paste
        C(iptables -S), C(iptables -L -n -v --line-numbers) (one or more tables, each headed by a
        C(# ... -t TABLE ...) line or guessed from its chains) and C(nft list ruleset) (text).
      - Without it, legacy traces have rule numbers but no rule text, and verdicts are only those
        the trace itself proves (marked C(inferred)).
    type: path
  ruleset_format:
    description:
      - Format of O(ruleset_path); C(auto) detects it from the text (JSON as C(nft-json)).
      - C(iptables-S) is C(iptables -S), C(iptables-L) is C(iptables -L -n -v --line-numbers),
        C(nft-text) is C(nft list ruleset).
    type: str
    default: auto
    choices: [auto, iptables-save, nft-json, iptables-S, iptables-L, nft-text]
  pcaps:
    description:
      - Captures made while tracing (pcap or pcapng as C(tcpdump -w) writes them, Linux cooked
        captures from C(-i any) included).
      - A dict of interface name to file, or a list of files (the interface is then taken from the
        file name, C(NAME.IFACE.pcap); C(any) for C(-i any) captures).
    type: raw
  flow:
    description:
      - Keep only the packets of one flow, in either direction; NAT rewrites of a matching packet
        are followed.
      - Useful for a log shared by several hosts or network namespaces.
    type: dict
    suboptions:
      src:
        description: One end's IPv4 address.
        type: str
      dst:
        description: The other end's IPv4 address.
        type: str
      proto:
        description: Protocol.
        type: str
        choices: [tcp, udp, icmp, TCP, UDP, ICMP]
      sport:
        description: Source port (TCP/UDP).
        type: int
      dport:
        description: Destination port (TCP/UDP).
        type: int
  max_packets:
    description: Return at most this many packets (all are counted in RV(counts.packets)).
    type: int
    default: 10000
  dest:
    description:
      - Write the full journeys to this file on the target, as JSON holding what the task returns without
        it (RV(format), the whole RV(packets), RV(unparsed), RV(counts), RV(warnings)), and return only each
        packet's outcome in RV(packets).
      - For large logs. Every journey in the task result costs about 16 KB of JSON a packet, which Ansible copies
        several times; with O(dest) the journeys wait compressed until written one at a time, so memory
        stays low whatever O(max_packets).
      - For a report of every hop, fetch the file and give its content
        (C(lookup('file', ...) | from_json)) to O(dockernet.packetflow.packetflow_report#module:results).
      - The file is replaced atomically, and only when its content changes.
    type: path
extends_documentation_fragment:
  - dockernet.packetflow.attributes
  - dockernet.packetflow.attributes.LINUX
attributes:
  check_mode:
    support: full
    details:
      - Reads the log in check mode too; with O(dest), reports whether the file would change and leaves it as it is.
  diff_mode:
    support: none
notes:
  - Packets are matched across hooks by their headers (IP id, protocol, TCP or ICMP sequence), not
    by the nf_tables trace id, which changes mid-path and is reused.
  - For rule numbers with C(nft monitor trace), record it with C(nft -a monitor trace) (rule handles)
    and pass the C(nft -j list ruleset) dump.
seealso:
  - module: dockernet.packetflow.packetflow_scenario
"""

EXAMPLES = r"""
- name: Paths of every packet in a CentOS 7 iptables trace log
  dockernet.packetflow.packetflow_trace_log:
    path: /var/log/iptables.log
    ruleset_path: /root/iptables-save.txt
  register: trace

- name: The same log with the rules pasted as "iptables -S" output (the format is detected)
  dockernet.packetflow.packetflow_trace_log:
    path: /var/log/iptables.log
    ruleset_path: /root/iptables-S.txt
  register: trace_pasted

- name: Where was each packet dropped?
  ansible.builtin.debug:
    msg: >-
      {{ item.summary }}: {{ item.fate }} at
      {{ item.fate_at.table | default('?') }}:{{ item.fate_at.chain | default('?') }}
  loop: "{{ trace.packets }}"
  loop_control:
    label: "{{ item.id }}"

- name: One flow out of an xtables-monitor capture, with the pcaps taken at the same time
  dockernet.packetflow.packetflow_trace_log:
    path: /tmp/trace/xtables-monitor.txt
    format: xtables-monitor
    ruleset_path: /tmp/trace/ruleset.json
    ruleset_format: nft-json
    pcaps:
      docker0: /tmp/trace/docker0.pcap
      any: /tmp/trace/any.pcap
    flow:
      src: 198.51.100.2
      proto: tcp
      dport: 8080
"""

RETURN = r"""
format:
  description: The log format, as detected or given.
  returned: success
  type: str
  sample: legacy
packets:
  description:
    - One journey per packet, in order of first sighting (docs/result-contract.md, "Packet").
    - Each has id, summary, direction (request or reply), flow, hops, captures, journey, nat, fate,
      fate_at and flags; C(inferred) (fate and reason) when the fate rests on an inferred verdict, and
      C(fate_reason) in plain words when the fate is C(unknown).
      - With O(dest), each packet's outcome only, the rest being in the file - id, summary, direction, fate,
        fate_at, flags and where present host, inferred and fate_reason.
    - "Each hop has table, chain, type (rule, return or policy), rule, and where known verdict,
      rule_text, handle, ts, in, out, src, dst and the line number of the log; C(inferred) (verdict
      and reason) when its verdict was inferred."
  returned: success
  type: list
  elements: dict
  sample:
    - id: 1
      summary: "172.30.1.2 > 172.30.2.2 ICMP echo-request id 20 seq 0 (ip id 4711)"
      direction: request
      fate: dropped
      fate_at: {table: filter, chain: DOCKER-ISOLATION-STAGE-2, type: rule, rule: 1,
                rule_text: "-A DOCKER-ISOLATION-STAGE-2 -o br-be57f03b155c -j DROP"}
      hops:
        - {table: raw, chain: PREROUTING, type: policy, rule: 4, verdict: ACCEPT}
        - {table: filter, chain: DOCKER-ISOLATION-STAGE-2, type: rule, rule: 1, verdict: DROP,
           rule_text: "-A DOCKER-ISOLATION-STAGE-2 -o br-be57f03b155c -j DROP"}
      nat: []
      flags: []
dest:
  description: The file the full journeys were written to (O(dest)).
  returned: when O(dest) is set
  type: str
  sample: /var/tmp/trace-journeys.json
unparsed:
  description: Lines that hold no trace event, with their line number and why (at most 1000).
  returned: success
  type: list
  elements: dict
  sample:
    - line: 1
      text: "2026-11-25T19:00:01.000000+00:00 vm kernel: [  1.000000] docker0: port 1 entered forwarding state"
      reason: not a TRACE line
warnings:
  description:
    - Plain-words warnings about the reading of the trace, also given as module warnings.
    - Today one kind, when more than 10% of the lines that look like trace lines of the detected format could
      not be read (each is in RV(unparsed) with its reason), so packets and verdicts may be incomplete.
  returned: success
  type: list
  elements: str
  sample: ["12 of 40 trace lines (30%) could not be read and were left out (see unparsed, with the reason for each)"]
counts:
  description: What was read and found.
  returned: success
  type: dict
  sample: {lines: 120, events: 112, packets: 10, unparsed: 8, captures: 0}
  contains:
    lines:
      description: Lines read.
      type: int
    events:
      description: Trace events parsed (hops).
      type: int
    packets:
      description: Packets found, also those past O(max_packets).
      type: int
    unparsed:
      description: Lines that hold no trace event, all of them (RV(unparsed) lists the first 1000).
      type: int
    captures:
      description: Captured IPv4 packets read from O(pcaps).
      type: int
    filtered:
      description: With O(flow), lines skipped as not concerning the flow.
      type: int
      returned: when O(flow) is set
"""

import filecmp
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journey_file import write_journeys
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import collect_journeys
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.line_reader import (
    BINARY_PROBE,
    bounded_lines,
    check_readable,
    looks_binary,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.pcap import PcapError
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.ruleset import RULESET_FORMATS


def read_ruleset(module):
    path = module.params["ruleset_path"]
    if not path:
        return None
    problem = check_readable(path, "ruleset")
    if problem:
        module.fail_json(msg=problem)
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    if not text.strip():
        module.fail_json(msg="ruleset %s is empty" % path)
    kind = module.params["ruleset_format"]
    return {"format": None if kind == "auto" else kind, "text": text}


def read_pcaps(module):
    pcaps = module.params["pcaps"]
    if not pcaps:
        return None
    if not isinstance(pcaps, (dict, list)):
        module.fail_json(msg="pcaps must be a dict {interface: file} or a list of files")
    if isinstance(pcaps, dict):
        pcaps = dict((str(iface), str(path)) for iface, path in pcaps.items())
        paths = list(pcaps.values())
    else:
        pcaps = paths = [str(path) for path in pcaps]
    for path in paths:
        problem = check_readable(path, "capture")
        if problem:
            module.fail_json(msg=problem)
    return pcaps


def check_dest(module):
    """The dest path, checked before anything is read or written; None when not given."""
    dest = module.params["dest"]
    if dest is None:
        return None
    folder = os.path.dirname(os.path.abspath(dest))
    if os.path.isdir(dest):
        module.fail_json(msg="dest %s is a directory: give the path of a file to write the journeys to" % dest)
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        module.fail_json(msg="dest %s: its folder %s does not exist or is not writable" % (dest, folder))
    return dest


def refuse_empty(module, path, result, flow):
    """Fail when a log read whole holds no trace event."""
    counts = result["counts"]
    if counts["events"] == 0 and flow is None:
        module.fail_json(
            msg="no trace events in %s (%d lines, format %s): is it a TRACE log?"
            % (path, counts["lines"], result["format"]),
            **result,
        )


def analyse(module, lines, dest, options):
    """(collect_journeys' result, changed); with dest, the journeys are written to it (replaced only
    when their text changes, never in check mode) and the result holds the packets' outcomes."""
    path = module.params["path"]
    if dest is None:
        result = collect_journeys(lines, **options)
        refuse_empty(module, path, result, options["flow"])
        return result, False
    descriptor, temporary = tempfile.mkstemp(prefix=".packetflow-", dir=os.path.dirname(os.path.abspath(dest)))
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            result = write_journeys(out, lines, **options)
        refuse_empty(module, path, result, options["flow"])
        changed = not (os.path.isfile(dest) and filecmp.cmp(temporary, dest, shallow=False))
        if changed and not module.check_mode:
            module.atomic_move(temporary, dest)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    result["dest"] = dest
    return result, changed


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            format=dict(type="str", default="auto", choices=["auto", "legacy", "xtables-monitor", "nft-monitor"]),
            ruleset_path=dict(type="path"),
            ruleset_format=dict(type="str", default="auto", choices=["auto"] + list(RULESET_FORMATS)),
            pcaps=dict(type="raw"),
            flow=dict(
                type="dict",
                options=dict(
                    src=dict(type="str"),
                    dst=dict(type="str"),
                    proto=dict(type="str", choices=["tcp", "udp", "icmp", "TCP", "UDP", "ICMP"]),
                    sport=dict(type="int"),
                    dport=dict(type="int"),
                ),
            ),
            max_packets=dict(type="int", default=10000),
            dest=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    problem = check_readable(path, "trace log")
    if problem:
        module.fail_json(msg=problem)
    if os.path.getsize(path) == 0:
        module.fail_json(msg="trace log %s is empty: nothing to analyse" % path)
    if looks_binary(path):
        module.fail_json(
            msg="trace log %s is binary (NUL bytes in its first %d bytes), not a text trace log" % (path, BINARY_PROBE)
        )
    dest = check_dest(module)
    ruleset = read_ruleset(module)
    pcaps = read_pcaps(module)
    flow = module.params["flow"]
    if flow is not None:
        flow = dict((key, value) for key, value in flow.items() if value is not None) or None
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            options = dict(
                trace_format=module.params["format"],
                ruleset=ruleset,
                pcaps=pcaps,
                flow=flow,
                max_packets=module.params["max_packets"],
            )
            result, changed = analyse(module, bounded_lines(handle), dest, options)
    except (ValueError, PcapError) as exc:
        module.fail_json(msg="cannot analyse %s: %s" % (path, exc))
    except OSError as exc:
        module.fail_json(msg="cannot read %s%s: %s" % (path, " or write %s" % dest if dest else "", exc))
    counts = result["counts"]
    if counts["packets"] > len(result["packets"]):
        module.warn(
            "%d packets found, only the first %d returned (max_packets)" % (counts["packets"], len(result["packets"]))
        )
    for warning in result["warnings"]:
        module.warn(warning)
    if counts["unparsed"] > len(result["unparsed"]):
        module.warn("%d lines not parsed, only the first %d listed" % (counts["unparsed"], len(result["unparsed"])))
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
