# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way a host, scenario or file name becomes a name on disk or in a link.

Used by the report and, through the ``dockernet.packetflow.host_dir`` filter, by the trace
role, so that both put a host's results.json and its page in the same folder.
"""

from __future__ import annotations

import hashlib
import re

MAX_LENGTH = 80
# A digest marks every name that had to change: 1 separator and 8 hex digits.
_DIGEST_LENGTH = 9
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Names the report itself writes next to the host folders.
RESERVED = frozenset({"index.html"})


def dir_name(name, default="_"):
    """Return ``name`` as one safe path component, distinct for distinct names.

    A name of letters, digits, ``.``, ``_`` and ``-`` only, not starting with a dot, at most
    80 characters long and not reserved, stays as it is. Any other name (an empty one included)
    is sanitized and capped, then ends in ``-`` and 8 hex digits of the SHA-1 of the original
    name, so ``a/b`` and ``a_b`` never share a folder, without knowing the other names.
    """
    text = str(name if name is not None else "")
    safe = _UNSAFE.sub("_", text).lstrip(".")
    if safe and safe == text and len(safe) <= MAX_LENGTH and safe not in RESERVED:
        return safe
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[: _DIGEST_LENGTH - 1]
    return "%s-%s" % (safe[: MAX_LENGTH - _DIGEST_LENGTH] or default, digest)


def scenario_key(scenario):
    """What tells one scenario result from another: its id, with ``-ipv6`` for a run in IPv6 (an IPv4 run,
    or one of a result without a family, keeps its bare id, as before families)."""
    name = scenario.get("scenario")
    return "%s-%s" % (name, scenario["family"]) if name and scenario.get("family") not in (None, "ipv4") else name
