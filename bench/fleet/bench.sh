#!/usr/bin/env bash
# Wall time of playbooks/site.yml for one fleet host versus all three in one
# run, on the molecule/fleet instances (start them first:
# `molecule create -s fleet`). Prints one JSON line and appends it to
# bench/results/fleet.jsonl.
#
#   bench/fleet/bench.sh [one-host]        default: pff-bookworm
set -uo pipefail
cd "$(dirname "$0")/../.."
ONE=${1:-pff-bookworm}
INV=molecule/fleet/inventory
export PFF_REPORTS_DIR=${PFF_REPORTS_DIR:-$PWD/bench/results/fleet-reports}
export ANSIBLE_FORCE_COLOR=0
mkdir -p bench/results

run() {  # label, ansible-playbook arguments...
  local label=$1 start rc
  shift
  start=$(date +%s.%N)
  ansible-playbook -i "$INV" --forks 10 playbooks/site.yml "$@" >"bench/results/fleet-$label.log" 2>&1
  rc=$?
  echo "$(echo "$(date +%s.%N) - $start" | bc) $rc"
}

read -r one one_rc < <(run one --limit "$ONE")
read -r three three_rc < <(run three)
ratio=$(echo "scale=2; $three / $one" | bc)
line=$(printf '{"date": "%s", "one_host": "%s", "one_s": %.1f, "three_s": %.1f, "ratio": %s, "target": 1.6, "rc": [%s, %s]}' \
  "$(date -u +%FT%TZ)" "$ONE" "$one" "$three" "$ratio" "$one_rc" "$three_rc")
echo "$line" | tee -a bench/results/fleet.jsonl
# Scenario mismatches make site.yml exit 2 after writing every report; only a
# run that did not finish (unreachable host, error before the report) counts.
grep -q 'Render the reports' bench/results/fleet-three.log
