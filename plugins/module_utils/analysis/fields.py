# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check a packet's fields against their types: a line whose fields fail is unparsed, never a packet."""

from __future__ import annotations

import functools
import ipaddress
import re


class NotTraceLine(ValueError):
    """The line is not of the trace format at all (another kernel message, a blank line)."""


# Numeric fields and their largest value.
_LIMITS = (
    ("len", 65535),
    ("ttl", 255),
    ("ip_id", 65535),
    ("sport", 65535),
    ("dport", 65535),
    ("tcp_seq", 4294967295),
    ("tcp_ack", 4294967295),
    ("icmp_type", 255),
    ("icmp_code", 255),
    ("icmp_id", 65535),
    ("icmp_seq", 65535),
)
# Those of an IPv6 packet, checked when it has a hop limit.
_IPV6_LIMITS = (("hop_limit", 255), ("flow_label", 1048575))
_ADDRESSES: dict[str, bool] = {}
_KEY_VALUE = re.compile(r"([A-Z]+)=(\S*)")


def is_address(text):
    """True when text is an IPv4 or IPv6 address (remembered per text)."""
    known = _ADDRESSES.get(text)
    if known is None:
        if len(_ADDRESSES) > 8192:
            _ADDRESSES.clear()
        try:
            ipaddress.ip_address(text)
            known = True
        except ValueError:
            known = False
        _ADDRESSES[text] = known
    return known


@functools.lru_cache(maxsize=8192)
def ipv6_text(text):
    """An IPv6 address in its short form (nf_log writes all 32 digits); other text as it is."""
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        return text


def check_fields(fields):
    """Raise ValueError naming the first field that does not hold a value of its type."""
    for side in ("src", "dst"):
        value = fields.get(side)
        if not isinstance(value, str) or not is_address(value):
            raise ValueError("%s=%r is not an IP address" % (side.upper(), value))
    for key, top in _LIMITS + _IPV6_LIMITS if "hop_limit" in fields else _LIMITS:
        value = fields.get(key)
        if value is not None and not 0 <= value <= top:
            raise ValueError("%s=%r is out of range (0-%d)" % (key, value, top))


def number(value, key):
    """Decimal (or 0x hex) text to int; None when missing; ValueError naming the key when unreadable."""
    if value is None or value == "":
        return None
    try:
        return int(value, 16) if value.startswith("0x") else int(value)
    except ValueError:
        raise ValueError("%s=%r is not a number" % (key, value)) from None


def key_values(text):
    """KEY=value pairs of a log line's text; ValueError for a value that runs into the next key (glued, cut)."""
    found = {}
    for key, value in _KEY_VALUE.findall(text):
        if "=" in value:
            raise ValueError("field %s=%s runs into the next field" % (key, value[:40]))
        found[key] = value
    return found
