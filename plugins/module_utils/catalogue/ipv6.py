# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What changes in a scenario's expectation when it runs in IPv6, by Docker version (read from moby's source):

- ip6tables (Docker's IPv6 rules, NAT66 of published ports and of traffic leaving a bridge) is off by default
  before 27 (where it takes experimental: true) and on by default from 27; without it Docker writes no IPv6
  rule at all, and the scenarios are refused (host/family.py says how to turn it on);
- DOCKER-USER exists for IPv6 from 25 only: before, ip6tables' FORWARD jumps to Docker's other chains alone;
- the IPv6 path of the same bridge reaches ip6tables only through bridge-nf-call-ip6tables.
"""

from __future__ import annotations

DOCKER_USER_V6 = (25, 0, 0)
IP6TABLES_DEFAULT = (27, 0, 0)


def family_facts(facts, family):
    """The facts as the expectation of a family reads them: in IPv6, br_netfilter is bridge-nf-call-ip6tables."""
    if family != "ipv6":
        return facts
    call = facts.get("bridge_nf_call_ip6tables")
    return dict(facts, br_netfilter=call == "1", bridge_nf_call_iptables=call)


def adjust(exp, facts, version):
    """Turn an IPv4 expectation (of the same scenario on the same host) into the IPv6 one, in place."""
    if version < DOCKER_USER_V6 and "filter:DOCKER-USER" in exp["via"]:
        exp["via"] = [hop for hop in exp["via"] if hop != "filter:DOCKER-USER"]
        exp["why"] += " In IPv6, Docker before 25 has no DOCKER-USER chain in ip6tables."
    exp["why"] += " (IPv6: the same chains in ip6tables%s.)" % (
        ", with ip6tables on by default" if version >= IP6TABLES_DEFAULT else ", ip6tables on (experimental)"
    )
    return exp
