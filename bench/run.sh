#!/usr/bin/env bash
# Every benchmark of the collection, one after the other; figures go to bench/results/.
# Root, dockerd running (the scenario benchmark runs the real engine). Not part of `make test`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${VENV:-$repo/.venv}/bin/python
export PYTHONPATH=${PYTHONPATH:-$repo/.venv/collections}
cd "$repo"
echo "== trace analysis (1M-line logs)"
"$python" bench/analysis/bench_trace.py
echo "== report rendering (10,000 packets)"
"$python" bench/report/bench_report.py
echo "== scenarios against the hand-written baseline"
bench/scenarios/run.sh
echo "== one probed flow (packetflow_flow, its playbook) against the hand-written baseline"
"$python" bench/flows/bench_flows.py
