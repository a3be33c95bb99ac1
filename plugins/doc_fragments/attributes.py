# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every module shares: its authors, the attribute descriptions and the action group; each module states
its own support."""

from __future__ import annotations


class ModuleDocFragment:
    # What each attribute means. Every module extends this and sets support (and details) itself.
    DOCUMENTATION = r"""
author:
  - dockernet.packetflow maintainers (@dockernet)
options: {}
attributes:
  check_mode:
    description: Can run in check mode and then reports what it would change, without changing the target.
  diff_mode:
    description: Returns what it changed (or would change, in check mode) when run in diff mode.
  platform:
    description: Target operating systems the module works on.
  action_group:
    description: Use C(group/dockernet.packetflow.packetflow) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - dockernet.packetflow.packetflow
"""

    # Modules that need a Linux host: netfilter, network namespaces, tcpdump and the Docker engine.
    LINUX = r"""
options: {}
attributes:
  platform:
    support: full
    platforms: linux
"""

    # Modules that only read the target.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - The module changes nothing, so it runs the same in check mode.
  diff_mode:
    support: none
"""
