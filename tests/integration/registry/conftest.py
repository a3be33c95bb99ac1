"""Registries the lab_image tests start on this host, holding the lab image, and the host's state around each test."""
import shutil

import pytest

from registry_lab import CERTS_D, Registry, docker, docker0_address, htpasswd, make_tls, run_role, snapshot

REPOSITORY = "packetflow/mybusybox:latest"
USER = "pf-puller"


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("registry")


@pytest.fixture(scope="session")
def source_image():
    """The lab image built offline by the role under a name of its own: what the registries serve."""
    name = "pf-registry-src:latest"
    proc = run_role({"lab_image_source": "local", "lab_image_name": name.split(":")[0]})
    assert proc.returncode == 0, proc.stdout
    yield name
    docker("rmi", name)


@pytest.fixture(scope="session")
def storage(workdir, source_image):
    """Registry storage holding the lab image, pushed through a plain registry that is stopped again."""
    path = workdir / "storage"
    registry = Registry(workdir / "push", path).start()
    ref = "%s/%s" % (registry.address, REPOSITORY)
    try:
        docker("tag", source_image, ref)
        docker("push", ref)
        docker("rmi", ref)
    finally:
        registry.stop()
    return path


def _serve(registry):
    registry.start()
    yield registry
    registry.stop()
    assert registry.proc.poll() is not None and not registry.listening()


@pytest.fixture(scope="session")
def plain_registry(workdir, storage):
    """An anonymous registry on 127.0.0.1 (plain HTTP: the engine trusts 127.0.0.0/8 without TLS)."""
    yield from _serve(Registry(workdir / "plain", storage))


@pytest.fixture(scope="session")
def password():
    return "pf-test-secret-7d1c"


@pytest.fixture(scope="session")
def auth_registry(workdir, storage, password):
    """The same storage behind htpasswd (bcrypt) authentication."""
    yield from _serve(Registry(workdir / "auth", storage,
                               htpasswd_file=htpasswd(workdir / "htpasswd", USER, password)))


@pytest.fixture(scope="session")
def tls_registry(workdir, storage):
    """The same storage over TLS with a private CA, on docker0's address: for 127.0.0.0/8 the engine skips
    certificate checks, so only a non-loopback address tests the CA."""
    address = docker0_address()
    yield from _serve(Registry(workdir / "tls", storage, host=address, tls=make_tls(workdir, address)))


@pytest.fixture
def host():
    """The host's images, certificates and logins before the test; afterwards, what the test added is removed
    and the host must be as before."""
    before = snapshot()
    had_certs_d = CERTS_D.exists()
    yield before
    for line in sorted(set(snapshot()["images"]) - set(before["images"])):
        ref = line.split(" ", 1)[1]
        docker("rmi", line.split(" ", 1)[0] if ref == "<none>:<none>" else ref, check=False)
    if not had_certs_d:
        shutil.rmtree(CERTS_D, ignore_errors=True)
    elif CERTS_D.is_dir():
        for entry in CERTS_D.iterdir():
            if before["certs.d"] is not None and not any(k.startswith(str(entry) + "/") for k in before["certs.d"]):
                shutil.rmtree(entry)
    assert snapshot() == before
