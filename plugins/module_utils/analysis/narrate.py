# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every sentence and label a person reads: made here, used by the modules and the report."""

from __future__ import annotations


def outcome(traffic, expected, observed, packets):
    """One sentence on a run's outcome, naming the rule that decided it."""
    what = "; ".join("%s %s -> %s%s" % (i["proto"].upper(), i["from"], i["to"], ":%s" % i["port"] if i["port"] else "")
                     for i in traffic)
    at = observed.get("fate_at") or {}
    if observed["fate"] == "dropped":
        rule = at.get("rule_text") or ""
        text = "%s: dropped by %s %s %s %s%s." % (
            what, at.get("table"), at.get("chain"), at.get("type", "rule"), at.get("rule", ""),
            " (%s)" % rule if rule else "")
    else:
        text = "%s: %s." % (what, observed["fate"])
    nats = [n.get("text") for p in packets for n in p.get("nat") or [] if n.get("text")]
    if nats:
        text += " NAT: %s." % "; ".join(sorted(set(nats)))
    return "%s %s" % (text, expected.get("why", ""))
