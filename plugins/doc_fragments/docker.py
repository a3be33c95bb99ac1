# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options shared by the modules that talk to the Docker daemon."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker daemon to talk to, as a socket or URL the Python Docker SDK accepts, for example
        C(unix:///var/run/docker.sock) or C(tcp://127.0.0.1:2375).
    type: str
    default: unix:///var/run/docker.sock
  timeout:
    description:
      - Upper bound in seconds of every single wait of the module, each Docker API call and each
        command it runs included.
    type: int
    default: 10
"""
