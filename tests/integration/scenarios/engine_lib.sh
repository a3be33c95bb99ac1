# Shared by switch_backend.sh and ipv6_engine.sh (sourced): dockerd's pidfile and the waits around a restart.
pidfile=/var/run/docker.pid

wait_for() {  # wait_for SECONDS COMMAND...: poll until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
dockerd_gone() { ! { [ -f $pidfile ] && kill -0 "$(cat $pidfile)" 2>/dev/null; }; }
