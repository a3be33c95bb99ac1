"""packetflow_flow end to end on the real engine, on the back end dockerd runs on, against a user's own
setup made here *without* the collection's labels: an app/db pair on a user bridge, a web container
publishing a port on the default bridge, a host-network server, a container sharing another's
network, one without a network, a DOCKER-USER DROP rule and ufw-style chains. Each flow's named rule
and fate are asserted, and the user's objects and rules are compared before and after."""

import re
import subprocess
import time

import pytest
from conftest import run_module, sh, snapshot

PREFIX = "pfu-"
HOSTNET_PORT = 18473
UNROUTABLE = "198.51.100.77"
DISTROLESS = "pfu-distroless:test"
FIREWALLD_PORT = 18474
# firewalld's own nftables table, next to Docker's iptables rules, as firewalld (nftables back end) makes it.
FIREWALLD = """table inet firewalld {
  chain filter_INPUT {
    type filter hook input priority filter + 10; policy accept;
    ip saddr 198.51.100.0/24 tcp dport %d drop
  }
}
""" % FIREWALLD_PORT


def docker(*args):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=True).stdout.strip()


def backend():
    """iptables-legacy or iptables-nft: where Docker's own chains are."""
    return "legacy" if ":DOCKER " in sh(["iptables-legacy-save", "-t", "filter"]) else "nft"


def ipt(*args):
    subprocess.run(["iptables-%s" % backend(), "-w", "5"] + list(args), check=True)


def address(name, network):
    return docker("inspect", "-f", "{{(index .NetworkSettings.Networks \"%s\").IPAddress}}" % network, name)


def build_distroless(workdir):
    """An image with nothing but one static binary that waits (no shell, no tools), built here from scratch."""
    (workdir / "pause.c").write_text("#include <unistd.h>\nint main(void) { for (;;) pause(); }\n")
    subprocess.run(["gcc", "-static", "-Os", "-s", "-o", str(workdir / "pause"), str(workdir / "pause.c")], check=True)
    (workdir / "Dockerfile").write_text("FROM scratch\nCOPY pause /pause\nENTRYPOINT [\"/pause\"]\n")
    subprocess.run(["docker", "build", "-q", "-t", DISTROLESS, str(workdir)], check=True, capture_output=True)


