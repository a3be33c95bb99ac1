# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The line reader of trace logs on the target: the file checked first, then its lines cut at a bound,
so that no line fills memory."""

from __future__ import annotations

import os

MAX_LINE = 65536
BINARY_PROBE = 4096


def check_readable(path, what):
    """Error message when path is not a readable regular file, else None."""
    if not os.path.exists(path):
        return "%s %s does not exist" % (what, path)
    if os.path.isdir(path):
        return "%s %s is a directory, not a file" % (what, path)
    if not os.access(path, os.R_OK):
        return "%s %s is not readable (permission denied)" % (what, path)
    return None


def looks_binary(path):
    """True when the start of the file holds NUL bytes (a pcap or garbage, not a log)."""
    with open(path, "rb") as handle:
        return b"\0" in handle.read(BINARY_PROBE)


def bounded_lines(handle, limit=MAX_LINE):
    """Lines of a text file, each cut at limit characters (the rest of a long line is dropped),
    so a file without newlines cannot fill memory."""
    while True:
        line = handle.readline(limit)
        if not line:
            return
        if len(line) == limit and not line.endswith("\n"):
            rest = line
            while rest and not rest.endswith("\n"):
                rest = handle.readline(limit)
        yield line
