"""docker_api.Engine, the standard-library reader a flow uses, against the Docker SDK on the real engine:
the same containers, networks, attributes and answers, and the SDK kept for addresses Engine does not speak."""

import subprocess

import docker
import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import docker_api

NAME, NETWORK = "pfe-reader", "pfe-reader-net"


@pytest.fixture(scope="module")
def engines():
    subprocess.run(["docker", "network", "create", NETWORK], check=True, capture_output=True)
    subprocess.run(["docker", "run", "-d", "--name", NAME, "--network", NETWORK, "mybusybox:latest", "sleep", "600"],
                   check=True, capture_output=True)
    try:
        yield (docker_api.connect(docker_api.DEFAULT_DOCKER_HOST, 10, docker_api.READER),
               docker_api.connect(docker_api.DEFAULT_DOCKER_HOST, 10, docker))
    finally:
        subprocess.run(["docker", "rm", "-f", NAME], capture_output=True, check=False)
        subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True, check=False)


def test_engine_reads_what_the_sdk_reads(engines):
    engine, sdk = engines
    assert isinstance(engine, docker_api.Engine)
    assert engine.version()["Version"] == sdk.version()["Version"]
    assert engine.info()["ID"] == sdk.info()["ID"]
    for ref in (NAME, sdk.containers.get(NAME).id[:12]):
        mine, theirs = engine.containers.get(ref), sdk.containers.get(ref)
        assert (mine.id, mine.name, mine.status) == (theirs.id, theirs.name, theirs.status)
        assert (theirs.name, theirs.status) == (NAME, "running")
        assert mine.attrs["NetworkSettings"]["Networks"] == theirs.attrs["NetworkSettings"]["Networks"]
    assert sorted(c.name for c in engine.containers.list()) == sorted(c.name for c in sdk.containers.list())
    assert sorted(n.name for n in engine.networks.list()) == sorted(n.name for n in sdk.networks.list())
    assert engine.networks.get(NETWORK).attrs["Id"] == sdk.networks.get(NETWORK).attrs["Id"]
    filters = {"name": NAME}
    assert [c.id for c in engine.containers.list(all=True, filters=filters)] == [sdk.containers.get(NAME).id]


def test_engine_errors_say_what_the_engine_said(engines):
    engine, dummy = engines
    with pytest.raises(docker_api.EngineError, match="^404 Not Found: No such container: pfe-absent"):
        engine.containers.get("pfe-absent")
    with pytest.raises(RuntimeError, match="Docker is not reachable at unix:///run/pfe-none.sock"):
        docker_api.connect("unix:///run/pfe-none.sock", 3, docker_api.READER)


def test_other_addresses_go_to_the_sdk():
    # No scheme: the SDK's own refusal, as before (Engine speaks unix:///path and tcp://host:port only).
    with pytest.raises(RuntimeError, match="Docker is not reachable at /var/run/docker.sock.*Invalid bind address"):
        docker_api.connect("/var/run/docker.sock", 3, docker_api.READER)
    with pytest.raises(RuntimeError, match="Docker is not reachable at tcp://127.0.0.1:9"):
        docker_api.connect("tcp://127.0.0.1:9", 3, docker_api.READER)