def user_state():
    """The user's own objects: every container and network, every rule (counters aside), the sysctls."""
    rules = sh(["iptables-%s-save" % backend()])
    return {
        "containers": docker("ps", "-a", "--format", "{{.ID}} {{.Names}} {{.State}}").split("\n"),
        "networks": sorted(docker("network", "ls", "--format", "{{.ID}} {{.Name}}").split("\n")),
        "rules": re.sub(r"\[\d+:\d+\]|^#.*$", "", rules, flags=re.M),
        "routes": sh(["ip", "-4", "route", "show", "table", "all"]),
        "sysctls": [sh(["cat", path]) for path in (
            "/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/bridge/bridge-nf-call-iptables",
            "/proc/sys/net/netfilter/nf_log_all_netns")],
    }


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The user's own containers, networks and rules; removed at the end whatever happened."""
    made = {"containers": [], "networks": [], "rules": []}

    def run(name, *args):
        docker("run", "-d", "--name", PREFIX + name, *args)
        made["containers"].append(PREFIX + name)

    try:
        docker("network", "create", PREFIX + "app")
        made["networks"].append(PREFIX + "app")
        run("db", "--network", PREFIX + "app", "mybusybox:latest", "httpd", "-f", "-p", "5432", "-h", "/")
        run("api", "--network", PREFIX + "app", "mybusybox:latest", "sleep", "3600")
        build_distroless(tmp_path_factory.mktemp("distroless"))
        made["image"] = True
        run("bare", "--network", PREFIX + "app", DISTROLESS)
        run("side", "--network", "container:%sapi" % PREFIX, "mybusybox:latest", "sleep", "3600")
        run("web", "-p", "0:80", "mybusybox:latest", "httpd", "-f", "-p", "80", "-h", "/")
        run("hostnet", "--network", "host", "mybusybox:latest", "httpd", "-f", "-p", str(HOSTNET_PORT), "-h", "/")
        run("alone", "--network", "none", "mybusybox:latest", "sleep", "3600")
        run("hostnet2", "--network", "host", "mybusybox:latest", "httpd", "-f", "-p", str(FIREWALLD_PORT), "-h", "/")
        subprocess.run(["nft", "-f", "-"], input=FIREWALLD, text=True, check=True)
        made["firewalld"] = True
        # A route of the user's that makes one documentation address unreachable.
        subprocess.run(["ip", "route", "add", "unreachable", UNROUTABLE], check=True)
        made["route"] = True
        web_ip = address(PREFIX + "web", "bridge")
        api_ip = address(PREFIX + "api", PREFIX + "app")
        for rule in (
            ["-I", "DOCKER-USER", "-s", api_ip, "-d", web_ip, "-p", "tcp", "--dport", "80", "-j", "DROP"],
        ):
            ipt(*rule)
            made["rules"].append(rule)
        # ufw's layout, written with iptables as ufw itself would: INPUT jumps to ufw-user-input.
        ipt("-N", "ufw-user-input")
        made["rules"].append(["-X", "ufw-user-input"])
        ipt("-A", "ufw-user-input", "-s", "198.51.100.0/24", "-p", "tcp", "--dport", str(HOSTNET_PORT), "-j", "DROP")
        ipt("-I", "INPUT", "-j", "ufw-user-input")
        made["rules"].append(["-D", "INPUT", "-j", "ufw-user-input"])
        time.sleep(0.5)
        port = docker("port", PREFIX + "web", "80/tcp").splitlines()[0].rsplit(":", 1)[1]
        yield {"web_ip": web_ip, "api_ip": api_ip, "port": int(port)}
    finally:
        if made.get("firewalld"):
            subprocess.run(["nft", "delete", "table", "inet", "firewalld"], check=False)
        if made.get("route"):
            subprocess.run(["ip", "route", "del", "unreachable", UNROUTABLE], check=False)
        for rule in reversed(made["rules"]):
            if rule[0] == "-I":
                rule = ["-D"] + rule[1:]
            if rule[0] == "-X":
                subprocess.run(["iptables-%s" % backend(), "-w", "5", "-F", rule[1]], check=False)
            subprocess.run(["iptables-%s" % backend(), "-w", "5"] + rule, check=False)
        for name in reversed(made["containers"]):
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        for name in made["networks"]:
            subprocess.run(["docker", "network", "rm", name], capture_output=True, check=False)
        if made.get("image"):
            subprocess.run(["docker", "image", "rm", DISTROLESS], capture_output=True, check=False)


@pytest.fixture
def untouched(setup):
    """The user's objects and rules, and everything a run owns, are the same after as before."""
    before, ours = user_state(), snapshot()
    yield setup
    after, ours_after = user_state(), snapshot()
    assert after == before
    assert ours_after == ours


def flow(tmp_path, **args):
    args.setdefault("workdir", str(tmp_path))
    args.setdefault("count", 2)
    args.setdefault("timeout", 3)
    return run_module("packetflow_flow", args, timeout=180)


def test_same_bridge_flow_is_allowed_through_forward(untouched, tmp_path):
    result = flow(tmp_path, src=PREFIX + "api", dst=PREFIX + "db", port=5432, expect={"verdict": "allowed"})
    assert not result.get("failed"), result.get("msg")
    assert result["passed"] is True
    assert result["observed"]["verdict"] == "allowed"
    assert result["src"]["network_mode"] == PREFIX + "app" and result["dst"]["name"] == PREFIX + "db"
    assert result["traffic"][0]["ok"] is True
    assert "%sapi:eth0" % PREFIX in result["path"]["interfaces"]
    assert result["stats"]["captured"] > 0
    if open("/proc/sys/net/bridge/bridge-nf-call-iptables").read().strip() == "1":
        assert "filter:FORWARD" in result["observed"]["path"]


def test_a_distroless_source_needs_nothing_in_its_image(untouched, tmp_path):
    result = flow(tmp_path, src=PREFIX + "bare", dst=PREFIX + "db", port=5432, expect={"verdict": "allowed"})
    assert not result.get("failed"), result.get("msg")
    assert result["traffic"][0]["ok"] is True
    assert "connected" in result["traffic"][0]["output"]


