#!/usr/bin/python
# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: packetflow_log_probe
short_description: Prove that netfilter's kernel log lines reach a log file
version_added: 0.1.0
description:
  - Makes the kernel write one real netfilter log line and waits until it appears in O(path).
  - Adds a table of its own to nftables whose only rule logs one UDP datagram sent to
    127.0.0.1 port 9, sends that datagram, and deletes the table again whatever happens.
    Nothing leaves the host and no existing rule is touched.
  - This checks the whole chain TRACE depends on, the IPv4 kernel logger bound to
    C(net.netfilter.nf_log.2) and syslog routing C(kern.*) to the file. A line written to
    C(/dev/kmsg) from user space cannot prove it, since the kernel files such lines under
    the user facility and rsyslog's imklog drops them.
  - When the line does not arrive, the error says whether the kernel logged it at all
    (seen by C(dmesg)), so the fault is either the logger binding or the syslog routing.
requirements:
  - nft (the nftables package)
  - root
extends_documentation_fragment:
  - dockernet.packetflow.attributes
  - dockernet.packetflow.attributes.LINUX
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is probed and RV(found) is not returned.
  diff_mode:
    support: none
options:
  path:
    description: The log file the line must reach.
    type: path
    required: true
  timeout:
    description: Seconds to wait for the line.
    type: int
    default: 10
  prefix:
    description: Start of the log prefix; a random token is added to it.
    type: str
    default: packetflow-probe
"""

EXAMPLES = r"""
- name: Check that TRACE lines will reach /var/log/iptables.log
  dockernet.packetflow.packetflow_log_probe:
    path: /var/log/iptables.log
    timeout: 10
"""

RETURN = r"""
found:
  description: Whether the line reached O(path) in time (the module fails when it did not).
  returned: success and not check mode
  type: bool
  sample: true
line:
  description: The log line as it appeared in O(path).
  returned: success and not check mode
  type: str
  sample: >-
    2026-11-25T18:55:21.292049+00:00 vm kernel: packetflow-probe:3f2a9c1b7d4e IN= OUT=lo
    SRC=127.0.0.1 DST=127.0.0.1 ...
seconds:
  description: How long the line took to arrive.
  returned: success and not check mode
  type: float
  sample: 0.41
"""

import os
import socket
import time
import uuid

from ansible.module_utils.basic import AnsibleModule

PROBE_PORT = 9


def probe_ruleset(table, prefix):
    """nft script for a table that logs the probe datagram only."""
    return (
        "table ip %s {\n"
        "  chain output {\n"
        "    type filter hook output priority -300; policy accept;\n"
        '    ip daddr 127.0.0.1 udp dport %d log prefix "%s "\n'
        "  }\n"
        "}\n" % (table, PROBE_PORT, prefix)
    )


def file_size(path):
    """Size of path, 0 when it does not exist yet."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def find_line(path, offset, needle):
    """The first line at or after offset that contains needle, or None."""
    try:
        with open(path, "rb") as handle:
            if file_size(path) < offset:
                offset = 0  # rotated meanwhile
            handle.seek(offset)
            for raw in handle:
                if needle in raw:
                    return raw.decode("utf-8", "replace").rstrip("\n")
    except OSError:
        return None
    return None


def send_datagram():
    """One UDP datagram to the discard port on loopback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.sendto(b"packetflow-probe", ("127.0.0.1", PROBE_PORT))
    finally:
        sock.close()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            timeout=dict(type="int", default=10),
            prefix=dict(type="str", default="packetflow-probe"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    if module.check_mode:
        module.exit_json(changed=False, msg="check mode: %s was not probed" % path)
    if os.geteuid() != 0:
        module.fail_json(msg="packetflow_log_probe needs root to add its nftables table: use become: true")
    nft = module.get_bin_path("nft")
    if nft is None:
        module.fail_json(msg="nft is not installed: install the nftables package (dockernet.packetflow.tcpdump does)")

    token = uuid.uuid4().hex[:12]
    table = "packetflow_probe_" + token
    needle = ("%s:%s" % (module.params["prefix"], token)).encode()
    offset = file_size(path)
    started = time.time()
    rc, out, err = module.run_command([nft, "-f", "-"], data=probe_ruleset(table, needle.decode()))
    if rc != 0:
        module.fail_json(msg="could not add the probe table to nftables: %s" % err.strip(), rc=rc)
    try:
        send_datagram()
        line = None
        while line is None and time.time() - started < module.params["timeout"]:
            time.sleep(0.2)
            line = find_line(path, offset, needle)
    finally:
        rc, out, err = module.run_command([nft, "delete", "table", "ip", table])
        if rc != 0:
            module.fail_json(
                msg="could not delete the probe table ip %s: %s; delete it with 'nft delete table ip %s'"
                % (table, err.strip(), table)
            )

    if line is None:
        rc, out, err = module.run_command(["dmesg"])
        if rc == 0 and needle.decode() in out:
            cause = (
                "the kernel logged it (dmesg shows it), so syslog does not route kern.* to %s: "
                "check rsyslog runs and its drop-in (dockernet.packetflow.rsyslog_kern)" % path
            )
        else:
            cause = (
                "the kernel did not log it: bind the IPv4 logger, net.netfilter.nf_log.2=nf_log_ipv4 "
                "(dockernet.packetflow.nf_log)"
            )
        module.fail_json(
            msg="no netfilter log line reached %s within %d s: %s" % (path, module.params["timeout"], cause),
            found=False,
        )
    module.exit_json(changed=False, found=True, line=line, seconds=round(time.time() - started, 3))


if __name__ == "__main__":
    main()
