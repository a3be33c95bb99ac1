# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the run modules (scenario, flow) end: one exit path for a result, a refusal and a crash."""

from __future__ import annotations

import time
import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import docker_api


def run_options(**more):
    """argument_spec of a run module: docker_host and timeout, workdir and run_id (doc fragment run), and its own."""
    return docker_api.docker_options(
        workdir=dict(type="path", default="/tmp/packetflow"), run_id=dict(type="str"), **more
    )


def finish(module, run, reader=False, **identity):
    """Call run(docker_mod) and exit with its result; fail on a refusal, an error, a mismatch or a crash.

    docker_mod is the Docker SDK, or with reader (a run that only reads from the engine)
    docker_api.READER, which needs the SDK only for addresses other than unix:// and tcp://.
    identity (scenario, run_id, ...) is returned with a refusal or a crash, which have no result."""
    if not reader and not docker_api.HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker"))
    started = time.time()
    try:
        result = run(docker_api.READER if reader else docker_api.sdk())
    except (RuntimeError, ValueError) as exc:
        module.fail_json(
            msg=str(exc), error=str(exc), seconds=round(time.time() - started, 3), changed=False, **identity
        )
    except Exception as exc:
        module.fail_json(
            msg="%s failed unexpectedly: %s" % (module._name, exc),
            error=str(exc),
            exception=traceback.format_exc(),
            seconds=round(time.time() - started, 3),
            changed=False,
            **identity,
        )
    if result.get("error"):
        module.fail_json(msg=result["error"], changed=False, **result)
    if result.get("passed") is False and module.params["fail_on_mismatch"]:
        module.fail_json(msg=result["mismatch"], changed=False, **result)
    module.exit_json(changed=False, **result)
