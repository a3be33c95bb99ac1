"""One probed flow end to end, three ways side by side and interleaved in one run (module, playbook,
script, module, playbook, script, ...): packetflow_flow run the way Ansible runs it (JSON args file),
compiling its source as AnsiballZ's zip import does every time (no bytecode caches), the same with
Python's bytecode caches (kept under the bench's temporary directory, written by the warm-up round),
ansible-playbook of a one-task play on localhost (connection local), and the hand-written
bench/flows/baseline.sh. The flow: TCP from one container to another's port on a user bridge, made
once before the timing (and removed after it, whatever happens). Wall time and CPU time (the
process and every child it waited for) per run; medians and ratios to the script.

Writes bench/results/flows.json and bench/results/flows.md. Root; dockerd running; takes the engine
lock (/tmp/pf-engine.lock) unless PF_ENGINE_LOCKED=1 says the caller holds it.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.environ.get("VENV", os.path.join(REPO, ".venv"))
PYTHON = os.path.join(VENV, "bin", "python")
COLLECTIONS = os.path.join(VENV, "collections")
MODULE = os.path.join(
    COLLECTIONS, "ansible_collections", "dockernet", "packetflow", "plugins", "modules", "packetflow_flow.py"
)
RESULTS = os.path.join(REPO, "bench", "results")
PREFIX = "pfbf-"
NETWORK, SRC, DST, PORT = PREFIX + "app", PREFIX + "api", PREFIX + "db", 5432
IMAGE = "mybusybox:latest"
LIMIT = 120  # seconds a run may take before it is stopped (SIGTERM to its process group)
PLAY = """- name: One probed flow
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Trace the flow
      dockernet.packetflow.packetflow_flow: %s
"""


def docker(*args):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=True).stdout.strip()


def backend():
    """nft or legacy: where Docker's own chains are."""
    out = subprocess.run(["iptables-nft-save", "-t", "nat"], capture_output=True, text=True, check=False).stdout
    return "nft" if ":DOCKER " in out else "legacy"


def setup():
    """The user's containers: a server listening on PORT and a client, on one user bridge."""
    docker("network", "create", NETWORK)
    docker("run", "-d", "--name", DST, "--network", NETWORK, IMAGE, "httpd", "-f", "-p", str(PORT), "-h", "/")
    docker("run", "-d", "--name", SRC, "--network", NETWORK, IMAGE, "sleep", "3600")
    pid = docker("inspect", "-f", "{{.State.Pid}}", DST)
    for dummy in range(200):
        for table in ("tcp", "tcp6"):
            with open("/proc/%s/net/%s" % (pid, table)) as handle:
                if any(":%04X " % PORT in line and line.split()[3] == "0A" for line in handle):
                    return
        time.sleep(0.02)
    raise RuntimeError("%s does not listen on %s" % (DST, PORT))


def teardown():
    subprocess.run(["docker", "rm", "-f", SRC, DST], capture_output=True, check=False)
    subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True, check=False)


def leftovers():
    """TRACE rules, pf_ nft tables or trace/capture processes a run left behind (there must be none)."""
    found = []
    for tool in ("iptables-nft-save", "iptables-legacy-save"):
        out = subprocess.run([tool, "-t", "raw"], capture_output=True, text=True, check=False).stdout
        found += ["%s: %s" % (tool, line) for line in out.splitlines() if "-j TRACE" in line]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                name = os.path.basename(handle.read().split(b"\0")[0].decode(errors="replace"))
        except OSError:
            continue
        if name in ("tcpdump", "xtables-monitor"):
            found.append("process %s %s" % (pid, name))
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=False).stdout
    found += ["nft: %s" % line for line in tables.splitlines() if " pf_" in line]
    return found