def test_docker_user_drop_is_named_as_the_users(untouched, tmp_path):
    result = flow(tmp_path, name="api to web", src=PREFIX + "api", dst=PREFIX + "web", port=80,
                  expect={"verdict": "denied", "at": "filter:DOCKER-USER"})
    assert not result.get("failed"), result.get("msg")
    assert result["observed"]["fate"] == "dropped"
    assert result["observed"]["owner"] == "user"
    assert result["observed"]["at"].startswith("filter:DOCKER-USER")
    text = "-A DOCKER-USER -s %s/32 -d %s/32 -p tcp -m tcp --dport 80 -j DROP" % (untouched["api_ip"],
                                                                                  untouched["web_ip"])
    assert result["observed"]["rule_text"] == text
    assert "dropped by a rule in DOCKER-USER that is not Docker's: `%s`" % text in result["explanation"]


def test_mismatch_fails_the_task_with_both_sides(untouched, tmp_path):
    result = flow(tmp_path, src=PREFIX + "api", dst=PREFIX + "web", port=80, expect={"verdict": "allowed"})
    assert result["failed"] and result["passed"] is False
    assert "- expected: allowed" in result["msg"] and "+ observed: denied" in result["msg"]


def test_published_port_from_outside_bypasses_ufw_and_is_dnated(untouched, tmp_path):
    result = flow(tmp_path, src="outside", dst="host", port=untouched["port"], expect={"verdict": "allowed"})
    assert not result.get("failed"), result.get("msg")
    published = result["dst"]["published"]
    assert published["container"] == PREFIX + "web" and published["port"] == 80
    assert published["address"] == untouched["web_ip"]
    assert any(n["kind"] == "DNAT" for p in result["packets"] for n in p.get("nat") or [])
    assert not any("ufw" in hop for hop in result["observed"]["path"])
    assert "docker0" in result["path"]["interfaces"]


def test_ufw_chain_drop_of_a_host_network_server(untouched, tmp_path):
    result = flow(tmp_path, src="outside", dst="host", port=HOSTNET_PORT, expect={"verdict": "denied"})
    assert not result.get("failed"), result.get("msg")
    assert result["dst"].get("published") is None
    assert result["observed"]["owner"] == "ufw"
    assert result["observed"]["at"].startswith("filter:ufw-user-input")
    assert "ufw's" in result["explanation"]


def test_firewalld_table_next_to_dockers_rules(untouched, tmp_path):
    result = flow(tmp_path, src="outside", dst="host", port=FIREWALLD_PORT)
    assert not result.get("failed"), result.get("msg")
    if backend() == "nft":
        # xtables-monitor sees every table's trace: the drop is firewalld's, with its rule's text.
        assert result["observed"]["verdict"] == "denied"
        assert result["observed"]["owner"] == "firewalld"
        assert result["observed"]["rule_text"] == "ip saddr 198.51.100.0/24 tcp dport %d drop" % FIREWALLD_PORT
    else:
        # The kernel log shows iptables-legacy only: the flow is not called allowed, and the warnings say why.
        assert result["observed"]["verdict"] == "unknown"
        assert any("inet firewalld" in w for w in result["warnings_list"])
        assert any("nothing came back" in w for w in result["warnings_list"])


def test_host_to_host_network_server_over_loopback(untouched, tmp_path):
    result = flow(tmp_path, src="host", dst="127.0.0.1", port=HOSTNET_PORT, expect={"verdict": "allowed"})
    assert not result.get("failed"), result.get("msg")
    assert "lo" in result["path"]["interfaces"]


def test_container_sharing_anothers_network(untouched, tmp_path):
    result = flow(tmp_path, src=PREFIX + "side", dst=PREFIX + "db", port=5432, expect={"verdict": "allowed"})
    assert not result.get("failed"), result.get("msg")
    assert result["src"]["network_mode"].startswith("container:")
    assert result["src"]["address"] == untouched["api_ip"]


def test_icmp_from_a_container_without_network_stays_inside(untouched, tmp_path):
    result = flow(tmp_path, src=PREFIX + "alone", dst="127.0.0.1", proto="icmp", expect={"verdict": "allowed"})
    assert not result.get("failed"), result.get("msg")
    assert result["path"]["interfaces"] == ["%salone:lo" % PREFIX]


