"""A 10,000-datagram burst through a traced flow, traced the way a user traces real traffic: packetflow_flow in
observe mode while the burst runs, on the back end dockerd runs on (the suite runs under iptables-nft, then
again under iptables-legacy). Whatever is lost on the way must reach the module's result (stats.lost and a
warning) and the report page made from it, never be hidden."""

import html
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from conftest import run_module

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import state_path
from ansible_collections.dockernet.packetflow.plugins.plugin_utils import report_render

BURST = 10000
PORT = 9
LOST = ("kernel_suppressed", "kmsg_overrun", "monitor_overruns", "capture_kernel_drops")
# As fast as it can, to the target's discard port only; prints how many datagrams left.
FLOOD = """
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = 0
for i in range(int(sys.argv[1])):
    try:
        sent += sock.sendto(b"x" * 32, (sys.argv[2], int(sys.argv[3]))) > 0
    except OSError:
        pass
print(sent)
"""
# How the result's warning words each count of stats.lost.
WORDING = {
    "kernel_suppressed": "%d kernel log messages suppressed by its rate limit",
    "kmsg_overrun": "%d kernel log records overwritten before they were read",
    "monitor_overruns": "%d trace monitor buffer overruns (ENOBUFS)",
    "capture_kernel_drops": "%d packets dropped by tcpdump's kernel buffer",
}


@pytest.fixture
def target():
    """A container of the test's own on the default bridge: the burst's destination."""
    name = "pf-burst-%s" % os.urandom(3).hex()
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "mybusybox:latest", "sleep", "600"], capture_output=True, check=True
    )
    try:
        address = subprocess.run(
            ["docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        yield name, address
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    gone = subprocess.run(
        ["docker", "ps", "-a", "-q", "--filter", "name=^%s$" % name], capture_output=True, text=True, check=False
    )
    assert gone.stdout.strip() == ""


def capturing(run_id):
    """Whether the run's captures all listen: the run records their pids only once every one does."""
    try:
        with open(state_path(run_id)) as handle:
            pids = json.load(handle)["pids"]
    except (OSError, ValueError):
        return False
    for pid in pids:
        try:
            with open("/proc/%d/comm" % pid) as handle:
                if handle.read().strip() == "tcpdump":
                    return True
        except OSError:
            continue
    return False


def observe_burst(tmp_path, name, address):
    """packetflow_flow observing host -> target udp/9 while the burst is sent; (result, datagrams sent)."""
    run_id = "pf-burst-%s" % os.urandom(4).hex()
    args = dict(
        name="burst",
        src="host",
        dst=name,
        proto="udp",
        port=PORT,
        mode="observe",
        duration=20,
        max_packets=BURST,
        timeout=10,
        workdir=str(tmp_path),
        run_id=run_id,
    )
    outcome = {}
    module = threading.Thread(
        target=lambda: outcome.update(result=run_module("packetflow_flow", args, timeout=300, tmp_path=tmp_path))
    )
    module.start()
    deadline = time.monotonic() + 60
    while not capturing(run_id):
        assert module.is_alive() and time.monotonic() < deadline, "the flow never started capturing: %s" % outcome
        time.sleep(0.05)
    sent = subprocess.run(
        [sys.executable, "-c", FLOOD, str(BURST), address, str(PORT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    module.join(300)
    assert not module.is_alive(), "packetflow_flow did not end"
    return outcome["result"], int(sent)


def page_text(tmp_path, result):
    """The host page the collection's report code makes from the result, as text."""
    written = report_render.render(report_render.documents(results=[result]), str(tmp_path / "report"))
    with open(written["pages"][0], encoding="utf-8") as handle:
        return html.unescape(handle.read())


def test_burst_loses_nothing_silently(unchanged, target, tmp_path):
    result, transmitted = observe_burst(tmp_path, *target)
    assert not result.get("failed"), result.get("msg")
    assert result["error"] is None, result["error"]
    assert transmitted == BURST
    backend = result["host"]["backend"]
    assert backend in ("legacy", "nft"), backend
    stats, warnings = result["stats"], result["warnings_list"]
    lost = stats["lost"]
    print(
        "%s: %d trace events, %d captured for %d datagrams, lost %s, warnings %s"
        % (backend, stats["trace_events"], stats["captured"], transmitted, lost, warnings)
    )
    assert set(lost) == set(LOST)
    assert lost["capture_kernel_drops"] == stats["kernel_drops"]
    page = page_text(tmp_path, result)
    incomplete = [w for w in warnings if "the trace is incomplete" in w]
    if any(lost.values()):
        # The result says so in one warning that gives every count of stats.lost, and so does the page.
        assert len(incomplete) == 1, warnings
        for key in LOST:
            assert WORDING[key] % lost[key] in incomplete[0], (key, incomplete[0])
        assert incomplete[0] in page
    else:
        assert not incomplete and "the trace is incomplete" not in page
        assert stats["trace_events"] >= transmitted
    if backend == "legacy":
        assert stats["trace_events"] + lost["kmsg_overrun"] + lost["kernel_suppressed"] >= transmitted
    if backend == "nft" and any("the trace monitor exited" in w for w in warnings):
        assert lost["monitor_overruns"] >= 1, "the monitor died without its overrun being counted"
