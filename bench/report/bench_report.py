"""Render time of a host page with 10,000 packets and of a 200-host fleet index, from generated results.

Host: the deb12 fixture whose published_port scenario is grown to N packets (its four real
packets repeated with new ids and times), passed as registered results and rendered by
report_render.render (documents, model, templates, files), with the default 500 listed packets
and with every packet listed. Fleet: 200 hosts made from the runner fixture's nine real
scenarios plus 20 more columns (copies under new ids, standing in for the flows a later
results contract adds), every tenth host with a different path in some columns; timed is the
index alone (the fleet matrix and the fleet template), from documents already loaded.

Times are the best of --runs, in CPU seconds of this process and wall seconds. With
--baseline REV the same measures run, in this run, on the report code of git revision REV
(its plugins/ tree), so the figures compare on one machine at one time.
Records everything in bench/results/report.json.
Run: PYTHONPATH=.venv/collections .venv/bin/python bench/report/bench_report.py [--baseline REV]
"""

import argparse
import copy
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "tests", "unit", "fixtures", "results")
RESULTS = os.path.join(REPO, "bench", "results")
EXTRA_COLUMNS = 20


def grown(count):
    """The deb12 fixture with published_port holding ``count`` packets."""
    with open(os.path.join(FIXTURES, "fleet", "deb12", "results.json"), encoding="utf-8") as handle:
        doc = json.load(handle)
    scenario = next(s for s in doc["scenarios"] if s["scenario"] == "published_port")
    base = scenario["packets"]
    packets = []
    for i in range(count):
        packet = copy.deepcopy(base[i % len(base)])
        shift = (i // len(base)) * 0.001
        packet["id"] = i + 1
        for item in packet["hops"] + packet["captures"] + packet["journey"]:
            if item.get("ts") is not None:
                item["ts"] += shift
        for cap in packet["captures"]:
            cap["index"] = i + 1
        packets.append(packet)
    scenario["packets"] = packets
    scenario["stats"]["trace_events"] = sum(len(p["hops"]) for p in packets)
    return doc


def fleet_docs(hosts):
    """``hosts`` documents of 9 + 20 columns each, every packet its own copy.

    Every tenth host drifts: the deciding hop of its first packet in every third column says
    DROP, so the index has drift to mark. Rulesets and topologies are shared (the index does
    not read them).
    """
    with open(os.path.join(FIXTURES, "runner", "localhost", "results.json"), encoding="utf-8") as handle:
        real = json.load(handle)
    columns = list(real["scenarios"])
    columns += [dict(columns[i % len(columns)], scenario="flow-%02d" % (i + 1)) for i in range(EXTRA_COLUMNS)]
    docs = []
    for n in range(hosts):
        scenarios = []
        for c, column in enumerate(columns):
            packets = copy.deepcopy(column["packets"])
            if n % 10 == 9 and c % 3 == 0 and packets and packets[0]["hops"]:
                packets[0]["hops"][-1]["verdict"] = "DROP"
                packets[0]["fate"] = "dropped"
            scenarios.append(dict(column, packets=packets))
        name = "host-%03d" % n
        docs.append(dict(host=name, generated=real["generated"], facts=dict(real["facts"], name=name),
                         scenarios=scenarios, base=None))
    return docs


def best(runs, work):
    """Best (CPU seconds, wall seconds) of ``runs`` calls of ``work``; and its last result."""
    cpu, wall, result = [], [], None
    for dummy in range(runs):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        result = work()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    return round(min(cpu), 3), round(min(wall), 3), result


def measure(packets, hosts, runs):
    """Every figure of the code on sys.path, as a dict."""
    from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_model, report_render

    try:  # the fleet matrix has its own module since the report was made faster
        from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_fleet import fleet
    except ImportError:
        fleet = report_model.fleet

    out = dict(code=os.path.dirname(report_render.__file__), host=[], fleet=None)
    doc = grown(packets)
    for label, limit in (("default (500 rows listed)", 500), ("every packet listed", packets)):
        dest = tempfile.mkdtemp(prefix="pf-bench-")

        def host_page(dest=dest, limit=limit):
            shutil.rmtree(dest)
            return report_render.render(report_render.documents(results=[doc]), dest, limit=limit)

        cpu, wall, result = best(runs, host_page)
        with open(result["pages"][0], "rb") as handle:
            data = handle.read()
        shutil.rmtree(dest, ignore_errors=True)
        out["host"].append(dict(case=label, packets=packets, max_packets=limit, cpu_seconds=cpu, wall_seconds=wall,
                                page_bytes=len(data), page_gzip_bytes=len(gzip.compress(data))))
    docs = fleet_docs(hosts)

    def index():
        matrix = fleet(docs)
        for row in matrix["rows"]:
            row["href"] = row["doc"]["host"] + "/index.html"
        return report_render.environment().get_template("fleet.html.j2").render(fleet=matrix)

    cpu, wall, html = best(runs, index)
    out["fleet"] = dict(hosts=hosts, columns=len(docs[0]["scenarios"]), cpu_seconds=cpu, wall_seconds=wall,
                        page_bytes=len(html.encode("utf-8")))
    return out


def baseline_tree(rev):
    """A collection path holding the plugins/ tree of git revision ``rev``."""
    root = tempfile.mkdtemp(prefix="pf-bench-base-")
    target = os.path.join(root, "ansible_collections", "dockernet", "packetflow")
    os.makedirs(target)
    archive = subprocess.run(["git", "-C", REPO, "archive", rev, "plugins"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", target], input=archive, check=True)
    return root


def run_on(collections, args):
    """Run the measures in a fresh interpreter whose collection path is ``collections``."""
    env = dict(os.environ, PYTHONPATH=collections)
    argv = [sys.executable, __file__, "--measure", "--packets", str(args.packets), "--hosts", str(args.hosts),
            "--runs", str(args.runs)]
    return json.loads(subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout)


def table(label, figures):
    """Markdown rows of one code tree's figures."""
    lines = []
    for r in figures["host"]:
        lines.append("| %s | host, %d packets, %s | %.2f | %.2f | %.1f MB (%.0f kB gzip) |" % (
            label, r["packets"], r["case"], r["cpu_seconds"], r["wall_seconds"], r["page_bytes"] / 1e6,
            r["page_gzip_bytes"] / 1e3))
    f = figures["fleet"]
    lines.append("| %s | fleet index, %d hosts x %d columns | %.2f | %.2f | %.1f MB |" % (
        label, f["hosts"], f["columns"], f["cpu_seconds"], f["wall_seconds"], f["page_bytes"] / 1e6))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=10000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", help="git revision whose report code is measured too, in the same run")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        json.dump(measure(args.packets, args.hosts, args.runs), sys.stdout)
        return
    trees = [("this tree", os.environ.get("PYTHONPATH", ""))]
    if args.baseline:
        trees.insert(0, ("baseline " + args.baseline, baseline_tree(args.baseline)))
    figures = {label: run_on(path, args) for label, path in trees}
    out = dict(python=sys.version.split()[0], cpus=os.cpu_count(),
               when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), targets=dict(host_seconds=1, fleet_seconds=2),
               figures=figures)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(out, handle, indent=1)
    print("| code | case | CPU (s) | wall (s) | page |")
    print("|---|---|---:|---:|---:|")
    for label, data in figures.items():
        print("\n".join(table(label, data)))
    print("Targets: host page at most 1 s, fleet index at most 2 s (best of %d runs)." % args.runs)


if __name__ == "__main__":
    main()
