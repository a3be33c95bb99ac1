# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sentences on what a trace proves by itself, without a ruleset (inference), and on how well it was read.

The rest of what a person reads is made in narrate.py."""

from __future__ import annotations


def reading_warnings(unreadable, trace_lines, share):
    """A warning when more than share of the trace lines could not be read (none otherwise)."""
    if not unreadable or unreadable <= share * trace_lines:
        return []
    return [
        "%d of %d trace lines (%d%%) could not be read and were left out (see unparsed, with the reason "
        "for each): the packets and verdicts shown may be incomplete."
        % (unreadable, trace_lines, 100 * unreadable // trace_lines)
    ]


def inferred_continue():
    """Why a rule hop followed by the next rule of its chain did not end the chain."""
    return "the next rule of the same chain was traced: this rule matched and the packet went on"


def inferred_return(chain):
    """Why a rule hop followed by its calling chain returned."""
    return "the packet went back to chain %s, which called this one: this rule returned" % chain


def inferred_jump(chain):
    """Why a rule hop followed by another chain at the same hook jumped."""
    return "the packet went on in chain %s at the same hook: this rule jumped there" % chain


def inferred_went_on(following):
    """Why a hop followed by another table or hook did not drop the packet."""
    return "the packet was traced afterwards in %s %s: nothing here dropped it" % (
        following["table"],
        following["hook"] or following["chain"],
    )


def inferred_rewrite(kind):
    """Why a nat rule that ends its table with a changed packet rewrote it."""
    changed = "destination" if kind == "DNAT" else "source"
    return "the packet's %s changed after this nat rule, the last it hit: this rule rewrote it (%s)" % (changed, kind)


def inferred_docker_rule(chain, verdict, versions):
    """Why a trace that ends at a rule of one of Docker's own chains takes that rule's verdict."""
    return "the trace ends at this rule of %s, whose rules %s fills so that such a rule can only %s (assumes %s)" % (
        chain,
        "Docker",
        verdict,
        versions,
    )


def inferred_answered(direction):
    """Why a packet answered later in its connection was delivered."""
    other = "reply" if direction == "request" else "request"
    return "a later %s of the same connection was traced: this packet was delivered" % other


def inferred_contradicted(reason):
    """Why an inferred drop was given up."""
    return "an inferred drop (%s) is contradicted by a later packet of the connection the other way" % reason


def unknown_fate_reason(flags):
    """Plain words for why a packet's fate is unknown."""
    if "inference_contradicted" in flags:
        return "what the trace suggests contradicts itself"
    if "path_incomplete" in flags:
        return "the trace stops before the packet left netfilter, and nothing later proves where it went"
    return (
        "the trace does not say what the last rule or policy did (no ruleset names it), "
        "and nothing later in the trace proves the packet went on"
    )