def timed(argv, env=None, cwd=None):
    """(wall s, CPU s, rc, stdout): CPU is user+system of the process and the children it waited for."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
    )
    stuck = threading.Timer(LIMIT, os.killpg, (proc.pid, signal.SIGTERM))
    stuck.start()
    try:
        out = proc.stdout.read()
        dummy, status, usage = os.wait4(proc.pid, 0)
    finally:
        stuck.cancel()
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode, out.decode("utf-8", "replace")


def module_args(opts, workdir):
    return {
        "src": SRC,
        "dst": DST,
        "proto": "tcp",
        "port": PORT,
        "count": opts.count,
        "interval": opts.interval,
        "timeout": opts.timeout,
        "workdir": workdir,
    }


def run_module(opts, work, cached=False):
    workdir = tempfile.mkdtemp(dir=work)
    path = os.path.join(workdir, "args.json")
    with open(path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": module_args(opts, workdir)}, handle)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS, PYTHONDONTWRITEBYTECODE="1")
    if cached:
        del env["PYTHONDONTWRITEBYTECODE"]
        env["PYTHONPYCACHEPREFIX"] = os.path.join(work, "pycache")
    wall, cpu, rc, out = timed([PYTHON, MODULE, path], env=env)
    shutil.rmtree(workdir)
    try:
        result = json.loads(out[out.index("{") :])
    except ValueError:
        raise RuntimeError("module printed no JSON (rc %s): %s" % (rc, out[-2000:])) from None
    if result.get("failed") or not result["traffic"][0]["ok"] or not result["stats"]["captured"]:
        raise RuntimeError("module run failed: %s" % (result.get("msg") or result.get("traffic")))
    return {
        "wall": wall,
        "cpu": cpu,
        "inside_run_flow": result["seconds"],
        "interfaces": len(result["path"]["interfaces"]),
        "trace_events": result["stats"]["trace_events"],
    }


def run_playbook(opts, work):
    workdir = tempfile.mkdtemp(dir=work)
    play = os.path.join(workdir, "flow.yml")
    with open(play, "w") as handle:
        handle.write(PLAY % json.dumps(module_args(opts, workdir)))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=COLLECTIONS)
    argv = [os.path.join(VENV, "bin", "ansible-playbook"), "-i", "inventory/localhost.yml", play]
    wall, cpu, rc, out = timed(argv, env=env, cwd=REPO)
    shutil.rmtree(workdir)
    if rc != 0:
        raise RuntimeError("playbook failed (rc %s): %s" % (rc, out[-2000:]))
    return {"wall": wall, "cpu": cpu}


def run_script(opts, work):
    workdir = tempfile.mkdtemp(dir=work)
    argv = [
        os.path.join(REPO, "bench", "flows", "baseline.sh"),
        SRC,
        DST,
        str(PORT),
        str(opts.count),
        str(opts.interval),
        workdir,
    ]
    wall, cpu, rc, out = timed(argv)
    shutil.rmtree(workdir)
    if rc != 0:
        raise RuntimeError("baseline.sh failed (rc %s): %s" % (rc, out[-2000:]))
    return {"wall": wall, "cpu": cpu, "summary": out.strip().splitlines()[-1]}


def run_module_cached(opts, work):
    return run_module(opts, work, cached=True)


PATHS = (
    ("module", run_module),
    ("module_cached", run_module_cached),
    ("playbook", run_playbook),
    ("script", run_script),
)
COMPARED = [name for name, dummy in PATHS if name != "script"]


def summarise(runs):
    med = {
        name: {key: statistics.median(r[key] for r in rows) for key in ("wall", "cpu")} for name, rows in runs.items()
    }
    ratios = {
        "%s/script" % name: {key: round(med[name][key] / med["script"][key], 2) for key in ("wall", "cpu")}
        for name in COMPARED
    }
    return med, ratios


def markdown(doc):
    lines = [
        "flows benchmark, %s, back end %s, N=%d each (interleaved), probe %d x tcp/%d every %s s"
        % (doc["when"], doc["backend"], doc["runs"], doc["count"], PORT, doc["interval"]),
        "",
        "| path | median wall s | median CPU s | wall ratio to script | CPU ratio to script |",
        "|---|---|---|---|---|",
    ]
    for name, dummy in PATHS:
        med = doc["median"][name]
        ratio = doc["ratio"].get("%s/script" % name, {"wall": 1.0, "cpu": 1.0})
        lines.append(
            "| %s | %.2f | %.2f | %.2f | %.2f |" % (name, med["wall"], med["cpu"], ratio["wall"], ratio["cpu"])
        )
    return "\n".join(lines) + "\n"


def measure(opts):
    runs = {name: [] for name, dummy in PATHS}
    work = tempfile.mkdtemp(prefix="pf-bench-flows-")
    try:
        setup()
        for round_no in range(opts.warmup + opts.runs):
            for name, run in PATHS:
                figures = run(opts, work)
                if round_no >= opts.warmup:
                    runs[name].append(figures)
                print(
                    "%-8s round %d: %.2f s wall, %.2f s CPU%s"
                    % (
                        name,
                        round_no + 1 - opts.warmup,
                        figures["wall"],
                        figures["cpu"],
                        " (warm-up)" if round_no < opts.warmup else "",
                    ),
                    flush=True,
                )
    finally:
        teardown()
        shutil.rmtree(work, ignore_errors=True)
        left = leftovers()
        if left:
            print("LEFT BEHIND:\n  " + "\n  ".join(left), file=sys.stderr)
    return runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("PF_BENCH_RUNS", 5)))
    parser.add_argument("--warmup", type=int, default=1, help="unrecorded rounds first (default 1)")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--timeout", type=int, default=3)
    opts = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    if os.environ.get("PF_ENGINE_LOCKED") != "1":
        lock = open(os.environ.get("PF_ENGINE_LOCK", "/tmp/pf-engine.lock"), "a")
        fcntl.flock(lock, fcntl.LOCK_EX)
    runs = measure(opts)
    med, ratios = summarise(runs)
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "backend": backend(),
        "cpus": os.cpu_count(),
        "runs": opts.runs,
        "warmup": opts.warmup,
        "count": opts.count,
        "interval": opts.interval,
        "median": med,
        "ratio": ratios,
        "target": "module <= 1.2x script",
        "samples": runs,
    }
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "flows.json"), "w") as handle:
        json.dump(doc, handle, indent=1)
    table = markdown(doc)
    with open(os.path.join(RESULTS, "flows.md"), "w") as handle:
        handle.write(table)
    print(table)


if __name__ == "__main__":
    main()
