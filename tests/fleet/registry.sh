#!/usr/bin/env bash
# The fleet's internal registry: Debian's docker-registry on this machine, at an
# address of the fleet network, over TLS with a CA of its own, holding the lab
# image the fleet hosts pull (their lab_image role installs the CA).
#
#   tests/fleet/registry.sh start DIR ADDRESS IMAGE
#       serve IMAGE as ADDRESS:<free port>/packetflow/mybusybox:latest; writes
#       DIR/address (host:port), DIR/ca.crt and DIR/registry.pid
#   tests/fleet/registry.sh stop DIR
#       stop it and remove its storage
set -euo pipefail

REPOSITORY=packetflow/mybusybox:latest

free_port() {
  python3 -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$1"
}

wait_listening() {
  local i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "docker-registry did not listen on $1:$2" >&2
  return 1
}

# config FILE ADDR PORT [tls]
config() {
  {
    echo "version: 0.1"
    echo "log: {level: warn}"
    echo "storage: {filesystem: {rootdirectory: $DIR/storage}}"
    if [ -n "${4:-}" ]; then
      echo "http: {addr: '$2:$3', tls: {certificate: $DIR/server.crt, key: $DIR/server.key}}"
    else
      echo "http: {addr: '$2:$3'}"
    fi
  } >"$1"
}

start() {
  local address=$1 image=$2 port push_port
  mkdir -p "$DIR"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DIR/ca.key" -out "$DIR/ca.crt" -days 2 \
    -subj "/CN=packetflow fleet registry CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$DIR/server.key" -out "$DIR/server.csr" -subj "/CN=$address" 2>/dev/null
  echo "subjectAltName=IP:$address" >"$DIR/san.ext"
  openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial \
    -out "$DIR/server.crt" -days 2 -extfile "$DIR/san.ext" 2>/dev/null

  # Push through a plain registry on 127.0.0.1 over the same storage: the engine
  # takes loopback registries without TLS, so this machine needs no CA.
  push_port=$(free_port 127.0.0.1)
  config "$DIR/push.yml" 127.0.0.1 "$push_port"
  docker-registry serve "$DIR/push.yml" >"$DIR/push.log" 2>&1 </dev/null &
  local push_pid=$!
  wait_listening 127.0.0.1 "$push_port"
  docker tag "$image" "127.0.0.1:$push_port/$REPOSITORY"
  docker push -q "127.0.0.1:$push_port/$REPOSITORY" >/dev/null
  docker rmi "127.0.0.1:$push_port/$REPOSITORY" >/dev/null
  kill "$push_pid"
  wait "$push_pid" || true

  port=$(free_port "$address")
  config "$DIR/registry.yml" "$address" "$port" tls
  setsid docker-registry serve "$DIR/registry.yml" >"$DIR/registry.log" 2>&1 </dev/null &
  echo $! >"$DIR/registry.pid"
  wait_listening "$address" "$port"
  echo "$address:$port" >"$DIR/address"
  echo "registry $address:$port serves $REPOSITORY (pid $(cat "$DIR/registry.pid"))"
}

stop() {
  local pid
  if [ -s "$DIR/registry.pid" ]; then
    pid=$(cat "$DIR/registry.pid")
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = docker-registry ] && kill "$pid"; then
      timeout 10 sh -c "while kill -0 $pid 2>/dev/null; do sleep 0.1; done"
    fi
  fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) [ $# -eq 4 ] || { echo "usage: $0 start DIR ADDRESS IMAGE" >&2; exit 2; }
         DIR=$2; start "$3" "$4" ;;
  stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
        DIR=$2; stop ;;
  *) echo "usage: $0 start DIR ADDRESS IMAGE | stop DIR" >&2; exit 2 ;;
esac
