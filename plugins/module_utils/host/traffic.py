# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bounded probe traffic with the host's busybox, inside the namespace a traffic item names."""

from __future__ import annotations

import os
import subprocess

HTTP_REQUEST = b"GET / HTTP/1.0\r\n\r\n"


def send(item, count, timeout, env=None):
    """Send one traffic item {to, proto, port, prefix}; fill in its command, ok and output. IPv6 addresses are
    pinged with ping -6; busybox nc takes them as they are."""
    if item["proto"] == "icmp":
        six = ["-6"] if ":" in item["to"] else []
        argv = ["busybox", "ping"] + six + ["-c", str(count), "-W", "1", "-w", str(min(timeout, count + 1)), item["to"]]
        data = None
    else:
        argv = ["busybox", "nc", "-w", "2", item["to"], str(item["port"])]
        data = HTTP_REQUEST
    item["command"] = " ".join(item["prefix"] + argv)
    try:
        proc = subprocess.run(
            item["prefix"] + argv,
            input=data,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
            env=dict(os.environ, **env) if env else None,
        )
        out = proc.stdout.decode("utf-8", "replace")
        item["ok"] = proc.returncode == 0 if data is None else "HTTP/" in out
    except subprocess.TimeoutExpired:
        out, item["ok"] = "timed out after %ss" % timeout, False
    item["output"] = out[-500:]
