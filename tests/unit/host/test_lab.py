"""Lab planning against a fake runner and a fake Docker client: names from ownership, exact argv."""

import ipaddress

import pytest
from host_fakes import FakeDocker, FakeHost, FakeRunner

from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue import scenarios
from ansible_collections.dockernet.packetflow.plugins.module_utils.host import lab as lab_module
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.lab import Lab, plan_topology
from ansible_collections.dockernet.packetflow.plugins.module_utils.host.ownership import LABEL, State, load_states

RUN = "pf-20261201-abcdef"
PEER_NET = ipaddress.ip_network("198.51.100.0/30")


@pytest.fixture
def engine():
    client = FakeDocker()
    client.add("image", "mybusybox:latest")
    return client


def lab(engine, runner, tmp_path):
    return Lab(engine, RUN, "mybusybox:latest", 5, State(RUN, str(tmp_path)), runner)


def test_outside_client_argv_and_state(engine, tmp_path):
    runner = FakeRunner()
    built = lab(engine, runner, tmp_path)
    topo = built.build({"containers": [], "peer": True}, ["web1", "web2"], 8080, PEER_NET)
    assert runner.calls == [
        ["ip", "netns", "add", "pf-abcdef"],
        ["ip", "link", "add", "pfhabcdef", "type", "veth", "peer", "name", "pfpabcdef", "netns", "pf-abcdef"],
        ["ip", "addr", "add", "198.51.100.1/30", "dev", "pfhabcdef"],
        ["ip", "link", "set", "pfhabcdef", "up"],
        ["ip", "-n", "pf-abcdef", "addr", "add", "198.51.100.2/30", "dev", "pfpabcdef"],
        ["ip", "-n", "pf-abcdef", "link", "set", "pfpabcdef", "up"],
        ["ip", "-n", "pf-abcdef", "link", "set", "lo", "up"],
        ["ip", "-n", "pf-abcdef", "route", "add", "default", "via", "198.51.100.1"]]
    assert topo["peer"] == {"netns": "pf-abcdef", "ip": "198.51.100.2", "veth": "pfpabcdef",
                            "host_veth": "pfhabcdef", "host_ip": "198.51.100.1", "prefixlen": 30}
    assert built.state.data["netns"] == ["pf-abcdef"] and built.state.data["links"] == ["pfhabcdef"]


def test_the_namespace_is_recorded_before_it_is_made(engine, tmp_path):
    runner = FakeRunner().on(["ip", "netns", "add"], rc=1, err="boom")
    built = lab(engine, runner, tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        built.build({"containers": [], "peer": True}, ["web1", "web2"], 8080, PEER_NET)
    states, errors = load_states(RUN, str(tmp_path))
    assert errors == [] and states[0][1]["netns"] == ["pf-abcdef"] and states[0][1]["links"] == ["pfhabcdef"]


def test_networks_and_containers_are_labelled_with_the_run(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(lab_module, "listening", lambda pid, port: True)
    built = lab(engine, FakeRunner(), tmp_path)
    spec = {"networks": 1, "containers": [{"network": "net0", "publish": True}, {"network": "none"}]}
    built.build(spec, ["web1", "web2"], 8081, None)
    created, first, second = engine.log
    assert created == ("create", "network", RUN + "-net0", {"driver": "bridge", "labels": {LABEL: RUN}})
    assert first == ("run", "mybusybox:latest", {
        "name": "web1", "detach": True, "labels": {LABEL: RUN}, "command": ["httpd", "-f", "-p", "80", "-h", "/"],
        "network": RUN + "-net0", "ports": {"80/tcp": 8081}})
    assert second[2]["network_mode"] == "none" and "ports" not in second[2]


def test_host_network_serves_the_port_itself(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(lab_module, "listening", lambda pid, port: port == 8082)
    built = lab(engine, FakeRunner(), tmp_path)
    built.build(scenarios.SCENARIOS["host_network"], ["web1", "web2"], 8082, None)
    assert engine.log[0][2]["command"] == ["httpd", "-f", "-p", "8082", "-h", "/"]
    assert engine.log[0][2]["network_mode"] == "host"


def test_teardown_removes_in_reverse_and_tolerates_what_is_gone(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(lab_module, "listening", lambda pid, port: True)
    host = FakeHost()
    built = lab(engine, host, tmp_path)
    spec = {"networks": 2, "containers": [{"network": "net0"}, {"network": "net1"}], "peer": True}
    built.build(spec, ["web1", "web2"], 8080, PEER_NET)
    engine.containers.get("web2").remove()
    engine.log = []
    host.calls = []
    assert built.teardown() == []
    assert engine.log == [("remove", "container", "web1"), ("remove", "network", RUN + "-net1"),
                          ("remove", "network", RUN + "-net0")]
    assert host.calls == [["ip", "link", "del", "pfhabcdef"], ["ip", "netns", "del", "pf-abcdef"]]
    assert built.teardown() == []


def test_preflight_refuses_a_taken_name_a_taken_port_and_a_missing_image(engine):
    spec = scenarios.SCENARIOS["published_port"]
    engine.add("container", "web1", {})
    with pytest.raises(RuntimeError, match="container name web1 is already taken"):
        lab_module.preflight(engine, "mybusybox:latest", spec, ["web1", "web2"], 8080)
    engine.add("container", "other", {}, HostConfig={"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}})
    with pytest.raises(RuntimeError, match="host port 8080 is already taken by container other"):
        lab_module.preflight(engine, "mybusybox:latest", spec, ["web3", "web2"], 8080)
    with pytest.raises(RuntimeError, match="lab image nope:1 is not on this host"):
        lab_module.preflight(engine, "nope:1", spec, ["web3", "web2"], 8080)
    assert [entry for entry in engine.log if entry[0] != "remove"] == []


def test_plan_topology_has_placeholders_only_where_the_engine_decides():
    topo = plan_topology(scenarios.SCENARIOS["external_to_published"], ["web1", "web2"], 8080)
    assert topo["containers"] == [{"name": "web1", "pid": None, "network": "bridge", "ip": "<web1>",
                                   "gateway": "<gateway of bridge>", "veth": "<veth of web1>",
                                   "published": "8080:80"}]
    assert topo["networks"] == [{"name": "bridge", "bridge": "docker0"}]
    assert topo["peer"]["netns"] == "pf-<id>"
    none = plan_topology(scenarios.SCENARIOS["none_network"], ["web1", "web2"], 8080)
    assert none["containers"][0]["ip"] is None and none["networks"] == [] and none["peer"] is None
