# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A bounded probe sent from the source's own network namespace with the host's tools: the host's
busybox ping for ICMP, the module's own Python interpreter's sockets for TCP and UDP. Nothing is run
from, or installed into, the container's image."""

from __future__ import annotations

import os
import subprocess
import sys

# Run as `python -c SOCKET_PROBE proto address port count interval timeout` inside the namespace.
SOCKET_PROBE = r"""
import socket, sys, time
proto, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
count, interval, timeout = int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
answered = 0
for number in range(1, count + 1):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    sock.settimeout(timeout)
    started = time.time()
    try:
        sock.connect((address, port))
        if proto == "udp":
            sock.send(b"packetflow probe\n")
            sock.recv(512)
        answered += 1
        outcome = "connected" if proto == "tcp" else "answered"
    except ConnectionRefusedError:
        outcome = "refused (TCP reset)" if proto == "tcp" else "refused (ICMP port unreachable)"
    except socket.timeout:
        outcome = "no answer within %ss" % timeout
    except OSError as exc:
        outcome = "failed: %s" % exc.strerror
    finally:
        sock.close()
    print("probe %d to %s:%d/%s: %s after %.3f s" % (number, address, port, proto, outcome, time.time() - started))
    if number < count:
        time.sleep(interval)
sys.exit(0 if answered else 1)
"""


def argv(item, count, interval, timeout):
    """The probe command of one traffic item {to, proto, port, prefix}."""
    if item["proto"] == "icmp":
        deadline = int(count * interval + timeout + 0.999)
        probe = ["busybox", "ping", "-c", str(count), "-i", str(interval), "-W", str(timeout), "-w", str(deadline)]
        return item["prefix"] + probe + [item["to"]]
    return item["prefix"] + [
        sys.executable,
        "-I",  # isolated, and without site: the probe needs the standard library only, and starts faster
        "-S",
        "-c",
        SOCKET_PROBE,
        item["proto"],
        item["to"],
        str(item["port"]),
        str(count),
        str(interval),
        str(timeout),
    ]


def describe(item, count, interval, timeout):
    """The probe in words, as check mode shows it."""
    what = "%s:%s/%s" % (item["to"], item["port"], item["proto"]) if item["port"] else "%s (icmp)" % item["to"]
    return "%d probe(s) to %s from %s, %s s apart, each waiting at most %s s" % (
        count,
        what,
        item["from"],
        interval,
        timeout,
    )


def send(item, count, interval, timeout, env=None):
    """Send the probe; fill in the item's command, ok and output."""
    command = argv(item, count, interval, timeout)
    shown = [arg if arg != SOCKET_PROBE else "<socket probe>" for arg in command]
    item["command"] = " ".join(shown)
    limit = count * (interval + timeout) + 5
    try:
        proc = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=limit,
            check=False,
            env=dict(os.environ, **env) if env else None,
        )
        item["ok"] = proc.returncode == 0
        item["output"] = proc.stdout.decode("utf-8", "replace")[-800:]
    except subprocess.TimeoutExpired:
        item["ok"], item["output"] = False, "the probe did not end within %s s and was stopped" % limit
    # Anything that came back, a TCP reset or an ICMP error included, proves the far end was reached.
    item["answered"] = item["ok"] or ": refused" in item["output"]
