# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The trace reader's own line cap: a huge line is cut at MAX_LINE and never held whole in memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from analysis_support import fixture_path

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.line_reader import MAX_LINE, bounded_lines

MODULE = "ansible_collections.dockernet.packetflow.plugins.modules.packetflow_trace_log"
# Runs the module as Ansible does and reports its peak resident size (KiB) on stderr, whatever its exit.
PEAK = (
    "import resource, runpy, sys\n"
    "try:\n"
    "    runpy.run_module(%r, run_name='__main__')\n"
    "finally:\n"
    "    sys.stderr.write('peak=%%d\\n' %% resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n" % MODULE
)
HUGE = 64 * 1024 * 1024


def trace_with_huge_line(path, size):
    """The cross_network kernel trace with one line of size characters, without a newline in it, after line 3."""
    with open(fixture_path("legacy-cross_network.kmsg")) as handle:
        lines = handle.readlines()
    with open(path, "w") as out:
        out.writelines(lines[:3])
        for dummy in range(size // (1024 * 1024)):
            out.write("x" * (1024 * 1024))
        out.write("\n")
        out.writelines(lines[3:])
    return lines


def peak_kib(tmp_path, log):
    """The module's peak resident size reading log, and its result."""
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"path": str(log)}}))
    proc = subprocess.run([sys.executable, "-c", PEAK, str(args)], capture_output=True, text=True, check=False,
                          env=dict(os.environ))
    peak = [line for line in proc.stderr.splitlines() if line.startswith("peak=")]
    return int(peak[-1].split("=")[1]), json.loads(proc.stdout)


def test_reader_cuts_a_huge_line_at_the_cap_and_keeps_the_lines_after_it(tmp_path):
    log = tmp_path / "huge.log"
    lines = trace_with_huge_line(log, 8 * 1024 * 1024)
    with open(log) as handle:
        read = list(bounded_lines(handle))
    assert len(read) == len(lines) + 1
    assert read[3] == "x" * MAX_LINE
    assert read[:3] == lines[:3] and read[4:] == lines[3:]
    assert max(len(line) for line in read) <= MAX_LINE


def test_module_memory_does_not_grow_with_a_line_of_64_mib(tmp_path):
    small = tmp_path / "small.log"
    trace_with_huge_line(small, 0)
    huge = tmp_path / "huge.log"
    trace_with_huge_line(huge, HUGE)
    base, base_result = peak_kib(tmp_path, small)
    peak, result = peak_kib(tmp_path, huge)
    assert [p["fate"] for p in result["packets"]] == [p["fate"] for p in base_result["packets"]]
    # The empty line of the small file and the cut line of the huge one are both unparsed.
    assert result["counts"] == base_result["counts"]
    assert len(result["unparsed"][1]["text"]) < MAX_LINE
    # Holding the line whole would add at least its 64 MiB; the cap allows a few copies of 64 KiB.
    assert peak - base < 16 * 1024, "peak grew by %d KiB reading a 64 MiB line" % (peak - base)
