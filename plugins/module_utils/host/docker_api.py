# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Docker daemon: the shared module options (doc fragment dockernet.packetflow.docker) and the
one connect-and-ping."""

from __future__ import annotations

try:
    import docker

    HAS_DOCKER = True
except ImportError:
    docker = None
    HAS_DOCKER = False

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


def docker_options(**more):
    """argument_spec entries docker_host and timeout, plus the module's own options."""
    spec = dict(docker_host=dict(type="str", default=DEFAULT_DOCKER_HOST), timeout=dict(type="int", default=10))
    spec.update(more)
    return spec


def connect(docker_host, timeout, docker_mod=None):
    """A docker.DockerClient that answered a ping; RuntimeError naming the address when none does."""
    docker_mod = docker_mod or docker
    try:
        client = docker_mod.DockerClient(base_url=docker_host or DEFAULT_DOCKER_HOST, timeout=timeout)
        client.ping()
    except Exception as exc:
        raise RuntimeError("Docker is not reachable at %s (is dockerd running?): %s" % (docker_host, exc)) from exc
    return client
