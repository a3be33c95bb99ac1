# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read ebtables log lines (``--log-ip --log-ip6 --log-prefix "TRACE: eb:<table>:<chain>"``), which
the bridge nf_log writes to the kernel log among the iptables TRACE lines."""

from __future__ import annotations

import re

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.fields import (
    check_fields,
    ipv6_text,
    key_values,
    number,
)
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import IP_PROTOCOLS

_PROTO = re.compile(r"\b(?:IP proto=|Next Header=)(\d+)")
_MACS = re.compile(r"MAC source = (?P<src>\S+) MAC dest = (?P<dst>\S+) proto = (?P<type>0x[0-9a-fA-F]+)")


def bridge_event(prefix, header, body):
    """A bridge hop from one line: the bridge ports, the Ethernet header and the IP or IPv6 header.

    prefix is (host, ts, uptime, stamp) of the line's wrapper, header "eb:<table>:<chain>", body the
    rest. Raises ValueError for a bad header or a frame logged without an IP header (ARP).
    """
    parts = header.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ValueError("bad ebtables TRACE header %r" % header[:60])
    fields = key_values(body.replace(",", " ").replace(" = ", "="))
    macs = _MACS.search(body)
    if "SRC" not in fields:
        ethertype = macs["type"] if macs else "not logged"
        raise ValueError("ebtables line of a frame without an IP header (ethertype %s)" % ethertype)
    found = _PROTO.search(body)
    proto = number(found.group(1), "IP proto") if found else None
    ipv6 = " IPv6 SRC=" in body
    host, ts, uptime, stamp = prefix
    event = {
        "host": host,
        "ts": ts,
        "uptime": uptime,
        "stamp": stamp,
        "table": parts[1],
        "chain": parts[2],
        "type": "rule",
        "rule": None,
        "family": "bridge",
        "in": fields.get("IN", ""),
        "out": fields.get("OUT", ""),
        "src": ipv6_text(fields["SRC"]) if ipv6 else fields["SRC"],
        "dst": ipv6_text(fields["DST"]) if ipv6 and "DST" in fields else fields.get("DST"),
        "proto": IP_PROTOCOLS.get(proto, proto) if proto is not None else None,
        "ip_id": None,
        "len": None,
        "ttl": None,
        "df": False,
    }
    if macs:
        event.update(mac_src=macs["src"], mac_dst=macs["dst"], ethertype=macs["type"])
    if "SPT" in fields:
        event["sport"], event["dport"] = number(fields["SPT"], "SPT"), number(fields.get("DPT"), "DPT")
    check_fields(event)
    return event
