"""A scratch stand-in for a Docker 29 host, made of network namespaces only, and host snapshots.

The "host" is a namespace of its own (pfr29-host) holding two Linux bridges, the veths of two
"containers" (namespaces pfr29-c0, pfr29-c1) and a link to an "outside" namespace (pfr29-out) on a
documentation range. The replayed ruleset is loaded there, so the real host's own rules (this
machine's Docker and its FORWARD policy) neither see nor change the replay's packets. Every address
is in 192.0.2.0/24 or 198.51.100.0/24 and no packet leaves the namespaces made here.
"""

import re
import subprocess
import sys
import time

PREFIX = "pfr29-"
HOST, C0, C1, OUT = (PREFIX + name for name in ("host", "c0", "c1", "out"))
BRIDGES = [
    {"name": "pfr29br0", "subnet": "192.0.2.0/25", "gateway": "192.0.2.1", "endpoints": ["192.0.2.2"]},
    {"name": "pfr29br1", "subnet": "192.0.2.128/25", "gateway": "192.0.2.129", "endpoints": ["192.0.2.130"]},
]
CONTAINERS = {C0: ("pfr29v0", BRIDGES[0]), C1: ("pfr29v1", BRIDGES[1])}
OUTSIDE_IP, HOST_OUTSIDE_IP = "198.51.100.2", "198.51.100.1"
# c1 serves on 80, published on the host's port 8080 (as `docker run -p 8080:80` on bridge pfr29br1).
PUBLISHED = [{"bridge": "pfr29br1", "ip": "192.0.2.130", "proto": "tcp", "port": 80, "host_port": 8080}]
SYSCTLS = (
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv4/conf/all/forwarding",
    "/proc/sys/net/ipv4/conf/all/rp_filter",
    "/proc/sys/net/bridge/bridge-nf-call-iptables",
    "/proc/sys/net/netfilter/nf_log/2",
    "/proc/sys/net/netfilter/nf_log_all_netns",
)


def sh(argv, check=True, timeout=20):
    """Run argv; return stdout (raise with stderr when check and it fails)."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError("%s failed (rc %s): %s" % (" ".join(argv), proc.returncode, proc.stderr.strip()))
    return proc.stdout


def inside(netns, *argv):
    """argv run in a namespace of the topology."""
    return ["ip", "netns", "exec", netns] + list(argv)


def read_sysctl(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def snapshot():
    """The host state the replay must leave exactly as found: ruleset, namespaces, links, sysctls."""
    ruleset = re.sub(r"counter packets \d+ bytes \d+", "counter", sh(["nft", "list", "ruleset"]))
    return {
        "nft list ruleset": ruleset,
        "ip netns": sorted(sh(["ip", "netns", "list"]).splitlines()),
        "links": sorted(re.findall(r"^\d+: ([^:@]+)", sh(["ip", "-o", "link", "show"]), re.M)),
        "sysctls": {path: read_sysctl(path) for path in SYSCTLS},
    }


class Topology:
    """Build the scratch namespaces and processes; teardown() removes all of them, whatever failed."""

    def __init__(self):
        self.netns = []
        self.procs = []
        self.stand_in = None

    def build(self):
        leftovers = [n for n in sh(["ip", "netns", "list"]).split() if n.startswith(PREFIX)]
        if leftovers:
            raise RuntimeError("namespaces %s are left from an earlier run: delete them (ip netns delete)" % leftovers)
        for netns in (HOST, C0, C1, OUT):
            sh(["ip", "netns", "add", netns])
            self.netns.append(netns)
            sh(["ip", "-n", netns, "link", "set", "lo", "up"])
        sh(inside(HOST, "sysctl", "-qw", "net.ipv4.ip_forward=1"))
        for bridge in BRIDGES:
            sh(["ip", "-n", HOST, "link", "add", bridge["name"], "type", "bridge"])
            sh(["ip", "-n", HOST, "addr", "add", "%s/25" % bridge["gateway"], "dev", bridge["name"]])
            sh(["ip", "-n", HOST, "link", "set", bridge["name"], "up"])
        for netns, (veth, bridge) in CONTAINERS.items():
            self._wire(veth, netns, bridge["endpoints"][0] + "/25", bridge["gateway"])
            sh(["ip", "-n", HOST, "link", "set", veth, "master", bridge["name"]])
        self._wire("pfr29vo", OUT, OUTSIDE_IP + "/30", None)
        sh(["ip", "-n", HOST, "addr", "add", HOST_OUTSIDE_IP + "/30", "dev", "pfr29vo"])
        self.stand_in = self.spawn(HOST, "sleep", "300")
        self.spawn(C1, sys.executable, "-m", "http.server", "80", "--bind", PUBLISHED[0]["ip"])
        self._wait_listening(C1, 80)

    def _wire(self, host_end, netns, address, gateway):
        """A veth from the host namespace into netns, eth0 there with address (and a default route)."""
        sh(["ip", "-n", HOST, "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", netns])
        sh(["ip", "-n", HOST, "link", "set", host_end, "up"])
        sh(["ip", "-n", netns, "addr", "add", address, "dev", "eth0"])
        sh(["ip", "-n", netns, "link", "set", "eth0", "up"])
        if gateway:
            sh(["ip", "-n", netns, "route", "add", "default", "via", gateway])

    def spawn(self, netns, *argv):
        proc = subprocess.Popen(inside(netns, *argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    @staticmethod
    def _wait_listening(netns, port, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if re.search(r":%d\s" % port, sh(inside(netns, "ss", "-Hltn"), check=False)):
                return
            time.sleep(0.05)
        raise RuntimeError("nothing listens on port %s in %s after %ss" % (port, netns, timeout))

    def load(self, script):
        """Load an nft script in the host stand-in."""
        proc = subprocess.run(inside(HOST, "nft", "-f", "-"), input=script, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError("nft -f failed: %s" % proc.stderr.strip())

    def teardown(self):
        """Stop the processes, delete the namespaces (their links go with them); return error messages."""
        errors = []
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for netns in reversed(self.netns):
            proc = subprocess.run(["ip", "netns", "delete", netns], capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                errors.append("ip netns delete %s: %s" % (netns, proc.stderr.strip()))
        self.procs, self.netns = [], []
        return errors
