# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the run modules (packetflow_scenario, packetflow_flow) need on the target (Linux),
and their shared options."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
requirements:
  - Python Docker SDK (C(docker)) on the target
  - tcpdump, busybox, nsenter, iproute2, and iptables-legacy, iptables-nft plus xtables-monitor, or nft
  - root
attributes:
  platform:
    support: full
    platforms: linux
options:
  workdir:
    description: Directory under which the run's artifacts are written, in a subdirectory named after the run id.
    type: path
    default: /tmp/packetflow
  run_id:
    description:
      - Run id to use (default C(pf-<date>-<random>)).
      - C(pf-) then parts of letters and digits joined by C(-), the last at most 12 characters.
    type: str
"""
