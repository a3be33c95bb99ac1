# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scenario options checked before anything changes: each refusal names the option, the value and the fix."""

from __future__ import annotations

import re

from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue import scenarios
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import check_run_id

FATES = ("delivered", "dropped", "unknown")
EXPECT_KEYS = ("fate", "at", "via")
RANGES = {
    "port": (0, 65535, "a free host port, or 0 for a free one"),
    "count": (1, 1000, "a number of echo requests from 1 to 1000"),
    "timeout": (1, 3600, "a number of seconds from 1 to 3600"),
}
# Docker refuses a one-character name: "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed".
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def _check_expect(expect):
    unknown = sorted(set(expect) - set(EXPECT_KEYS))
    if unknown:
        raise ValueError("expect has unknown key(s) %s: use only %s" % (", ".join(unknown), ", ".join(EXPECT_KEYS)))
    if expect.get("fate") is not None and expect["fate"] not in FATES:
        raise ValueError("expect.fate must be one of %s (got %r)" % (", ".join(FATES), expect["fate"]))
    for key, places in (("at", [expect.get("at")]), ("via", expect.get("via") or [])):
        for where in places:
            if where is not None and ":" not in str(where):
                raise ValueError("expect.%s entries are table:chain, e.g. filter:FORWARD (got %r)" % (key, where))


def validate(params):
    """Raise ValueError on the first option a scenario run cannot use."""
    if params["scenario"] not in scenarios.SCENARIOS:
        raise ValueError("scenario must be one of %s (got %r)" % (", ".join(scenarios.names()), params["scenario"]))
    for option, (low, high, fix) in RANGES.items():
        value = params[option]
        if not low <= value <= high:
            raise ValueError("%s must be between %s and %s (got %s): use %s" % (option, low, high, value, fix))
    for option in ("name", "second_name"):
        if not _CONTAINER_NAME.match(params[option] or ""):
            raise ValueError(
                "%s must be a Docker container name, two or more of [a-zA-Z0-9_.-] not starting with _ . or -, "
                "such as web1 (got %r)" % (option, params[option])
            )
    family = params.get("family") or "ipv4"
    if family not in scenarios.FAMILIES:
        raise ValueError(
            "family must be one of %s (got %r): use ipv4, or ipv6 on a host whose Docker has IPv6 on"
            % (", ".join(scenarios.FAMILIES), family)
        )
    if family not in scenarios.SCENARIOS[params["scenario"]].get("families", scenarios.FAMILIES):
        raise ValueError(
            "scenario %s does not run in family %s (see the README's IPv6 section): use family ipv4 for it"
            % (params["scenario"], family)
        )
    if params.get("run_id"):
        check_run_id(params["run_id"])
    _check_expect(params.get("expect") or {})
