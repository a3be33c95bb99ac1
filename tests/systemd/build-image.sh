#!/usr/bin/env bash
# Build packetflow-systemd:bookworm, the image of molecule/systemd: a Debian
# bookworm root made by debootstrap --variant=minbase, with systemd as its init
# and what the prepare roles install already in it, brought in by `docker import`
# (no registry). molecule/systemd/create.yml runs it with the options systemd
# needs in a container, --stop-signal among them (docker import cannot set it).
# Rebuilt only when this script or the mirror changes: the recipe's hash is
# kept in the image's label pff.recipe.
#
#   tests/systemd/build-image.sh
#   PFF_MIRROR=http://deb.debian.org/debian   the Debian mirror
#   PFF_FORCE=1                               rebuild even when cached
set -euo pipefail

IMAGE=packetflow-systemd:bookworm
MIRROR=${PFF_MIRROR:-http://deb.debian.org/debian}
ROOT=${PFF_WORKDIR:-/var/tmp/pff-rootfs}/systemd-bookworm
# systemd as PID 1 with D-Bus (systemctl talks to it), Python for Ansible, and
# the packages of docker_engine, nf_log, rsyslog_kern, tcpdump and lab_image.
PACKAGES=(systemd systemd-sysv dbus python3 python3-apt python3-requests python3-docker docker.io
  iptables nftables tcpdump rsyslog logrotate iproute2 busybox-static procps util-linux kmod iputils-ping)

recipe=$({ cat "$0"; echo "$MIRROR"; } | sha256sum | cut -c1-16)
if [ -z "${PFF_FORCE:-}" ] &&
   [ "$(docker image inspect -f '{{index .Config.Labels "pff.recipe"}}' "$IMAGE" 2>/dev/null)" = "$recipe" ]; then
  echo "$IMAGE is up to date (recipe $recipe)"
  exit 0
fi

start=$(date +%s)
log=$ROOT.log
trap 'echo "failed, see $log" >&2; tail -15 "$log" >&2' ERR
rm -rf "$ROOT"
mkdir -p "$ROOT"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$log" 2>&1
# policy-rc.d keeps the daemons from starting in the chroot; their units stay enabled.
install -m 755 /dev/stdin "$ROOT/usr/sbin/policy-rc.d" <<<$'#!/bin/sh\nexit 101'
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${PACKAGES[@]}" >>"$log" 2>&1
chroot "$ROOT" apt-get clean
rm -f "$ROOT/usr/sbin/policy-rc.d"
# rsyslog reads the kernel log from /dev/kmsg (imkmsg), as on the fleet hosts:
# /proc/kmsg would take the lines away from this machine's own rsyslog.
sed -i 's/load="imklog"/load="imkmsg"/' "$ROOT/etc/rsyslog.conf"
# Units that need a real machine (a console, udev, the kernel's own settings)
# only fail in a container: mask them, so systemctl is-system-running says running.
for unit in getty@tty1.service console-getty.service systemd-udevd.service systemd-sysctl.service \
  systemd-modules-load.service systemd-remount-fs.service sys-kernel-config.mount sys-kernel-debug.mount; do
  ln -sfn /dev/null "$ROOT/etc/systemd/system/$unit"
done
rm -rf "$ROOT"/var/log/*.log "$ROOT"/tmp/* "$ROOT"/var/tmp/*
: >"$ROOT/etc/machine-id"

tar -C "$ROOT" --numeric-owner -c . |
  docker import \
    --change "LABEL pff.recipe=$recipe" \
    --change 'ENV container=docker' \
    --change 'CMD ["/lib/systemd/systemd"]' \
    - "$IMAGE" >/dev/null
rm -rf "$ROOT"
# The image this one replaced is left untagged: remove it.
docker images -q -f dangling=true -f label=pff.recipe | xargs -r docker rmi >/dev/null || true
echo "$IMAGE built (recipe $recipe) in $(($(date +%s) - start)) s"
