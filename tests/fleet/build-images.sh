#!/usr/bin/env bash
# Build the Docker-in-Docker host images of molecule/fleet without a registry:
# debootstrap --variant=minbase of a Debian release, the packages the roles
# install baked in, then `docker import` as packetflow-fleet:<release>.
#
# An image is rebuilt only when its recipe (this script, the release and its
# package list) changes: the recipe hash is stored in the label pff.recipe.
#
#   tests/fleet/build-images.sh [release ...]   default: bookworm trixie sid
#   PFF_MIRROR=http://deb.debian.org/debian     the Debian mirror
#   PFF_FORCE=1                                 rebuild even when cached
#   PFF_CACHE_DIR=DIR                           also keep each image as DIR/<release>-<hash>.tar.gz
#                                               and load it from there (CI caches across machines)
set -euo pipefail

MIRROR=${PFF_MIRROR:-http://deb.debian.org/debian}
WORKDIR=${PFF_WORKDIR:-/var/tmp/pff-rootfs}
REPO=packetflow-fleet
RELEASES=("$@")
[ ${#RELEASES[@]} -gt 0 ] || RELEASES=(bookworm trixie sid)

# What the roles install (docker_engine, nf_log, rsyslog_kern, tcpdump,
# lab_image), python3 and python3-apt for Ansible's modules, and python3-docker
# (the Docker SDK that packetflow_facts and packetflow_scenario import).
COMMON="python3 python3-apt python3-requests python3-docker docker.io iptables nftables tcpdump
rsyslog logrotate iproute2 busybox-static procps util-linux kmod iputils-ping"

packages() {
  case "$1" in
    bookworm) echo "$COMMON" ;;
    # From Debian 13 the client is its own package.
    *) echo "$COMMON docker-cli" ;;
  esac
}

recipe_hash() {
  { sha256sum <"$0"; echo "$1 $MIRROR"; packages "$1"; } | sha256sum | cut -c1-16
}

build() {
  local release=$1 hash root
  hash=$(recipe_hash "$release")
  if [ -z "${PFF_FORCE:-}" ] &&
     [ "$(docker image inspect -f '{{index .Config.Labels "pff.recipe"}}' "$REPO:$release" 2>/dev/null)" = "$hash" ]; then
    echo "$REPO:$release is up to date (recipe $hash)"
    return 0
  fi
  local archive=${PFF_CACHE_DIR:+$PFF_CACHE_DIR/$release-$hash.tar.gz}
  if [ -z "${PFF_FORCE:-}" ] && [ -n "$archive" ] && [ -s "$archive" ]; then
    docker load -q <"$archive" >/dev/null
    echo "$REPO:$release loaded from $archive"
    return 0
  fi
  root=$WORKDIR/$release
  rm -rf "$root"
  mkdir -p "$root"
  echo "debootstrap $release into $root"
  debootstrap --variant=minbase "$release" "$root" "$MIRROR" >"$WORKDIR/$release.log" 2>&1 ||
    { tail -20 "$WORKDIR/$release.log"; return 1; }
  # No daemon may start inside the chroot while packages are installed.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  # shellcheck disable=SC2046
  chroot "$root" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends $(packages "$release") >>"$WORKDIR/$release.log" 2>&1 ||
    { tail -20 "$WORKDIR/$release.log"; return 1; }
  rm -f "$root/usr/sbin/policy-rc.d"
  # imklog reads /proc/kmsg, which hands each kernel line to one reader only:
  # inside an instance it would steal lines from the host's rsyslog. imkmsg
  # reads /dev/kmsg, where every reader sees every line.
  sed -i 's/load="imklog"/load="imkmsg"/' "$root/etc/rsyslog.conf"
  grep -q 'load="imkmsg"' "$root/etc/rsyslog.conf"
  # The package mirror reachable here serves a snapshot: sid's Release file carries a
  # Valid-Until that passes while the image is kept, and apt would then refuse every update.
  echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/90packetflow-snapshot"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/log/*.log "$root"/tmp/* "$root"/var/tmp/*
  : >"$root/etc/machine-id"
  echo "import $REPO:$release"
  tar -C "$root" --numeric-owner -c . |
    docker import \
      --change "LABEL pff.recipe=$hash pff.release=$release" \
      --change 'ENV container=docker' \
      --change 'CMD ["sleep", "infinity"]' \
      - "$REPO:$release" >/dev/null
  rm -rf "$root"
  if [ -n "$archive" ]; then
    mkdir -p "$PFF_CACHE_DIR"
    rm -f "$PFF_CACHE_DIR/$release"-*.tar.gz
    docker save "$REPO:$release" | gzip -1 >"$archive.tmp" && mv "$archive.tmp" "$archive"
  fi
  echo "$REPO:$release built (recipe $hash), docker $(docker run --rm "$REPO:$release" dpkg-query -W -f '${Version}' docker.io)"
}

mkdir -p "$WORKDIR"
start=$(date +%s)
pids=()
for release in "${RELEASES[@]}"; do
  build "$release" &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do
  wait "$pid" || rc=1
done
# Images replaced by a rebuild are left untagged: remove them.
docker images -q -f dangling=true -f label=pff.recipe | xargs -r docker rmi >/dev/null || true
echo "images ready in $(($(date +%s) - start)) s"
exit $rc