def test_observe_waits_for_the_real_traffic(untouched, tmp_path):
    pid = docker("inspect", "-f", "{{.State.Pid}}", PREFIX + "api")
    db_ip = address(PREFIX + "db", PREFIX + "app")
    client = subprocess.Popen(["nsenter", "--net=/proc/%s/ns/net" % pid, "busybox", "ping", "-c", "40", "-i", "0.25",
                               db_ip], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        result = flow(tmp_path, src=PREFIX + "api", dst=PREFIX + "db", proto="icmp", mode="observe", duration=8,
                      max_packets=4)
    finally:
        client.wait(timeout=15)
    assert not result.get("failed"), result.get("msg")
    assert result["traffic"][0]["command"].startswith("observe")
    assert result["stats"]["captured"] >= 4, result["traffic"][0]["output"]
    assert result["observed"]["verdict"] == "allowed"
    # xtables-monitor names no protocol for ICMP: the captures do, so a packet traced at the very edge
    # of the window, before the captures started or after they stopped, may have none.
    assert "ICMP" in {p["flow"]["proto"] for p in result["packets"]}
    ends = {result["src"]["address"], result["dst"]["address"]}
    assert all({p["flow"]["src"], p["flow"]["dst"]} == ends for p in result["packets"])


def test_check_mode_prints_the_plan_and_changes_nothing(untouched, tmp_path):
    result = flow(tmp_path / "w", src=PREFIX + "api", dst=PREFIX + "db", port=5432, _ansible_check_mode=True)
    assert not result.get("failed"), result.get("msg")
    assert any(untouched["api_ip"] in rule for rule in result["plan"]["rules"])
    assert "%sapi:eth0" % PREFIX in result["plan"]["captures"]
    assert result["plan"]["probe"].startswith("2 probe(s) to ")
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("args,message", [
    ({"src": PREFIX + "missing", "dst": "host", "port": 80}, "src: no container named 'pfu-missing'"),
    ({"src": "host", "dst": PREFIX + "db", "port": 70000}, "port: 70000 is out of range"),
    ({"src": "host", "dst": PREFIX + "db", "proto": "icmp", "port": 80}, "port: 80 was given with proto icmp"),
    ({"src": "host", "dst": UNROUTABLE, "port": 80}, "this host cannot route 198.51.100.77"),
    ({"src": "192.0.2.9", "dst": PREFIX + "db", "port": 80}, "src: 192.0.2.9 is an address"),
    ({"src": PREFIX + "api", "dst": PREFIX + "alone", "proto": "icmp"},
     "dst: container pfu-alone has no network (network mode none)"),
    ({"src": "host", "dst": PREFIX + "db", "port": 80, "docker_host": "unix:///run/pf-none.sock"},
     "Docker is not reachable at unix:///run/pf-none.sock"),
])
def test_refusals_name_the_fix_and_change_nothing(untouched, tmp_path, args, message):
    result = flow(tmp_path / "w", **args)
    assert result["failed"] and message in result["msg"], result["msg"]
    assert not (tmp_path / "w").exists()


def test_a_stopped_container_is_refused(untouched, tmp_path):
    docker("stop", "-t", "0", PREFIX + "alone")
    try:
        result = flow(tmp_path / "w", src=PREFIX + "alone", dst="127.0.0.1", proto="icmp")
    finally:
        docker("start", PREFIX + "alone")
    assert result["failed"] and "container pfu-alone is exited, not running" in result["msg"], result["msg"]


def test_a_back_end_that_cannot_be_traced_is_refused(untouched, tmp_path):
    """The trace tool of the back end holding Docker's rules is missing (hidden from the module's lookup)."""
    import docker as docker_sdk
    from ansible.module_utils.common.process import get_bin_path

    from ansible_collections.dockernet.packetflow.plugins.module_utils.host.flow import run_flow

    hidden = "xtables-monitor" if backend() == "nft" else "iptables-legacy-save"

    def lookup(tool):
        return None if tool == hidden else get_bin_path(tool)

    params = dict(name=None, src=PREFIX + "api", dst=PREFIX + "db", proto="tcp", port=5432, mode="probe", count=1,
                  interval=0.2, duration=10, max_packets=100, expect=None, fail_on_mismatch=True,
                  workdir=str(tmp_path / "w"), run_id=None, docker_host="unix:///var/run/docker.sock", timeout=3)
    with pytest.raises(RuntimeError, match="%s is not installed but Docker's rules are on the %s back end" % (
            hidden, backend())):
        run_flow(params, False, docker_sdk, lookup)
    assert not (tmp_path / "w").exists()
