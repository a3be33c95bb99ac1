"""Render time and page size of a host page with 10,000 traced packets.

Builds one host from the deb12 fixture whose published_port scenario is grown to N packets
(its four real packets repeated with new ids and times), renders it, and records the figures
in bench/results/report.json. Optionally times headless Chromium loading the page.
Run: PYTHONPATH=.venv/collections .venv/bin/python bench/report/bench_report.py [--packets N]
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

from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_render

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE = os.path.join(REPO, "tests", "unit", "fixtures", "results", "fleet", "deb12", "results.json")
RESULTS = os.path.join(REPO, "bench", "results")


def grown(count):
    """The deb12 fixture with published_port holding ``count`` packets."""
    with open(FIXTURE, encoding="utf-8") as handle:
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


def render(doc, limit, runs):
    """Best wall time of ``runs`` renders into a fresh folder; return (seconds, page path)."""
    times, dest = [], tempfile.mkdtemp(prefix="pf-bench-")
    while len(times) < runs:
        shutil.rmtree(dest)
        start = time.perf_counter()
        result = report_render.render(report_render.documents(results=[doc]), dest, limit=limit)
        times.append(time.perf_counter() - start)
    return min(times), result["pages"][0]


def browser_seconds(page):
    """Seconds for headless Chromium to load the page and dump its DOM (None without chromium)."""
    binary = shutil.which("chromium")
    if binary is None:
        return None
    profile = tempfile.mkdtemp(prefix="pf-chromium-")
    start = time.perf_counter()
    subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--user-data-dir=" + profile, "--dump-dom", "file://" + page],
                   capture_output=True, timeout=300, check=False)
    elapsed = time.perf_counter() - start
    shutil.rmtree(profile, ignore_errors=True)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    doc = grown(args.packets)
    rows = []
    for label, limit in (("default (500 rows listed)", 500), ("every packet listed", args.packets)):
        seconds, page = render(doc, limit, args.runs)
        with open(page, "rb") as handle:
            data = handle.read()
        rows.append(dict(case=label, packets=args.packets, max_packets=limit, render_seconds=round(seconds, 3),
                         page_bytes=len(data), page_gzip_bytes=len(gzip.compress(data)),
                         chromium_load_seconds=round(browser_seconds(page) or 0, 2) or None))
        shutil.rmtree(os.path.dirname(os.path.dirname(page)), ignore_errors=True)
    os.makedirs(RESULTS, exist_ok=True)
    empty = os.path.join(RESULTS, "empty.html")
    with open(empty, "w", encoding="utf-8") as handle:
        handle.write("<!DOCTYPE html><title>empty</title>")
    baseline = browser_seconds(empty)
    os.unlink(empty)
    out = dict(python=sys.version.split()[0], cpus=os.cpu_count(), when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               chromium_empty_page_seconds=round(baseline, 2) if baseline else None, rows=rows)
    with open(os.path.join(RESULTS, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(out, handle, indent=1)
    print("| case | packets | render (s) | page | gzip | Chromium load (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %s | %d | %.2f | %.1f MB | %.0f kB | %s |" % (
            r["case"], r["packets"], r["render_seconds"], r["page_bytes"] / 1e6, r["page_gzip_bytes"] / 1e3,
            r["chromium_load_seconds"]))
    print("Chromium start-up and an empty page: %s s" % out["chromium_empty_page_seconds"])


if __name__ == "__main__":
    main()
