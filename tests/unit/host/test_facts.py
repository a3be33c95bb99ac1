# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A network's gateway when Docker's IPAM config has none (a freshly started Docker 20.10)."""

from __future__ import annotations

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import facts


def network(bridge, **config):
    return {"Id": "0123456789abcdef", "Options": {"com.docker.network.bridge.name": bridge},
            "IPAM": {"Config": [dict(Subnet="127.0.0.0/8", **config)]}}


def test_the_gateway_comes_from_the_bridge_address_when_ipam_has_none():
    # lo stands in for docker0: the real `ip -4 -j addr show dev` reads its address.
    assert facts.network_gateway(network("lo")) == "127.0.0.1"


def test_ipam_gateway_wins_when_present():
    assert facts.network_gateway(network("lo", Gateway="172.17.0.1")) == "172.17.0.1"


def test_no_such_bridge_gives_no_gateway():
    assert facts.network_gateway(network("pf-nosuchbr0")) is None


def test_bridge_name_defaults_to_br_and_the_id():
    assert facts.bridge_name({"Id": "0123456789abcdef", "Options": {}}) == "br-0123456789ab"
