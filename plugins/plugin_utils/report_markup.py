# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pieces the report pages repeat in every row and cell, made in Python.

They are the templates' globals: badges and fates for each of thousands of matrix cells, and
whole tables of thousands of packet and capture rows. A function is several times cheaper
than a Jinja macro or loop. Markup's ``%`` escapes every value it puts in.
"""

from __future__ import annotations

from markupsafe import Markup

from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_flows

_BADGE = Markup('<span class="badge %s">%s</span>')
_FATE = Markup('<span class="fate %s">%s</span>')


def badge(state):
    """A scenario's badge: pass, fail, error or partial."""
    return _BADGE % (state, state)


def flow_badge(state):
    """A flow's badge: pass, mismatch, no expectation or error (report_flows.outcome)."""
    return _BADGE % (state, report_flows.LABELS.get(state, state))


def fate(value):
    """A packet's fate, styled when delivered or dropped, else ``unknown``."""
    return _FATE % (value if value in ("delivered", "dropped") else "unknown", value or "unknown")


_CAPTURE_ROW = Markup(
    '\n<tr><td class="mono">%s</td><td>%s</td><td class="mono">%s → %s</td><td>#%s %s</td><td>%s</td></tr>'
)
_PACKET_ROW = Markup("\n<tr>" + '<td>%s</td><td class="mono">%s</td>' + "<td>%s</td>" * 5 + "</tr>")


def _shown(item, key):
    """A value as a template prints it: nothing when the key is missing (None prints as None)."""
    return item[key] if key in item else ""


def capture_rows(rows):
    """The rows of one interface's capture table (report_model.capture_view), each on its own line."""
    out = []
    for row in rows:
        cap, packet, rel = row["cap"], row["packet"], row["rel"]
        index = cap.get("index")
        out.append(
            _CAPTURE_ROW
            % (
                "" if rel is None else "+%.6f s" % rel,
                cap.get("direction") or "",
                cap.get("src") or "",
                cap.get("dst") or "",
                _shown(packet, "id"),
                _shown(packet, "summary"),
                "" if index is None else index,
            )
        )
    return Markup("").join(out)


def packet_rows(rows):
    """The rows of the list of all packets (report_model.packet_row), each on its own line."""
    out = []
    for row in rows:
        packet = row["p"]
        out.append(
            _PACKET_ROW
            % (
                _shown(packet, "id"),
                _shown(packet, "summary"),
                _shown(packet, "direction"),
                fate(packet.get("fate")),
                row["decided"],
                row["hops"],
                row["ifaces"],
            )
        )
    return Markup("").join(out)
