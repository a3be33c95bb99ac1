#!/usr/bin/env bash
# Hand-written baseline: the nine scenarios with plain docker, iptables, tcpdump and ping/nc,
# the same containers, TRACE rules, captures and traffic as packetflow_scenario, and tear-down.
# Usage: baseline.sh [workdir]   (root; dockerd running; image mybusybox:latest)
set -euo pipefail
work=${1:-/tmp/pfb-work}
mkdir -p "$work"
be=$(iptables-nft-save -t nat 2>/dev/null | grep -q '^:DOCKER ' && echo nft || echo legacy)
img=mybusybox:latest
port=28480
hostip=$(ip -4 -o addr show "$(ip -4 route show default | awk '{print $5; exit}')" | awk '{print $4}' | cut -d/ -f1)
caps=() rules=() mon=

arm() {  # arm CHAIN-ARGS...: TRACE both chains, both directions given as "src dst proto [dport]"
  local src=$1 dst=$2 proto=$3 p=${4:-} chain
  for chain in PREROUTING OUTPUT; do
    for spec in "-s $src -d $dst -p $proto ${p:+--dport $p}" "-s $dst -d $src -p $proto ${p:+--sport $p}"; do
      iptables-$be -w -t raw -I $chain 1 $spec -m comment --comment packetflow:pfb -j TRACE
      rules+=("$chain $spec")
    done
  done
}
cap() {  # cap IFACE [netns-prefix...]: start tcpdump, wait for "listening on"
  local iface=$1; shift
  local err="$work/${iface//[:\/]/_}.err"
  "$@" tcpdump -i "$iface" -n -U --immediate-mode -w "$work/${iface//[:\/]/_}.pcap" icmp or tcp 2>"$err" &
  caps+=($!)
  for _ in $(seq 100); do grep -q "listening on" "$err" && return; sleep 0.02; done
  echo "tcpdump on $iface did not start" >&2; return 1
}
monitor() {
  if [ "$be" = nft ]; then xtables-monitor --trace >"$work/trace.log" 2>&1 & mon=$!; sleep 0.1; fi
}
finish() {
  sleep 0.2
  [ -n "$mon" ] && kill "$mon" && wait "$mon" 2>/dev/null || true; mon=
  for p in "${caps[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${caps[@]}"; do wait "$p" 2>/dev/null || true; done
  caps=()
  for r in "${rules[@]}"; do iptables-$be -w -t raw -D ${r%% *} ${r#* } -m comment --comment packetflow:pfb -j TRACE; done
  rules=()
  docker rm -f pfb-web1 pfb-web2 >/dev/null 2>&1 || true
  docker network rm pfb-net0 pfb-net1 >/dev/null 2>&1 || true
  ip netns del pfb-peer 2>/dev/null || true
}
trap finish EXIT
web() {  # web NAME [docker run options]: start httpd, wait until it listens
  local name=$1; shift
  docker run -d --name "$name" "$@" $img httpd -f -p "${PORT:-80}" -h / >/dev/null
  pid=$(docker inspect -f '{{.State.Pid}}' "$name")
  for _ in $(seq 200); do grep -q ":$(printf %04X "${PORT:-80}") .* 0A " /proc/$pid/net/tcp* 2>/dev/null && break; sleep 0.02; done
}
ipof() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
pidof_c() { docker inspect -f '{{.State.Pid}}' "$1"; }
vethof() { local i; i=$(nsenter --net=/proc/$(pidof_c "$1")/ns/net ip -o link show eth0 | sed -n 's/.*eth0@if\([0-9]*\).*/\1/p'); ip -o link | awk -F': ' -v i="$i" '$1 == i {split($2, a, "@"); print a[1]}'; }
in_c() { nsenter --net=/proc/$(pidof_c "$1")/ns/net "${@:2}"; }
ns() { echo nsenter --net=/proc/$(pidof_c "$1")/ns/net; }
peer() {
  ip netns add pfb-peer
  ip link add pfbh type veth peer name pfbp netns pfb-peer
  ip addr add 203.0.113.253/30 dev pfbh; ip link set pfbh up
  ip -n pfb-peer addr add 203.0.113.254/30 dev pfbp; ip -n pfb-peer link set pfbp up; ip -n pfb-peer link set lo up
  ip -n pfb-peer route add default via 203.0.113.253
}
get() { printf 'GET / HTTP/1.0\r\n\r\n' | "$@" busybox nc -w 2 "$ip" "$port" | grep -q HTTP/; }

s_host_to_container() {
  web pfb-web1 -p $port:80; ip=$(ipof pfb-web1)
  monitor; arm 172.17.0.1 "$ip" icmp
  cap eth0 $(ns pfb-web1); cap "$(vethof pfb-web1)"; cap docker0
  busybox ping -c 1 -W 1 "$ip" >/dev/null
}
s_container_to_host() {
  web pfb-web1 -p $port:80; ip=$(ipof pfb-web1)
  monitor; arm "$ip" 172.17.0.1 icmp; arm "$ip" "$hostip" icmp
  cap eth0 $(ns pfb-web1); cap "$(vethof pfb-web1)"; cap docker0
  in_c pfb-web1 busybox ping -c 1 -W 1 172.17.0.1 >/dev/null; in_c pfb-web1 busybox ping -c 1 -W 1 "$hostip" >/dev/null
}
s_container_to_container() {
  docker network create pfb-net0 >/dev/null; web pfb-web1 --network pfb-net0; web pfb-web2 --network pfb-net0
  a=$(ipof pfb-web1); b=$(ipof pfb-web2); br=br-$(docker network inspect -f '{{.Id}}' pfb-net0 | cut -c1-12)
  monitor; arm "$a" "$b" icmp
  cap eth0 $(ns pfb-web1); cap "$(vethof pfb-web1)"; cap "$br"; cap eth0 $(ns pfb-web2); cap "$(vethof pfb-web2)"
  in_c pfb-web1 busybox ping -c 1 -W 1 "$b" >/dev/null
}
s_cross_network() {
  docker network create pfb-net0 >/dev/null; docker network create pfb-net1 >/dev/null
  web pfb-web1 --network pfb-net0; web pfb-web2 --network pfb-net1
  a=$(ipof pfb-web1); b=$(ipof pfb-web2)
  monitor; arm "$a" "$b" icmp
  cap eth0 $(ns pfb-web1); cap "$(vethof pfb-web1)"; cap br-$(docker network inspect -f '{{.Id}}' pfb-net0 | cut -c1-12)
  cap eth0 $(ns pfb-web2); cap "$(vethof pfb-web2)"; cap br-$(docker network inspect -f '{{.Id}}' pfb-net1 | cut -c1-12)
  ! in_c pfb-web1 busybox ping -c 1 -W 1 "$b" >/dev/null
}
s_published_port() {
  web pfb-web1 -p $port:80; c=$(ipof pfb-web1)
  monitor; arm "$hostip" "$hostip" tcp $port; arm "$hostip" "$c" tcp 80; arm 127.0.0.1 127.0.0.1 tcp $port; arm 172.17.0.1 "$c" tcp 80
  cap eth0 $(ns pfb-web1); cap "$(vethof pfb-web1)"; cap docker0; cap lo
  ip=$hostip get; ip=127.0.0.1 get
}
s_external_to_published() {
  web pfb-web1 -p $port:80; c=$(ipof pfb-web1); peer
  monitor; arm 203.0.113.254 203.0.113.253 tcp $port; arm 203.0.113.254 "$c" tcp 80
  cap eth0 $(ns pfb-web1); cap "$(vethof pfb-web1)"; cap docker0; cap pfbp ip netns exec pfb-peer; cap pfbh
  ip=203.0.113.253 get ip netns exec pfb-peer
}
s_container_to_external() {
  web pfb-web1 -p $port:80; c=$(ipof pfb-web1); peer
  monitor; arm "$c" 203.0.113.254 icmp; arm 203.0.113.253 203.0.113.254 icmp
  cap eth0 $(ns pfb-web1); cap "$(vethof pfb-web1)"; cap docker0; cap pfbp ip netns exec pfb-peer; cap pfbh
  in_c pfb-web1 busybox ping -c 1 -W 1 203.0.113.254 >/dev/null
}
s_host_network() {
  PORT=$port web pfb-web1 --network host
  monitor; arm 127.0.0.1 127.0.0.1 tcp $port; cap lo
  ip=127.0.0.1 get
}
s_none_network() {
  docker run -d --name pfb-web1 --network none $img httpd -f -p 80 -h / >/dev/null
  p=$(pidof_c pfb-web1)
  if [ "$be" = nft ]; then nsenter --net=/proc/$p/ns/net xtables-monitor --trace >"$work/trace.log" 2>&1 & mon=$!; sleep 0.1; fi
  for chain in PREROUTING OUTPUT; do
    nsenter --net=/proc/$p/ns/net iptables-$be -w -t raw -I $chain 1 -s 127.0.0.1 -d 127.0.0.1 -p icmp -j TRACE
  done
  cap lo $(ns pfb-web1)
  in_c pfb-web1 busybox ping -c 1 -W 1 127.0.0.1 >/dev/null
}

for s in host_to_container container_to_host container_to_container cross_network published_port \
         external_to_published container_to_external host_network none_network; do
  start=$(date +%s.%N)
  "s_$s"
  finish
  printf '%-24s %.2fs\n' "$s" "$(echo "$(date +%s.%N) - $start" | bc)"
done
