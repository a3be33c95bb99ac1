#!/usr/bin/env bash
# Switch this host's iptables back end for Docker: switch_backend.sh <legacy|nft>
# Stops dockerd, flushes the old back end's tables (Docker leaves its rules behind and mixed
# rule sets give misleading traces), points the iptables alternative at the new back end and
# starts dockerd again, with or without systemd. Holds the shared engine lock exclusively, unless
# PF_ENGINE_LOCKED=1 says the caller already holds it; so does a locked descriptor inherited from
# `flock -x /tmp/pf-engine.lock switch_backend.sh ...`.
set -euo pipefail
to=${1:?usage: switch_backend.sh legacy|nft}
case $to in legacy) from=nft ;; nft) from=legacy ;; *) echo "usage: $0 legacy|nft" >&2; exit 2 ;; esac
lock=${PF_ENGINE_LOCK:-/tmp/pf-engine.lock}

# A caller that runs us under `flock /tmp/pf-engine.lock ...` hands its locked descriptor down.
inherited_lock() {
  local fd target
  target=$(readlink -f "$lock")
  for fd in /proc/$$/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$target" ] && return 0
  done
  return 1
}

if [ "${PF_ENGINE_LOCKED:-0}" != 1 ] && ! inherited_lock; then
  exec 9>"$lock"
  flock -x -w 900 9 || { echo "could not lock $lock within 900s" >&2; exit 1; }
fi

# shellcheck source=engine_lib.sh
. "$(dirname "$0")/engine_lib.sh"

if [ -d /run/systemd/system ]; then
  systemctl stop docker.service docker.socket
else
  if [ -f $pidfile ] && kill -0 "$(cat $pidfile)" 2>/dev/null; then
    kill -TERM "$(cat $pidfile)"
  fi
  wait_for 60 dockerd_gone || { echo "dockerd did not stop within 60s" >&2; exit 1; }
fi

"$(dirname "$0")/flush_backend.sh" "$from"

update-alternatives --set iptables "/usr/sbin/iptables-$to" >/dev/null
update-alternatives --set ip6tables "/usr/sbin/ip6tables-$to" >/dev/null

if [ -d /run/systemd/system ]; then
  systemctl start docker.service
else
  # Close every inherited descriptor first: dockerd must not keep the engine lock held.
  (
    for fd in $(ls /proc/$BASHPID/fd); do
      [ "$fd" -gt 2 ] && eval "exec $fd>&-"
    done
    exec setsid dockerd --pidfile $pidfile >>/var/log/dockerd.log 2>&1 </dev/null
  ) &
fi
wait_for 60 docker info || { echo "dockerd did not come up within 60s (see /var/log/dockerd.log)" >&2; exit 1; }
wait_for 30 sh -c "iptables-$to-save -t nat | grep -q '^:DOCKER '" \
  || { echo "Docker's rules did not appear in iptables-$to" >&2; exit 1; }
# dockerd restores the rules of existing networks after start-up: wait until the rule set is stable.
stable() { a=$(iptables-$to-save | grep -v '^#'); sleep 1; [ "$a" = "$(iptables-$to-save | grep -v '^#')" ]; }
wait_for 30 stable || echo "warning: iptables-$to rules still changing" >&2
echo "dockerd $(docker version -f '{{.Server.Version}}') now on iptables-$to"
