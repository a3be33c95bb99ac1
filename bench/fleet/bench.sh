#!/usr/bin/env bash
# Wall and CPU time of playbooks/site.yml on 1, 3 and 6 Docker-in-Docker hosts, side by side, as
# ratios to one host: bench/fleet/bench_fleet.py makes, prepares, times and removes the instances,
# one size per hold of the engine lock. Prints a table and appends a JSON line to
# bench/results/fleet.jsonl; logs in bench/results/fleet-<N>*.log (profile_tasks in each).
#
#   bench/fleet/bench.sh [--hosts 1,3,6] [--forks 10] [--env KEY=VALUE ...]
#   bench/fleet/report_cost.py [--hosts 50,200,1000]   the report's controller cost per host (no engine)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$PWD/.venv/collections PYTHONPATH=$PWD/.venv/collections
exec python bench/fleet/bench_fleet.py "$@"
