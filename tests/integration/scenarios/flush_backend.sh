#!/usr/bin/env bash
# Empty one iptables back end's IPv4 tables: flush_backend.sh <legacy|nft> ...
# Docker leaves its rules behind when dockerd stops, and rules of two back ends loaded at once
# give mixed, misleading traces. Run it with dockerd stopped.
set -euo pipefail
for backend in "$@"; do
  for table in raw mangle nat filter security; do
    case $backend in
      nft) nft delete table ip "$table" 2>/dev/null || true ;;
      legacy)
        iptables-legacy -t "$table" -F 2>/dev/null || continue
        iptables-legacy -t "$table" -X
        for chain in $(iptables-legacy -t "$table" -S | awk '$1 == "-P" {print $2}'); do
          iptables-legacy -t "$table" -P "$chain" ACCEPT
        done
        ;;
      *) echo "usage: $0 legacy|nft ..." >&2; exit 2 ;;
    esac
  done
done
