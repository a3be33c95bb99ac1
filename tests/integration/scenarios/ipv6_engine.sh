#!/usr/bin/env bash
# Turn Docker's IPv6 on for a test, and back off exactly as it was: ipv6_engine.sh <on|off> SAVE_DIR
#   on   saves daemon.json and the IPv6 sysctls Docker changes to SAVE_DIR, merges ipv6, fixed-cidr-v6 (a ULA /64),
#        ip6tables and experimental (Docker before 27 takes ip6tables only with it) into daemon.json and restarts
#        dockerd until its IPv6 rules are in ip6tables
#   off  restores daemon.json from SAVE_DIR (removes it when there was none), restarts dockerd, then removes what
#        IPv6 left behind: Docker's ip6tables rules on both back ends (dockerd leaves them when it stops), docker0's
#        IPv6 addresses (the fixed-cidr-v6 gateway, fe80::1), and the sysctls it changed (IPv6 forwarding)
# dockerd is restarted as switch_backend.sh does it (no service manager here). Holds the engine lock unless
# PF_ENGINE_LOCKED=1 says the caller already holds it.
set -euo pipefail
action=${1:?usage: ipv6_engine.sh on|off SAVE_DIR}
save=${2:?usage: ipv6_engine.sh on|off SAVE_DIR}
daemon_json=/etc/docker/daemon.json
cidr=fd00:70f:1::/64
lock=${PF_ENGINE_LOCK:-/tmp/pf-engine.lock}
if [ "${PF_ENGINE_LOCKED:-0}" != 1 ]; then
  exec 9>"$lock"
  flock -x -w 900 9 || { echo "could not lock $lock within 900s" >&2; exit 1; }
fi
sysctls="net.ipv6.conf.all.forwarding net.ipv6.conf.default.forwarding net.ipv6.conf.all.accept_ra
net.ipv6.conf.default.accept_ra"

# shellcheck source=engine_lib.sh
. "$(dirname "$0")/engine_lib.sh"
restart_dockerd() {
  if [ -f $pidfile ] && kill -0 "$(cat $pidfile)" 2>/dev/null; then kill -TERM "$(cat $pidfile)"; fi
  wait_for 60 dockerd_gone || { echo "dockerd did not stop within 60s" >&2; exit 1; }
  "$@"
  (
    for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
    exec setsid dockerd --pidfile $pidfile >>/var/log/dockerd.log 2>&1 </dev/null
  ) &
  wait_for 60 docker info || { echo "dockerd did not come up within 60s" >&2; exit 1; }
}
# Legacy's tables are read only when loaded: reading one would load it, and nothing here can unload it again.
legacy_loaded() { grep -qx "$1" /proc/net/ip6_tables_names 2>/dev/null; }
v6_rules() {
  { legacy_loaded filter && ip6tables-legacy-save -t filter | grep -q '^:DOCKER '; } \
    || ip6tables-nft-save -t filter | grep -q '^:DOCKER '
}
# Docker writes docker0's IPv6 MASQUERADE after its filter chains: the first scenario must not start before it.
v6_nat() {
  { legacy_loaded nat && ip6tables-legacy-save -t nat | grep -q -- "-s $cidr ! -o docker0 -j MASQUERADE"; } \
    || ip6tables-nft-save -t nat | grep -q -- "-s $cidr ! -o docker0 -j MASQUERADE"
}
# docker0's new IPv6 addresses are tentative until duplicate address detection ends (1-2 s measured):
# until then the host cannot send from them, and the first scenario's packets take another path.
settled_v6() { ! ip -6 addr show dev docker0 tentative | grep -q inet6; }
docker0_v6() { ip -6 -o addr show dev docker0 | awk '{print $4}' | sort; }

case $action in
on)
  mkdir -p "$save"
  if [ -f $daemon_json ]; then cp -p $daemon_json "$save/daemon.json"; else rm -f "$save/daemon.json"; fi
  for key in $sysctls; do echo "$key=$(sysctl -n "$key")"; done >"$save/sysctls"
  docker0_v6 >"$save/docker0.addrs"
  merge() {
    mkdir -p "$(dirname $daemon_json)"
    python3 - "$daemon_json" "$cidr" <<'EOF'
import json, os, sys
path, cidr = sys.argv[1], sys.argv[2]
conf = json.load(open(path)) if os.path.exists(path) else {}
conf.update({"ipv6": True, "fixed-cidr-v6": cidr, "ip6tables": True, "experimental": True})
json.dump(conf, open(path, "w"), indent=2)
EOF
  }
  restart_dockerd merge
  wait_for 30 v6_rules || { echo "Docker's IPv6 rules did not appear in ip6tables" >&2; exit 1; }
  wait_for 30 v6_nat || { echo "Docker's IPv6 MASQUERADE for $cidr did not appear in ip6tables" >&2; exit 1; }
  wait_for 30 settled_v6 || { echo "docker0's IPv6 addresses stayed tentative" >&2; exit 1; }
  echo "dockerd $(docker version -f '{{.Server.Version}}') with IPv6 on ($cidr, ip6tables, experimental)"
  ;;
off)
  put_back() {
    if [ -f "$save/daemon.json" ]; then cp -p "$save/daemon.json" $daemon_json; else rm -f $daemon_json; fi
    for table in raw mangle nat filter security; do nft delete table ip6 "$table" 2>/dev/null || true; done
    for table in raw mangle nat filter security; do
      legacy_loaded "$table" || continue
      ip6tables-legacy -t "$table" -F
      ip6tables-legacy -t "$table" -X
      for chain in $(ip6tables-legacy -t "$table" -S | awk '$1 == "-P" {print $2}'); do
        ip6tables-legacy -t "$table" -P "$chain" ACCEPT
      done
    done
  }
  restart_dockerd put_back
  # dockerd puts fe80::1 back on docker0 as it starts, even with IPv6 off: removed once it is up.
  for addr in $(docker0_v6 | comm -23 - "$save/docker0.addrs"); do ip -6 addr del "$addr" dev docker0; done
  while IFS== read -r key value; do sysctl -q -w "$key=$value"; done <"$save/sysctls"
  ! v6_rules || { echo "Docker's IPv6 rules are still in ip6tables" >&2; exit 1; }
  echo "dockerd $(docker version -f '{{.Server.Version}}') with daemon.json and IPv6 sysctls as before"
  ;;
*) echo "usage: $0 on|off SAVE_DIR" >&2; exit 2 ;;
esac
