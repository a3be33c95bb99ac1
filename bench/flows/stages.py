"""Where the module's time goes: run_flow in-process on the same flow as bench_flows.py, each stage
timed (wall) by wrapping the function that does it; the median of N runs per stage, and the import
time of the module in a fresh interpreter. Root; dockerd running; takes the engine lock unless
PF_ENGINE_LOCKED=1. Prints a table and writes bench/results/flows_stages.json.
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_flows as bench  # noqa: E402

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import (  # noqa: E402
    capture,
    commands,
    docker_api,
    flow,
    reaper,
    run,
    tracer,
)

SPENT: dict = collections.defaultdict(float)
STAGES = (  # (owner, attribute, label), in the order a run reaches them
    (flow, "preflight", "preflight: docker connect/ping, host facts, tools"),
    (flow, "resolve_endpoints", "resolve endpoints and routes"),
    (reaper.Reaper, "start", "reaper start (double fork)"),
    (run.Run, "__enter__", "run enter: lock, reaper, state file"),
    (flow.FlowWorkload, "captures", "discover interfaces (veths, routes)"),
    (capture, "spawn_all", "start tcpdumps"),
    (tracer.Tracer, "start_collector", "start xtables-monitor, wait for its socket"),
    (tracer.Tracer, "arm", "arm: nft lookup, iptables-restore, bridge table"),
    (capture, "wait_all", "wait until all tcpdumps listen (after arming)"),
    (flow.FlowWorkload, "send", "probe"),
    (tracer.Tracer, "ruleset", "ruleset: iptables-save + nft list chains"),
    (tracer.Tracer, "collect", "collect trace (wait quiet, stop monitor)"),
    (capture, "stop_all", "stop tcpdumps (collect and teardown)"),
    (tracer.Tracer, "disarm", "disarm: iptables-restore, nft list + delete, bridge"),
    (run.Run, "teardown", "teardown total"),
    (flow, "flow_verdict", "journeys, policy, narration"),
)


def timer(label, func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            SPENT[label] += time.perf_counter() - started

    return wrapper


def command_name(argv):
    """The tool a command runs and its action (nsenter prefixes dropped): 'iptables-nft -D', 'nft list'."""
    argv = [arg for arg in argv if not arg.startswith("--net=")]
    argv = argv[1:] if argv[0] == "nsenter" else argv
    action = next((arg for arg in argv[1:] if arg in ("-I", "-D", "list", "delete", "add") or " " in arg), "")
    return ("%s %s" % (os.path.basename(argv[0]), action.split(" ")[0])).strip()


def instrument():
    for owner, name, label in STAGES:
        setattr(owner, name, timer(label, getattr(owner, name)))
    original = commands.Runner.run

    def counted(self, argv, *args, **kwargs):
        label = "command %s" % command_name(argv)
        SPENT[label + " (count)"] += 1
        return timer(label, original)(self, argv, *args, **kwargs)

    commands.Runner.run = counted


def params(opts, workdir):
    args = dict(
        name=None,
        mode="probe",
        duration=10,
        max_packets=100,
        expect=None,
        fail_on_mismatch=True,
        run_id=None,
        docker_host=docker_api.DEFAULT_DOCKER_HOST,
    )
    args.update(bench.module_args(opts, workdir))
    return args


def import_seconds():
    """Wall seconds of a fresh interpreter importing the module (what every module run pays first)."""
    argv = [bench.PYTHON, "-c", "import ansible_collections.dockernet.packetflow.plugins.modules.packetflow_flow"]
    started = time.perf_counter()
    subprocess.run(argv, check=True, env=dict(os.environ, PYTHONPATH=bench.COLLECTIONS))
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--timeout", type=int, default=3)
    opts = parser.parse_args()
    if os.environ.get("PF_ENGINE_LOCKED") != "1":
        lock = open(os.environ.get("PF_ENGINE_LOCK", "/tmp/pf-engine.lock"), "a")
        fcntl.flock(lock, fcntl.LOCK_EX)
    instrument()
    per_run, totals, imports = [], [], [import_seconds() for dummy in range(opts.runs)]
    work = tempfile.mkdtemp(prefix="pf-bench-stages-")
    try:
        bench.setup()
        for dummy in range(opts.runs + 1):  # the first run warms caches and is not counted
            SPENT.clear()
            started = time.perf_counter()
            result = flow.run_flow(params(opts, work), False, docker_api.READER, shutil.which)
            totals.append(time.perf_counter() - started)
            if result.get("error") or not result["traffic"][0]["ok"]:
                raise RuntimeError("run failed: %s" % (result.get("error") or result["traffic"]))
            per_run.append(dict(SPENT))
    finally:
        bench.teardown()
        shutil.rmtree(work, ignore_errors=True)
        left = bench.leftovers()
        if left:
            print("LEFT BEHIND:\n  " + "\n  ".join(left), file=sys.stderr)
    per_run, totals = per_run[1:], totals[1:]
    labels = [label for dummy, dummy2, label in STAGES]
    labels += sorted({key for r in per_run for key in r if key.startswith("command")})
    median = {label: statistics.median(r.get(label, 0.0) for r in per_run) for label in labels}
    median["import the module (fresh interpreter)"] = statistics.median(imports)
    median["run_flow total"] = statistics.median(totals)
    for label, seconds in median.items():
        print("%-48s %6.3f%s" % (label, seconds, "" if label.endswith("(count)") else " s"))
    os.makedirs(bench.RESULTS, exist_ok=True)
    with open(os.path.join(bench.RESULTS, "flows_stages.json"), "w") as handle:
        json.dump(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "backend": bench.backend(),
                "runs": opts.runs,
                "median_seconds": median,
                "samples": per_run,
            },
            handle,
            indent=1,
        )


if __name__ == "__main__":
    main()
