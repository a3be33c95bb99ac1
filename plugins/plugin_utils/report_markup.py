# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The small badges the report pages repeat in every row and cell, made in Python.

They are the templates' ``badge`` and ``fate`` globals: called for each of thousands of
packet rows and matrix cells, a function is several times cheaper than a Jinja macro.
Markup's ``%`` escapes every value it puts in.
"""

from __future__ import annotations

from markupsafe import Markup

_BADGE = Markup('<span class="badge %s">%s</span>')
_FATE = Markup('<span class="fate %s">%s</span>')


def badge(state):
    """A scenario's badge: pass, fail, error or partial."""
    return _BADGE % (state, state)


def fate(value):
    """A packet's fate, styled when delivered or dropped, else ``unknown``."""
    return _FATE % (value if value in ("delivered", "dropped") else "unknown", value or "unknown")
