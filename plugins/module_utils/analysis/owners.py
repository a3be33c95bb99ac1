# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whose rule a hop matched: Docker's, ufw's, firewalld's, the chain's policy, or the user's own."""

from __future__ import annotations

import re

# Rules Docker writes outside its own chains: jumps into them, its bridges' forwarding and
# masquerading, and (28.2+) the raw PREROUTING drop of direct access to container addresses.
_DOCKER_BRIDGE = re.compile(r"(?:^|\s)!?\s*-[io] (?:docker\d+|br-[0-9a-f]{12})\b")
_DOCKER_JUMP = re.compile(r"-[jg] DOCKER")
# The hairpin masquerade Docker adds for each published port: from a container to itself.
_DOCKER_HAIRPIN = re.compile(r"-s (\S+)/32 -d \1/32 .*-j MASQUERADE")


def owner(hop, bridges=()):
    """docker | ufw | firewalld | policy | user; None for a TRACE rule or a hop without a rule.
    bridges: the host's Docker bridges, when known (a bridge may be named anything)."""
    chain = hop.get("chain") or ""
    table = hop.get("table") or ""
    text = hop.get("rule_text") or ""
    if hop.get("type") in ("policy", "return"):
        return "policy"
    if chain.lower().startswith(("ufw-", "ufw6-")):
        return "ufw"
    if "firewalld" in table:
        return "firewalld"
    if table.startswith("docker") or chain == "DOCKER-USER" and _is_docker_return(text):
        return "docker"
    if chain.startswith("DOCKER") and chain != "DOCKER-USER":
        return "docker"
    if "packetflow:" in text or text.endswith("-j TRACE"):
        return None
    if _DOCKER_JUMP.search(text) or _DOCKER_BRIDGE.search(text) or _names_bridge(text, bridges):
        return "docker"
    if "DROP DIRECT ACCESS" in text or _DOCKER_HAIRPIN.search(text):
        return "docker"
    if chain == "DOCKER-USER" or text:
        return "user"
    return None


def _is_docker_return(text):
    """Docker 20.10-27 ends DOCKER-USER with a bare RETURN of its own."""
    return text.strip() in ("-A DOCKER-USER -j RETURN", "return", "counter return")


def _names_bridge(text, bridges):
    """True when an iptables rule matches on one of the Docker bridges as its in or out interface."""
    words = text.split()
    return any(flag in ("-i", "-o") and name in bridges for flag, name in zip(words, words[1:]))
