# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of the trace analysis core (not a timed test).

Generates 1M-line trace files (legacy kernel log and xtables-monitor) from the
real fixtures, one TCP connection per block with its own client address and
port, then measures in child processes, one per figure:
  - reference: one regex with a group for each field of an event, and its dict, per line:
    the least a parser can do (no conversion, no pairing): lines/s
  - parse only (lines to events, through the format's parser): lines/s, peak RSS
  - full parse (events grouped into packets, NAT and fate; each packet dropped once built;
    the garbage collector paused, as collect_journeys pauses it)
  - flow-filtered scan (1% of lines concern the flow): seconds, peak RSS
  - grep -c of the flow's address on the same file: seconds
  - the module path users run: packetflow_trace_log as Ansible runs it (its bounded line reader,
    collect_journeys with max_packets 10000, the JSON result on stdout): seconds, peak RSS; once with
    every journey in the result, once with dest (the journeys written to a file, their outcomes in
    the result)
Times are CPU seconds of the measured work (the machine may be shared: CPU time is what
other processes disturb least). Writes bench/results/analysis.json and prints a Markdown
table with the ratios taken in this one run: parse/reference (speed), journeys/parse and
flow/grep (time).

  PYTHONPATH=.venv/collections .venv/bin/python bench/analysis/bench_trace.py [--lines N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "tests", "unit", "fixtures", "traces")
RESULTS = os.path.join(REPO, "bench", "results")
TEMPLATES = {
    "legacy": "legacy-external_to_published.kern.log",
    "xtables-monitor": "nft-external_to_published.trace",
}
CLIENT = "198.51.100.2"
CLIENTS = 100
FLOW_CLIENT_INDEX = 7
# The reference: the fields an event has, in one regex whose groups make the dict.
REFERENCE = {
    "legacy": r"(?P<stamp>\S+) (?P<host>\S+) kernel: (?:\[\s*(?P<uptime>[\d.]+)\] )?TRACE: (?P<table>[a-z]+):"
    r"(?P<chain>[^: ]+):(?P<type>\w+):(?P<num>\d+) IN=(?P<in>\S*) OUT=(?P<out>\S*) (?:PHYSIN=(?P<physin>\S+) )?"
    r"(?:PHYSOUT=(?P<physout>\S+) )?(?:MAC=(?P<mac>\S*) )?SRC=(?P<src>\S+) DST=(?P<dst>\S+) LEN=(?P<len>\d+) "
    r"TOS=\S+ PREC=\S+ TTL=(?P<ttl>\d+) ID=(?P<id>\d+)(?P<ipflags>[^P]*)PROTO=(?P<proto>\S+)"
    r"(?: SPT=(?P<sport>\d+) DPT=(?P<dport>\d+))?(?: SEQ=(?P<seq>\d+) ACK=(?P<ack>\d+))?"
    r"(?: WINDOW=\d+ RES=\S+ (?P<flags>[A-Z ]*)URGP)?",
    "xtables-monitor": r"\s*(?:PACKET: \d+ (?P<packet_id>[0-9a-f]+) IN=(?P<in>\S*) (?:OUT=(?P<out>\S*) )?.*?"
    r"SRC=(?P<src>\S+) DST=(?P<dst>\S+) LEN=(?P<len>\d+) .*?TTL=(?P<ttl>\d+) ID=(?P<ip_id>\d+)"
    r"(?:.*? SPORT=(?P<sport>\d+) DPORT=(?P<dport>\d+) (?P<flags>[A-Z ]*))?"
    r"|TRACE: \d+ (?P<trace_id>[0-9a-f]+) (?P<table>[a-z]+):(?P<chain>[^: ]+):(?P<type>[a-z]+)"
    r"(?::(?P<handle>0x[0-9a-f]+))?(?::(?P<verdict>\S+))? +(?P<rule>.*))",
}


def client_address(index):
    return "198.51.%d.%d" % (100 + index // 250, index % 250 + 2)


def generate(kind, path, lines_wanted):
    """Repeat the template connection with a new client address and port per block."""
    with open(os.path.join(FIXTURES, TEMPLATES[kind])) as handle:
        template = [line for line in handle if "TRACE: " in line or "PACKET: " in line]
    port = re.search(r"(?:SPT|SPORT)=(\d+)", "".join(template)).group(1)
    written = 0
    block = 0
    with open(path, "w") as out:
        while written < lines_wanted:
            client = client_address(block % CLIENTS)
            new_port = str(20000 + block % 40000)
            text = "".join(template).replace(CLIENT + " ", client + " ")
            text = re.sub(r"=%s\b" % port, "=" + new_port, text)
            text = re.sub(r" ID=(\d+)", lambda m: " ID=%d" % ((int(m.group(1)) + block) % 65536), text)
            chunk = text.splitlines(True)[:lines_wanted - written]
            out.writelines(chunk)
            written += len(chunk)
            block += 1
    return written


def measure(mode, kind, path):
    """Run in a child: parse the file, print seconds and counts as JSON.

    parse: lines to events only; full: events grouped into packets with NAT and
    fate (every packet built, then dropped); flow: full, keeping one client's flow.
    """
    from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.formats import PARSERS
    from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.grouping import JourneyBuilder
    from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import collector_paused
    started = time.process_time()
    if mode == "reference":
        pattern = re.compile(REFERENCE[kind])
        events = 0
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                match = pattern.match(line)
                events += match is not None and bool(match.groupdict())
        print(json.dumps({"seconds": time.process_time() - started, "events": events}))
        return
    if mode == "parse":
        events = 0
        feed = PARSERS[kind]().feed
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    events += len(feed(line, number))
                except ValueError:
                    pass
        print(json.dumps({"seconds": time.process_time() - started, "events": events}))
        return
    flow = {"src": client_address(FLOW_CLIENT_INDEX)} if mode == "flow" else None
    builder = JourneyBuilder(kind, None, flow)
    packets = 0
    with open(path, encoding="utf-8", errors="replace") as handle, collector_paused():
        for _packet in builder.run(handle):
            packets += 1
    seconds = time.process_time() - started
    print(json.dumps({"seconds": seconds, "packets": packets, "counts": builder.counts}))


def run_child(mode, kind, path):
    """Seconds, result and peak RSS (MB) of one measurement in a fresh process."""
    proc = subprocess.Popen([sys.executable, __file__, "--measure", mode, kind, path],
                            stdout=subprocess.PIPE, env=os.environ.copy())
    output = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.stdout.close()
    if status != 0:
        raise SystemExit("measurement %s %s failed" % (mode, kind))
    result = json.loads(output)
    result["peak_mb"] = round(usage.ru_maxrss / 1024.0, 1)
    return result


def module_run(path, dest=None, max_packets=10000):
    """CPU seconds, peak RSS (MB) and packets returned of packetflow_trace_log on the file (the journeys
    written to dest when given). Its JSON goes to a file that a separate child counts: read here, it
    would swell this process, and the RSS of every later child forked from it."""
    args, out = path + ".args.json", path + ".out.json"
    module_args = {"path": path, "max_packets": max_packets}
    if dest:
        module_args["dest"] = dest
    with open(args, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": module_args}, handle)
    module = "ansible_collections.dockernet.packetflow.plugins.modules.packetflow_trace_log"
    with open(out, "wb") as handle:
        proc = subprocess.Popen([sys.executable, "-m", module, args], stdout=handle, env=os.environ.copy())
        _pid, _status, usage = os.wait4(proc.pid, 0)
    count = "import json, sys; r = json.load(open(sys.argv[1])); print(-1 if r.get('failed') else len(r['packets']))"
    packets = int(subprocess.check_output([sys.executable, "-c", count, out]))
    os.remove(args)
    os.remove(out)
    if dest:
        os.remove(dest)
    if packets < 0:
        raise SystemExit("packetflow_trace_log failed on %s" % path)
    return usage.ru_utime + usage.ru_stime, round(usage.ru_maxrss / 1024.0, 1), packets


def grep_seconds(path, needle):
    """CPU seconds and count of grep -c on the file."""
    proc = subprocess.Popen(["grep", "-c", "-F", needle, path], stdout=subprocess.PIPE)
    output = proc.stdout.read()
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.stdout.close()
    return usage.ru_utime + usage.ru_stime, int(output or 0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1000000)
    parser.add_argument("--measure", nargs=3, metavar=("MODE", "KIND", "PATH"))
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    os.makedirs(RESULTS, exist_ok=True)
    # The generated files in a folder of this run's own: runs side by side must not share them.
    work = tempfile.mkdtemp(prefix="pf-bench-analysis-")
    rows = []
    for kind in TEMPLATES:
        path = os.path.join(work, "bench-%s.log" % kind)
        lines = generate(kind, path, args.lines)
        os.system("cat %s > /dev/null" % path)
        reference = run_child("reference", kind, path)
        parse = run_child("parse", kind, path)
        full = run_child("full", kind, path)
        flow = run_child("flow", kind, path)
        grep_s, grep_count = grep_seconds(path, client_address(FLOW_CLIENT_INDEX) + " ")
        module_s, module_mb, module_packets = module_run(path)
        dest_s, dest_mb, dest_packets = module_run(path, dest=path + ".journeys.json")
        rows.append({
            "format": kind, "lines": lines, "bytes": os.path.getsize(path),
            "reference_seconds": round(reference["seconds"], 3), "reference_events": reference["events"],
            "reference_lines_per_second": int(lines / reference["seconds"]),
            "parse_seconds": round(parse["seconds"], 3), "parse_events": parse["events"],
            "parse_vs_reference": round(reference["seconds"] / parse["seconds"], 2),
            "parse_lines_per_second": int(lines / parse["seconds"]), "parse_peak_mb": parse["peak_mb"],
            "full_seconds": round(full["seconds"], 3),
            "full_lines_per_second": int(lines / full["seconds"]),
            "full_packets": full["packets"], "full_peak_mb": full["peak_mb"],
            "full_vs_parse": round(full["seconds"] / parse["seconds"], 2),
            "flow_seconds": round(flow["seconds"], 3), "flow_packets": flow["packets"],
            "flow_parsed_lines": lines - flow["counts"].get("filtered", 0),
            "flow_peak_mb": flow["peak_mb"],
            "grep_seconds": round(grep_s, 3), "grep_count": grep_count,
            "flow_vs_grep": round(flow["seconds"] / grep_s, 1),
            "module_seconds": round(module_s, 3), "module_peak_mb": module_mb, "module_packets": module_packets,
            "module_dest_seconds": round(dest_s, 3), "module_dest_peak_mb": dest_mb, "module_dest_packets": dest_packets,
        })
        os.remove(path)
    os.rmdir(work)
    with open(os.path.join(RESULTS, "analysis.json"), "w") as handle:
        json.dump({"python": sys.version.split()[0], "cpu_count": os.cpu_count(), "rows": rows}, handle, indent=2)
    print("| format | lines | reference lines/s | parse lines/s (peak MB) | parse speed / reference "
          "| journeys lines/s (peak MB) | journeys time / parse | flow scan s (peak MB) | grep -c s "
          "| flow/grep | module s (peak MB, packets) | module with dest s (peak MB, packets) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| %(format)s | %(lines)d | %(reference_lines_per_second)d | %(parse_lines_per_second)d (%(parse_peak_mb)s) "
              "| %(parse_vs_reference)sx | %(full_lines_per_second)d (%(full_peak_mb)s) | %(full_vs_parse)sx "
              "| %(flow_seconds)s (%(flow_peak_mb)s) | %(grep_seconds)s | %(flow_vs_grep)sx "
              "| %(module_seconds)s (%(module_peak_mb)s, %(module_packets)d) "
              "| %(module_dest_seconds)s (%(module_dest_peak_mb)s, %(module_dest_packets)d) |" % row)


if __name__ == "__main__":
    main()
