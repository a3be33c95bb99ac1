#!/usr/bin/env bash
# Wall time of the nine scenarios, side by side in one run: the hand-written shell baseline
# (baseline.sh) and packetflow's playbooks/trace.yml on localhost. Prints both, the time spent inside
# the scenario module runs, and the ratio, and appends them to bench/results/scenarios.tsv
# (date, backend, baseline s, trace.yml s, module s, ratio). Root; dockerd running; holds the engine
# lock shared (PF_ENGINE_LOCKED=1: the caller holds it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${VENV:-$repo/.venv}/bin
out=$repo/bench/results
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
if [ "${PF_ENGINE_LOCKED:-0}" != 1 ]; then
  exec 9>"${PF_ENGINE_LOCK:-/tmp/pf-engine.lock}"
  flock -s -w 900 9
fi

now() { date +%s.%N; }
t0=$(now)
"$repo/bench/scenarios/baseline.sh" "$work/baseline"
t1=$(now)
(cd "$repo" && ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-$repo/.venv/collections} \
  "$bin/ansible-playbook" -i inventory/localhost.yml playbooks/trace.yml \
  -e trace_name=pfb-web1 -e trace_second_name=pfb-web2 -e trace_port=0 \
  -e trace_reports_dir="$work/reports" >"$work/playbook.log") \
  || { tail -n 40 "$work/playbook.log"; exit 1; }
t2=$(now)
base=$(echo "$t1 - $t0" | bc); suite=$(echo "$t2 - $t1" | bc); ratio=$(echo "scale=2; $suite / $base" | bc)
inside=$(python3 -c 'import json, sys; print("%.1f" % sum(s.get("seconds") or 0 for s in json.load(open(sys.argv[1]))["scenarios"]))' \
  "$work/reports/localhost/results.json")
backend=$(iptables-nft-save -t nat 2>/dev/null | grep -q '^:DOCKER ' && echo nft || echo legacy)
printf 'baseline %.1fs  packetflow trace.yml %.1fs (of which inside the nine module runs %ss)  ratio %sx  (backend %s)\n' \
  "$base" "$suite" "$inside" "$ratio" "$backend"
printf '%s\t%s\t%.2f\t%.2f\t%s\t%s\n' "$(date -u +%FT%TZ)" "$backend" "$base" "$suite" "$inside" "$ratio" >>"$out/scenarios.tsv"
