"""Controller-side cost of the report role for N hosts, from generated results: seconds per host.

For each fleet size (default 50, 200, 1000) a fresh interpreter writes bench/report/bench_report.py's
generated hosts (its runner fixture's nine real scenarios plus 20 more columns each, every tenth host
drifting) as <dir>/<host>/results.json, the way the trace role writes them (to_nice_json), then times
what packetflow_report does with src=<dir> and dest=<dir> (report_dir is trace_reports_dir):
  load:  report_render.documents([dir]), every results.json read and merged;
  pages: report_render.render(docs, dir, fleet_index=False), a page per host and junit.xml;
  index: the fleet matrix, the flow matrix and fleet.html.j2, written as index.html.
CPU seconds of the process, wall seconds, peak RSS. No engine is used. Appends one JSON line to
bench/results/report-cost.jsonl.

  PYTHONPATH=.venv/collections .venv/bin/python bench/fleet/report_cost.py [--hosts 50,200,1000]
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "..", "results")


def timed(work):
    """(CPU seconds, wall seconds, result) of one call of ``work``."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    return round(time.process_time() - cpu, 2), round(time.perf_counter() - wall, 2), result


def measure(hosts):
    """The three phases' figures for ``hosts`` generated hosts, as a dict."""
    sys.path.insert(0, os.path.join(HERE, "..", "report"))
    # pylint: disable=import-outside-toplevel
    import bench_report

    from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_fleet, report_render

    root = tempfile.mkdtemp(prefix="pf-report-cost-")
    try:
        size = 0
        for doc in bench_report.fleet_docs(hosts):
            os.makedirs(os.path.join(root, doc["host"]))
            path = os.path.join(root, doc["host"], "results.json")
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({k: v for k, v in doc.items() if k != "base"}, handle, indent=4, sort_keys=True)
            size += os.path.getsize(path)
        out = dict(hosts=hosts, results_mb=round(size / 1e6, 1))
        out["load"] = timed(lambda: report_render.documents([root]))
        docs = out["load"][2]
        out["pages"] = timed(lambda: report_render.render(docs, root, fleet_index=False))

        def index():
            fleet, flows = report_fleet.fleet(docs), report_fleet.flow_matrix(docs)
            for row in fleet["rows"] + flows["rows"]:
                row["href"] = row["doc"]["host"] + "/index.html"
            html = report_render.environment().get_template("fleet.html.j2").render(fleet=fleet, flows=flows)
            with open(os.path.join(root, "index.html"), "w", encoding="utf-8") as handle:
                handle.write(html)
            return len(html)

        out["index"] = timed(index)
        out["index_mb"] = round(out["index"][2] / 1e6, 1)
        for phase in ("load", "pages", "index"):
            out[phase] = dict(cpu_s=out[phase][0], wall_s=out[phase][1])
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hosts", default="50,200,1000", help="fleet sizes, comma-separated")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        json.dump(measure(args.measure), sys.stdout)
        return
    rows = []
    for hosts in (int(n) for n in args.hosts.split(",")):
        run = subprocess.run(
            [sys.executable, __file__, "--measure", str(hosts)], capture_output=True, text=True, check=True
        )
        rows.append(json.loads(run.stdout))
    print("| hosts | results.json | load | pages | index | total | per host | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        total = sum(r[p]["wall_s"] for p in ("load", "pages", "index"))
        r["total_wall_s"], r["per_host_ms"] = round(total, 2), round(1000 * total / r["hosts"], 1)
        print(
            "| %d | %.0f MB | %.2f s | %.2f s | %.2f s (%.1f MB) | %.2f s | %.1f ms | %d MB |"
            % (
                r["hosts"],
                r["results_mb"],
                r["load"]["wall_s"],
                r["pages"]["wall_s"],
                r["index"]["wall_s"],
                r["index_mb"],
                total,
                r["per_host_ms"],
                r["peak_rss_mb"],
            )
        )
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "report-cost.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(
            json.dumps(dict(date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), cpus=os.cpu_count(), rows=rows))
            + "\n"
        )


if __name__ == "__main__":
    main()
