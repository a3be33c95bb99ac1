"""Wall and CPU time of playbooks/site.yml on 1, 3 and 6 Docker-in-Docker hosts, as ratios to 1 host.

Each size is one round under the engine lock (/tmp/pf-engine.lock, not taken when PF_ENGINE_LOCKED=1):
  1. snapshot of the host's state (containers, networks, images, links, netns, routes, sysctls, both
     iptables back ends, the nft ruleset, stray processes);
  2. molecule/fleet/create.yml with a platform list of N instances (pff-bookworm, pff-trixie, pff-sid,
     then pff-bookworm-2, pff-trixie-2, pff-sid-2: a second host of each release, whose host_vars are
     in bench/fleet/inventory), run directly by ansible-playbook with molecule's variables;
  3. bench/fleet/prepare.yml once (not timed): outside-client routes, the five prepare roles on the
     fresh hosts (engines started, lab image pulled from the fleet's registry), each host's shop;
  4. TIMED: `ansible-playbook playbooks/site.yml --limit <the N hosts>` on the prepared hosts, i.e.
     prepare.yml confirming every role's state, the nine scenarios and the two shop flows per host,
     results and artifacts fetched, the report (one page per host and the fleet index) and the check;
  5. molecule/fleet/destroy.yml (always, also on an error or a signal), then the snapshot again: any
     difference is printed and fails the bench.
Between rounds the lock is released and the host is as found.

Timed figures: wall seconds; controller CPU (ansible-playbook, its forks and their `docker exec`
clients: RUSAGE_CHILDREN); container CPU (cpuacct of the /docker cgroup: the instances, their dockerd
and lab containers); machine CPU (/proc/stat, busy time of every process on the machine, other jobs'
too) and its share of the machine's cores. Appends one JSON line per size to bench/results/fleet.jsonl.

  PYTHONPATH=.venv/collections .venv/bin/python bench/fleet/bench_fleet.py [--hosts 1,3,6] [--forks 10]
      [--env ANSIBLE_STRATEGY=free ...]   (environment of the prepare and timed runs; by default
      ANSIBLE_PIPELINING=True and the ansible.posix.profile_tasks callback)
"""

import argparse
import contextlib
import difflib
import fcntl
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RESULTS = os.path.join(REPO, "bench", "results")
LOCK = "/tmp/pf-engine.lock"
PLATFORMS = [
    ("pff-bookworm", "bookworm"),
    ("pff-trixie", "trixie"),
    ("pff-sid", "sid"),
    ("pff-bookworm-2", "bookworm"),
    ("pff-trixie-2", "trixie"),
    ("pff-sid-2", "sid"),
]
INVENTORY = ["-i", "molecule/fleet/inventory", "-i", "bench/fleet/inventory"]
CONTAINER_CPU = "/sys/fs/cgroup/cpuacct/docker/cpuacct.usage"
COUNTERS = re.compile(r"\[\d+:\d+\]|counter packets \d+ bytes \d+")
# What the bench must leave as it found it: name, command.
SNAPSHOT = [
    ("containers", "docker ps -a --format '{{.Names}} {{.Image}}' | sort"),
    ("networks", "docker network ls --format '{{.Name}} {{.Driver}}' | sort"),
    ("images", "docker images -a --format '{{.Repository}}:{{.Tag}} {{.ID}}' | sort"),
    ("volumes", "docker volume ls -q | sort"),
    ("links", "ip -o link show | sed 's/^[0-9]*: //; s/ .*//' | sort"),
    ("netns", "ip netns list | sort"),
    ("routes", "ip route show table all | sort"),
    (
        "sysctls",
        "grep -H . /proc/sys/net/netfilter/nf_log_all_netns /proc/sys/net/netfilter/nf_log/* "
        "/proc/sys/net/ipv4/ip_forward /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null",
    ),
    ("iptables-nft", "iptables-nft-save; ip6tables-nft-save"),
    ("iptables-legacy", "iptables-legacy-save; ip6tables-legacy-save"),
    ("nft", "nft list ruleset"),
    ("processes", "ps -eo comm= | grep -xE 'docker-registry|tcpdump|xtables-monitor|dockerd' | sort"),
]


def snapshot():
    """The host's state as text per item, rule and chain counters blanked."""
    state = {}
    for name, command in SNAPSHOT:
        out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False).stdout
        lines = [COUNTERS.sub("", line) for line in out.splitlines() if not line.startswith("#")]
        state[name] = lines
    return state


def differences(before, after):
    """Unified diffs of the items that changed."""
    return [
        "\n".join(difflib.unified_diff(before[k], after[k], k + " before", k + " after", lineterm=""))
        for k in before
        if before[k] != after[k]
    ]


