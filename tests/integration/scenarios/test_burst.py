"""A 10,000-packet burst through a traced flow: whatever is lost on the way is counted, never hidden."""

import os
import subprocess
import sys

import pytest
from conftest import sh

from ansible_collections.dockernet.packetflow.plugins.module_utils.host.run import Run
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.scenario import lost_events, lost_warning

BURST = 10000
SENDER, PEER, PORT = "198.51.100.1", "198.51.100.2", 9
# As fast as it can, to the peer's discard port only; prints how many datagrams left.
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


class BurstWorkload:
    """Two network namespaces on a veth of their own; the sender floods its peer with UDP."""

    stage = "build the burst pair"

    def __init__(self, tag):
        self.netns = ["pf-burst-%s-a" % tag, "pf-burst-%s-b" % tag]
        self.iface = "pfb%s" % tag
        self.holder = None
        self.transmitted = 0

    def build(self, run):
        run.own(self)
        a, b = self.netns
        for argv in (
            ["ip", "netns", "add", a],
            ["ip", "netns", "add", b],
            ["ip", "-n", a, "link", "add", self.iface, "type", "veth", "peer", "name", self.iface, "netns", b],
            ["ip", "-n", a, "addr", "add", SENDER + "/24", "dev", self.iface],
            ["ip", "-n", b, "addr", "add", PEER + "/24", "dev", self.iface],
            ["ip", "-n", a, "link", "set", self.iface, "up"],
            ["ip", "-n", b, "link", "set", self.iface, "up"],
        ):
            subprocess.run(argv, check=True)
        # A process in the sender's namespace, for the tracer to enter by pid.
        self.holder = subprocess.Popen(["ip", "netns", "exec", a, "sleep", "300"])
        return {"netns": self.netns}

    def traffic(self, topology):
        leg = {"src": SENDER, "dst": PEER, "proto": "udp", "dport": PORT}
        return [{"from": SENDER, "to": PEER, "proto": "udp", "port": PORT, "legs": [leg]}]

    def traced_pid(self, topology):
        return self.holder.pid

    def captures(self, topology, items, rundir):
        return [{"iface": self.iface, "path": os.path.join(rundir, "burst.pcap"), "bpf": "udp port %d" % PORT,
                 "netns": self.netns[0], "label": "sender"}]

    def send(self, item):
        out = subprocess.run(["ip", "netns", "exec", self.netns[0], sys.executable, "-c", FLOOD, str(BURST), PEER,
                              str(PORT)], capture_output=True, text=True, timeout=60, check=True).stdout
        self.transmitted = int(out)

    def teardown(self):
        if self.holder is not None:
            self.holder.kill()
            self.holder.wait()
        for netns in self.netns:
            subprocess.run(["ip", "netns", "del", netns], stderr=subprocess.DEVNULL, check=False)
        return []


@pytest.mark.parametrize("backend", ["legacy", "nft"])
def test_burst_loses_nothing_silently(backend, unchanged, tmp_path):
    tag = os.urandom(3).hex()
    workload = BurstWorkload(tag)
    with Run("pf-burst-%s" % tag, backend, str(tmp_path), timeout=20) as run:
        run.execute(workload)
    assert run.error is None, run.error
    assert workload.transmitted == BURST
    lost = lost_events(run)
    sent_on_traced_hooks = workload.transmitted
    print("%s: %d trace events for %d packets on the traced hooks, lost %s, tracer warnings %s" % (
        backend, len(run.lines), sent_on_traced_hooks, lost, run.tracer.warnings))
    assert set(lost) == {"kernel_suppressed", "kmsg_overrun", "monitor_overruns", "capture_kernel_drops"}
    if any(lost.values()):
        warning = lost_warning(lost)
        assert "the trace is incomplete" in warning and str(max(lost.values())) in warning
    else:
        assert len(run.lines) >= sent_on_traced_hooks
    if backend == "legacy":
        assert len(run.lines) + lost["kmsg_overrun"] + lost["kernel_suppressed"] >= sent_on_traced_hooks
    if backend == "nft" and run.tracer.warnings:
        assert lost["monitor_overruns"] >= 1, "the monitor died without its overrun being counted"
    assert sh(["ip", "netns", "list"]).count("pf-burst-%s" % tag) == 0
