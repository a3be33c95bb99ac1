#!/usr/bin/env bash
# Hand-written baseline for one probed TCP flow between two running containers on one user bridge,
# doing what packetflow_flow does in probe mode: look the two ends up, start the trace monitor,
# insert TRACE rules for both directions in raw PREROUTING/OUTPUT on Docker's back end, trace the
# bridge layer too where the module does (facts.bridge_traced: iptables-nft with xtables-monitor
# before 1.8.10, as here) with a bridge-family nft table of its own whose hook chains (priority -310)
# set nftrace for the flow, made in one `nft -f -` transaction and deleted at clean-up (the module's
# ebtables log rules on the legacy back end are not mirrored), start tcpdump on every interface of
# the path (eth0 in each container, both veths, the bridge) and wait until each listens, probe COUNT
# times INTERVAL s apart with nc from the source's namespace, collect (trace, pcaps, ruleset) and
# remove every rule, process and table it made.
# Usage: baseline.sh SRC DST PORT COUNT INTERVAL WORKDIR   (root; dockerd running)
set -euo pipefail
src=$1 dst=$2 port=$3 count=$4 interval=$5 work=$6
mkdir -p "$work"
be=$(iptables-nft-save -t nat 2>/dev/null | grep -q '^:DOCKER ' && echo nft || echo legacy)
ipt="iptables-$be -w 5 -t raw"
tag=packetflow-baseline
pids=() rules=() raw_made= bridge_table=

cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  for r in "${rules[@]}"; do $ipt -D $r -m comment --comment $tag -j TRACE || true; done
  rules=()
  if [ -n "$raw_made" ]; then nft delete table ip raw 2>/dev/null || true; raw_made=; fi
  if [ -n "$bridge_table" ]; then nft delete table bridge "$bridge_table" || true; bridge_table=; fi
}
trap cleanup EXIT

# The two ends: namespace pid, address and bridge (one inspect), the host side of each veth.
read -r spid sip net < <(docker inspect -f '{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{.NetworkID}}{{end}}' "$src")
read -r dpid dip dummy < <(docker inspect -f '{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{.NetworkID}}{{end}}' "$dst")
bridge=br-${net:0:12}
veth() {  # veth PID: the host interface whose peer is eth0 in PID's namespace
  local index
  index=$(nsenter --net=/proc/$1/ns/net cat /sys/class/net/eth0/iflink)
  basename "$(grep -lx "$index" /sys/class/net/*/ifindex | xargs dirname)"
}
sveth=$(veth "$spid") dveth=$(veth "$dpid")

# Trace collector first, so nothing the rules trace is missed.
if [ "$be" = nft ]; then
  nft list table ip raw >/dev/null 2>&1 || raw_made=1
  xtables-monitor --trace >"$work/trace.log" 2>&1 &
else
  dmesg -W >"$work/trace.log" 2>&1 &
fi
mon=$!
pids+=("$mon")
for _ in $(seq 500); do ls -l /proc/$mon/fd 2>/dev/null | grep -q 'socket:\|kmsg' && break; sleep 0.01; done
kill -0 "$mon"  # the monitor runs (and listens, or the loop timed out after 5 s)

for chain in PREROUTING OUTPUT; do
  for spec in "-s $sip -d $dip -p tcp --dport $port" "-s $dip -d $sip -p tcp --sport $port"; do
    $ipt -I $chain 1 $spec -m comment --comment $tag -j TRACE
    rules+=("$chain $spec")
  done
done

# The bridge layer, where xtables-monitor reads its trace events (from 1.8.10 it exits on them).
monitor_version=$(xtables-monitor -V 2>&1 | grep -o '[0-9]*\.[0-9]*\.[0-9]*' | head -1)
if [ "$be" = nft ] && [ "$(printf '%s\n' "$monitor_version" 1.8.10 | sort -V | head -1)" != 1.8.10 ]; then
  bridge_table=pf_baseline_br
  {
    echo "add table bridge $bridge_table"
    for hook in prerouting input forward output postrouting; do
      match="meta nftrace set 1 comment \"$tag\""
      echo "add chain bridge $bridge_table ${hook^^} { type filter hook $hook priority -310 ; }"
      echo "add rule bridge $bridge_table ${hook^^} ip saddr $sip ip daddr $dip tcp dport $port $match"
      echo "add rule bridge $bridge_table ${hook^^} ip saddr $dip ip daddr $sip tcp sport $port $match"
    done
  } | nft -f -
fi

filter="tcp and host $sip and host $dip and port $port"
cap() {  # cap NAME IFACE [nsenter...]: tcpdump into NAME.pcap, stderr into NAME.err
  local name=$1 iface=$2; shift 2
  "$@" tcpdump -i "$iface" -n -U --immediate-mode -w "$work/$name.pcap" "$filter" 2>"$work/$name.err" &
  pids+=($!)
}
cap src_eth0 eth0 nsenter --net=/proc/$spid/ns/net
cap "$sveth" "$sveth"
cap "$bridge" "$bridge"
cap dst_eth0 eth0 nsenter --net=/proc/$dpid/ns/net
cap "$dveth" "$dveth"
for err in "$work"/*.err; do
  for _ in $(seq 500); do grep -q "listening on" "$err" && continue 2; sleep 0.01; done
  echo "tcpdump ($err) did not start" >&2; exit 1
done

ok=0
for i in $(seq "$count"); do
  nsenter --net=/proc/$spid/ns/net busybox nc -w 3 "$dip" "$port" </dev/null >/dev/null 2>&1 && ok=$((ok + 1))
  if [ "$i" -lt "$count" ]; then sleep "$interval"; fi
done

sleep 0.2  # let the monitor print the last events
iptables-$be-save >"$work/ruleset.txt"
cleanup
echo "probes answered: $ok/$count; trace lines: $(grep -c TRACE "$work/trace.log" || true)"
[ "$ok" -gt 0 ]