def cpu_seconds():
    """(controller children, containers, machine busy) CPU seconds so far."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        with open(CONTAINER_CPU, encoding="ascii") as handle:
            containers = int(handle.read()) / 1e9
    except OSError:
        containers = float("nan")
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    return children.ru_utime + children.ru_stime, containers, busy / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def engine_lock():
    """The shared engine lock, unless the caller holds it (PF_ENGINE_LOCKED=1)."""
    if os.environ.get("PF_ENGINE_LOCKED") == "1":
        yield
        return
    with open(LOCK, "a", encoding="ascii") as handle:
        waited = time.monotonic()
        fcntl.flock(handle, fcntl.LOCK_EX)
        print("  lock taken after %.0f s" % (time.monotonic() - waited), flush=True)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def playbook(log, env, *args):
    """Run ansible-playbook from the repository, output to ``log``; its exit code."""
    with open(log, "w", encoding="utf-8") as out:
        return subprocess.run(
            ["ansible-playbook", *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        ).returncode


def round_of(count, args, workdir):
    """Create, prepare, time and destroy ``count`` instances; the figures of the timed run."""
    names = [name for name, dummy in PLATFORMS[:count]]
    ephemeral = os.path.join(workdir, "molecule-%d" % count)
    os.makedirs(ephemeral)
    env = dict(
        os.environ,
        MOLECULE_EPHEMERAL_DIRECTORY=ephemeral,
        MOLECULE_PROJECT_DIRECTORY=REPO,
        PFF_REPORTS_DIR=os.path.join(RESULTS, "fleet-reports"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_FORKS=str(args.forks),
    )
    # The fleet's settings: one `docker exec` per module instead of a copy, a chmod, a run and a
    # removal (the repository's ansible.cfg sets pipelining for ssh only); each task's time in the logs.
    fleet = dict(env, ANSIBLE_PIPELINING="True", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks")
    molecule_vars = os.path.join(ephemeral, "molecule-vars.json")
    with open(molecule_vars, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "molecule_yml": {
                    "platforms": [{"name": n, "image": "packetflow-fleet:" + r} for n, r in PLATFORMS[:count]]
                },
                "molecule_instance_config": os.path.join(ephemeral, "instance_config.yml"),
            },
            handle,
        )
    tuned = dict(fleet, **dict(item.split("=", 1) for item in args.env))
    log = os.path.join(RESULTS, "fleet-%d" % count)
    limit = ["--limit", ",".join(names)]
    with engine_lock():
        taken = time.monotonic()
        before = snapshot()
        try:
            start = time.monotonic()
            if playbook(
                log + "-create.log",
                env,
                "-i",
                "inventory/localhost.yml",
                "molecule/fleet/create.yml",
                "-e",
                "@" + molecule_vars,
            ):
                raise RuntimeError("create failed, see %s-create.log" % log)
            if playbook(log + "-prepare.log", tuned, *INVENTORY, "bench/fleet/prepare.yml", *limit):
                raise RuntimeError("prepare failed, see %s-prepare.log" % log)
            prepared = time.monotonic() - start
            cpu0, wall0 = cpu_seconds(), time.monotonic()
            rc = playbook(log + ".log", tuned, *INVENTORY, "playbooks/site.yml", *limit)
            wall, cpu1 = time.monotonic() - wall0, cpu_seconds()
        finally:
            destroyed = playbook(
                log + "-destroy.log",
                env,
                "-i",
                "inventory/localhost.yml",
                "molecule/fleet/destroy.yml",
                "-e",
                "@" + molecule_vars,
            )
            diff = differences(before, snapshot())
            held = time.monotonic() - taken
            if destroyed or diff:
                print("\n".join(diff) or "destroy failed, see %s-destroy.log" % log, file=sys.stderr)
    if diff or destroyed:
        raise RuntimeError("the host is not as found after %d hosts" % count)
    with open(log + ".log", encoding="utf-8") as handle:
        reported = "Render the reports" in handle.read()
    controller, containers, machine = (b - a for a, b in zip(cpu0, cpu1, strict=True))
    return {
        "hosts": count,
        "wall_s": round(wall, 1),
        "controller_cpu_s": round(controller, 1),
        "container_cpu_s": round(containers, 1),
        "machine_cpu_s": round(machine, 1),
        "machine_busy": round(machine / wall / os.cpu_count(), 2),
        "rc": rc,
        "reported": reported,
        "create_prepare_s": round(prepared, 1),
        "lock_held_s": round(held),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hosts", default="1,3,6", help="fleet sizes, comma-separated, each 1 to 6")
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment of the prepare and timed runs, e.g. ANSIBLE_STRATEGY=free",
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.hosts.split(",")]
    if not all(1 <= n <= len(PLATFORMS) for n in sizes) or any("=" not in e for e in args.env):
        parser.error(
            "--hosts takes sizes 1 to %d (got %s); --env takes KEY=VALUE (got %s)"
            % (len(PLATFORMS), args.hosts, args.env)
        )
    # A signal ends the round through its finally: the instances are destroyed and the host checked.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    os.makedirs(RESULTS, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="pf-bench-fleet-")
    run = dict(
        run=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        cores=os.cpu_count(),
        forks=args.forks,
        env=args.env,
        targets={"3": 1.3, "6": 2.0},
    )
    rounds = []
    try:
        for count in sizes:
            print("%d host(s): create, prepare, time site.yml, destroy" % count, flush=True)
            rounds.append(round_of(count, args, workdir))
            one = next((r["wall_s"] for r in rounds if r["hosts"] == 1), None)
            rounds[-1]["ratio"] = round(rounds[-1]["wall_s"] / one, 2) if one else None
            print("  " + json.dumps(rounds[-1]), flush=True)
            # One line per size as it ends: a run cut short keeps the sizes it measured.
            with open(os.path.join(RESULTS, "fleet.jsonl"), "a", encoding="utf-8") as handle:
                handle.write(json.dumps(dict(run, **rounds[-1])) + "\n")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        "%5s %8s %6s %14s %13s %11s %5s %6s %3s"
        % ("hosts", "wall s", "ratio", "controller cpu", "container cpu", "machine cpu", "busy", "hold s", "rc")
    )
    for r in rounds:
        print(
            "%5d %8.1f %6s %14.1f %13.1f %11.1f %5.2f %6.0f %3d"
            % (
                r["hosts"],
                r["wall_s"],
                r["ratio"],
                r["controller_cpu_s"],
                r["container_cpu_s"],
                r["machine_cpu_s"],
                r["machine_busy"],
                r["lock_held_s"],
                r["rc"],
            )
        )
    return 0 if all(r["reported"] for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
