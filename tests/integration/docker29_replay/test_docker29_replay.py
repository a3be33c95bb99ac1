"""REPLAY of Docker 29's documented nftables ruleset, NOT a Docker 29 run.

No Docker 29 can be had here, so this test loads the `ip docker-bridges` table that moby documents for
Docker 29 (integration/network/bridge/nftablesdoc/ at tag docker-v29.1.0, rebuilt by
replay29_ruleset.py) into a scratch topology of namespaces (replay29_topology.py), sends traffic,
traces it with the collection's own nftables tracer (``nft monitor trace``), builds journeys with
build_journeys and checks them against the collection's own expectations for a Docker 29 nftables
host (catalogue/scenarios.py). It shows that the tracer, parser and expectations agree with the
documented ruleset; it says nothing about what a real Docker 29 daemon installs beyond those docs.

Needs root; run it under the engine lock (flock /tmp/pf-engine.lock). The host is left as found:
the module fixture compares snapshots taken before and after, also when a test fails midway.
"""

import os
import subprocess
import sys

import pytest
from replay29_ruleset import nft_script
from replay29_topology import BRIDGES, C0, HOST_OUTSIDE_IP, OUT, OUTSIDE_IP, PUBLISHED, Topology, inside, snapshot

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.journeys import build_journeys
from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue import scenarios, verdict
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import new_run_id
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.tracer import Tracer

# What packetflow_facts would report on a Docker 29 host running the nftables back end.
FACTS_29 = {"docker_version": "29.1.0", "backend": "nftables", "br_netfilter": False, "userland_proxy": True}
C0_IP, C1_IP = BRIDGES[0]["endpoints"][0], BRIDGES[1]["endpoints"][0]
HOST_PORT = PUBLISHED[0]["host_port"]
# The outside client (busybox wget crashes in a bare namespace here): exit 0 when an HTTP reply comes.
HTTP_GET = (
    "import socket, sys; s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3); "
    "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); sys.exit(0 if s.recv(16).startswith(b'HTTP/') else 1)"
)
TRAFFIC = {
    "cross_network": {
        "from": C0,
        "to": C1_IP,
        "proto": "icmp",
        "port": None,
        "argv": ["busybox", "ping", "-c", "1", "-W", "1", C1_IP],
        "legs": [{"src": C0_IP, "dst": C1_IP, "proto": "icmp"}],
    },
    "external_to_published": {
        "from": OUT,
        "to": HOST_OUTSIDE_IP,
        "proto": "tcp",
        "port": HOST_PORT,
        "argv": [sys.executable, "-c", HTTP_GET, HOST_OUTSIDE_IP, str(HOST_PORT)],
        "legs": [
            {"src": OUTSIDE_IP, "dst": HOST_OUTSIDE_IP, "proto": "tcp", "dport": HOST_PORT},
            {"src": OUTSIDE_IP, "dst": C1_IP, "proto": "tcp", "dport": PUBLISHED[0]["port"]},
        ],
    },
    "container_to_external": {
        "from": C0,
        "to": OUTSIDE_IP,
        "proto": "icmp",
        "port": None,
        "argv": ["busybox", "ping", "-c", "1", "-W", "2", OUTSIDE_IP],
        "legs": [
            {"src": C0_IP, "dst": OUTSIDE_IP, "proto": "icmp"},
            {"src": HOST_OUTSIDE_IP, "dst": OUTSIDE_IP, "proto": "icmp"},
        ],
    },
}


@pytest.fixture(scope="module")
def replay_host():
    """The scratch topology with the documented table loaded; the host is compared before and after."""
    if os.geteuid() != 0:
        pytest.fail("the Docker 29 replay needs root (it creates network namespaces)")
    before = snapshot()
    topology = Topology()
    try:
        topology.build()
        topology.load(nft_script(BRIDGES, PUBLISHED))
        yield topology
    finally:
        errors = topology.teardown()
        after = snapshot()
        assert not errors, errors
        for key, value in before.items():
            assert after[key] == value, "%s changed:\nbefore:\n%s\nafter:\n%s" % (key, value, after[key])


def traced(topology, scenario, workdir):
    """Send one scenario's traffic under the collection's nftables tracer; return (observed, item)."""
    item = dict(TRAFFIC[scenario])
    tracer = Tracer("nftables", new_run_id(), item["legs"], str(workdir), pid=topology.stand_in.pid)
    try:
        tracer.start_collector()
        tracer.arm()
        sent = subprocess.run(inside(item["from"], *item["argv"]), capture_output=True, timeout=10, check=False)
        ruleset = tracer.ruleset()
        lines = tracer.collect()
    finally:
        tracer.stop()
        errors = tracer.disarm()
    assert not errors, errors
    item["ok"] = sent.returncode == 0
    packets = build_journeys(lines, trace_format=tracer.trace_format, ruleset=ruleset)["packets"]
    return verdict.observe([item], packets), item


def assert_expected(scenario, observed):
    """The collection's expectation for a Docker 29 nftables host holds for the observed journeys."""
    expected = scenarios.expectation(scenario, FACTS_29)
    passed, diff = verdict.compare(expected, observed)
    assert passed, diff
    return expected


def test_cross_network_is_dropped_in_raw_prerouting_by_drop_direct_access(replay_host, tmp_path):
    observed, item = traced(replay_host, "cross_network", tmp_path)
    expected = assert_expected("cross_network", observed)
    assert not item["ok"]
    assert expected["fate"] == observed["fate"] == "dropped"
    assert expected["at"] == "docker-bridges:raw-PREROUTING"
    assert observed["fate_at"]["chain"] == "raw-PREROUTING"
    assert 'comment "DROP DIRECT ACCESS"' in observed["fate_at"]["rule_text"]


def test_published_port_is_dnatted_and_delivered(replay_host, tmp_path):
    observed, item = traced(replay_host, "external_to_published", tmp_path)
    expected = assert_expected("external_to_published", observed)
    assert item["ok"]
    assert expected["fate"] == observed["fate"] == "delivered"
    assert "docker-bridges:nat-prerouting-and-output" in expected["via"]
    assert "docker-bridges:filter-forward-in__pfr29br1" in observed["path"]


def test_container_to_outside_is_masqueraded(replay_host, tmp_path):
    observed, item = traced(replay_host, "container_to_external", tmp_path)
    expected = assert_expected("container_to_external", observed)
    assert item["ok"]
    assert expected["fate"] == observed["fate"] == "delivered"
    assert "docker-bridges:nat-postrouting-out__pfr29br0" in observed["path"]
