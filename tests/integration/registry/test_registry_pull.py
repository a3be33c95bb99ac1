"""lab_image against real registries this test starts on this host: pull, auto, login, a private CA, and the
refusals. The registries serve one storage holding the lab image; the host's images, certificates and logins
are compared before and after each test."""

import shutil
import subprocess

import pytest
from registry_lab import (
    BIN,
    CERTS_D,
    REPOSITORY,
    USER,
    Registry,
    SilentRegistry,
    docker,
    docker0_address,
    htpasswd,
    image_id,
    make_tls,
    provenance,
    recap,
    run_role,
    snapshot,
)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("registry")


@pytest.fixture(scope="session")
def source_image():
    """The lab image built offline by the role under a name of its own: what the registries serve."""
    name = "pf-registry-src:latest"
    proc = run_role({"lab_image_source": "local", "lab_image_name": name.split(":", maxsplit=1)[0]})
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
    yield from _serve(Registry(workdir / "auth", storage, htpasswd_file=htpasswd(workdir / "htpasswd", USER, password)))


@pytest.fixture(scope="session")
def tls(workdir):
    """A private CA and a server certificate for docker0's address: for 127.0.0.0/8 the engine skips
    certificate checks, so only a non-loopback address tests the CA."""
    address = docker0_address()
    return address, make_tls(workdir, address)


@pytest.fixture(scope="session")
def tls_registry(workdir, storage, tls):
    """The same storage over TLS with the private CA."""
    yield from _serve(Registry(workdir / "tls", storage, host=tls[0], tls=tls[1]))


@pytest.fixture(scope="session")
def tls_auth_registry(workdir, storage, tls, password):
    """The same storage over TLS with the private CA and behind htpasswd: an internal registry."""
    auth = htpasswd(workdir / "htpasswd-tls", USER, password)
    yield from _serve(Registry(workdir / "tls-auth", storage, host=tls[0], tls=tls[1], htpasswd_file=auth))


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


LAB = "pf-test-lab"


def lab_vars(source, reference, **more):
    return dict({"lab_image_source": source, "lab_image_name": LAB, "lab_image_pull_reference": reference}, **more)


@pytest.fixture
def vault(tmp_path, password):
    """The registry credentials in an Ansible Vault file, and its password file."""
    secret = tmp_path / "vault-pass"
    secret.write_text("pf-vault-pass\n")
    secret.chmod(0o600)
    creds = tmp_path / "registry.yml"
    creds.write_text("lab_image_registry_username: %s\nlab_image_registry_password: %s\n" % (USER, password))
    subprocess.run(
        [str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(secret), str(creds)],
        capture_output=True,
        check=True,
    )
    assert password not in creds.read_text()
    return creds, secret


@pytest.mark.parametrize("source", ["pull", "auto"])
def test_pulls_and_tags_from_the_mirror(plain_registry, source_image, source, host):
    ref = "%s/%s" % (plain_registry.address, REPOSITORY)
    check = run_role(lab_vars(source, ref), check=True)
    assert check.returncode == 0, check.stdout
    assert recap(check.stdout)["changed"] > 0
    assert "would be pulled from " + plain_registry.address in provenance(check.stdout)
    assert snapshot() == host

    proc = run_role(lab_vars(source, ref))
    assert proc.returncode == 0, proc.stdout
    assert image_id(LAB) == image_id(ref) == image_id(source_image)
    line = provenance(proc.stdout)
    assert line.startswith("%s:latest from pull: pulled from %s" % (LAB, plain_registry.address)), line
    if source == "auto":
        assert "the local build was skipped, as the pull answered" in line

    again = run_role(lab_vars(source, ref))
    assert recap(again.stdout)["changed"] == 0, again.stdout
    assert "already on the engine" in provenance(again.stdout)


@pytest.mark.parametrize("source", ["pull", "auto"])
def test_logs_in_with_vaulted_credentials_and_out_again(auth_registry, source_image, vault, password, host, source):
    ref = "%s/%s" % (auth_registry.address, REPOSITORY)
    anonymous = run_role(lab_vars(source, ref))
    assert anonymous.returncode != 0
    assert "refused access. Set lab_image_registry_username and lab_image_registry_password" in anonymous.stdout
    assert snapshot() == host

    check = run_role(lab_vars(source, ref), check=True, vault=vault)
    assert check.returncode == 0, check.stdout
    assert snapshot() == host
    proc = run_role(lab_vars(source, ref), vault=vault)
    assert proc.returncode == 0, proc.stdout
    assert image_id(LAB) == image_id(source_image)
    assert provenance(proc.stdout).startswith("%s:latest from pull: pulled from %s" % (LAB, auth_registry.address))
    again = run_role(lab_vars(source, ref), vault=vault)
    assert recap(again.stdout)["changed"] == 0, again.stdout
    for run in (check, proc, again):
        assert password not in run.stdout + run.stderr
    # Logged out again: the client's config is as before.
    assert snapshot()["docker config"] == host["docker config"]


@pytest.mark.parametrize("source,check", [("pull", False), ("auto", False), ("pull", True)])
def test_wrong_credentials_are_refused(auth_registry, host, source, check):
    ref = "%s/%s" % (auth_registry.address, REPOSITORY)
    proc = run_role(
        lab_vars(source, ref, lab_image_registry_username=USER, lab_image_registry_password="not-the-password"),
        check=check,
    )
    assert proc.returncode != 0, proc.stdout
    assert (
        "Could not pull %s on localhost: %s refused access. Set lab_image_registry_username and "
        "lab_image_registry_password" % (ref, auth_registry.address) in proc.stdout
    )
    assert "not-the-password" not in proc.stdout + proc.stderr
    assert snapshot() == host


def refused_with_a_ca(tls, source, ref, fix, **more):
    """Run the role with the private CA on a pull the registry refuses; the refusal names the fix and the
    engine's certificates are as before (a CA file the run created is gone, one that was there is back)."""
    before = snapshot()
    proc = run_role(lab_vars(source, ref, lab_image_registry_ca_path=str(tls[1][0]), **more))
    assert proc.returncode != 0, proc.stdout
    assert "Could not pull %s on localhost: %s" % (ref, fix) in proc.stdout
    assert snapshot() == before


@pytest.fixture(params=["absent", "another CA"])
def certs_before(request, tls, tls_registry, tls_auth_registry, host):
    """The engine's certificates of the TLS registries before the run: none, or another CA file with a mode
    of its own, which a failed pull must put back as it was."""
    if request.param == "absent":
        yield None
        return
    files = [CERTS_D / registry.address / "ca.crt" for registry in (tls_registry, tls_auth_registry)]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tls[1][1], path)
        path.chmod(0o600)
    yield files
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.read_bytes() == tls[1][1].read_bytes()


@pytest.mark.parametrize("source", ["pull", "auto"])
def test_wrong_credentials_with_a_ca_leave_the_certificates_as_they_were(tls, tls_auth_registry, certs_before, source):
    ref = "%s/%s" % (tls_auth_registry.address, REPOSITORY)
    fix = "%s refused access. Set lab_image_registry_username and lab_image_registry_password" % (
        tls_auth_registry.address
    )
    refused_with_a_ca(
        tls, source, ref, fix, lab_image_registry_username=USER, lab_image_registry_password="not-the-password"
    )


@pytest.mark.parametrize("source", ["pull", "auto"])
def test_a_missing_reference_with_a_ca_leaves_the_certificates_as_they_were(tls, tls_registry, certs_before, source):
    ref = "%s/packetflow/no-such-image:latest" % tls_registry.address
    fix = "%s has no image %s. Check the repository and tag of lab_image_pull_reference" % (tls_registry.address, ref)
    refused_with_a_ca(tls, source, ref, fix)


def test_a_missing_reference_is_refused(plain_registry, host):
    ref = "%s/packetflow/no-such-image:latest" % plain_registry.address
    for source in ("pull", "auto"):
        proc = run_role(lab_vars(source, ref))
        assert proc.returncode != 0, proc.stdout
        assert (
            "%s has no image %s. Check the repository and tag of lab_image_pull_reference"
            % (plain_registry.address, ref)
            in proc.stdout
        )
        assert snapshot() == host


def test_a_silent_registry_makes_auto_build_locally_and_pull_fail(tls, host):
    silent = SilentRegistry()
    ref = "%s/%s" % (silent.address, REPOSITORY)
    ca = {"lab_image_registry_ca_path": str(tls[1][0])}
    try:
        auto = run_role(lab_vars("auto", ref, lab_image_pull_timeout=5, **ca))
        assert auto.returncode == 0, auto.stdout
        line = provenance(auto.stdout)
        assert line.startswith(
            "%s:latest from local: built offline from /bin/busybox, as no registry answered at %s"
            " for %s within 5 s (" % (LAB, silent.address, ref)
        ), line
        assert image_id(LAB) is not None
        # The CA was for a pull that did not happen: it is gone again.
        assert snapshot()["certs.d"] == host["certs.d"]
        pull = run_role(lab_vars("pull", ref, lab_image_pull_timeout=5, lab_image_name=LAB + "-pull", **ca))
    finally:
        silent.close()
    assert pull.returncode != 0, pull.stdout
    assert "no registry answered at %s within lab_image_pull_timeout=5 s" % silent.address in pull.stdout
    assert image_id(LAB + "-pull") is None
    assert snapshot()["certs.d"] == host["certs.d"]


def test_a_private_ca_is_installed_and_trusted(tls_registry, source_image, host):
    ref = "%s/%s" % (tls_registry.address, REPOSITORY)
    untrusted = run_role(lab_vars("pull", ref))
    assert untrusted.returncode != 0
    assert "TLS certificate is not trusted. Set lab_image_registry_ca_path" in untrusted.stdout
    assert snapshot() == host

    ca = {"lab_image_registry_ca_path": str(tls_registry.tls[0])}
    proc = run_role(lab_vars("auto", ref, **ca))
    assert proc.returncode == 0, proc.stdout
    assert (CERTS_D / tls_registry.address / "ca.crt").read_bytes() == tls_registry.tls[0].read_bytes()
    assert image_id(LAB) == image_id(source_image)
    again = run_role(lab_vars("auto", ref, **ca))
    assert recap(again.stdout)["changed"] == 0, again.stdout


def test_a_private_ca_and_a_login_check_mode_then_pull(tls_auth_registry, source_image, vault, password, host):
    ref = "%s/%s" % (tls_auth_registry.address, REPOSITORY)
    ca = {"lab_image_registry_ca_path": str(tls_auth_registry.tls[0])}
    check = run_role(lab_vars("pull", ref, **ca), check=True, vault=vault)
    assert check.returncode == 0, check.stdout
    assert recap(check.stdout)["changed"] > 0
    assert snapshot() == host
    proc = run_role(lab_vars("pull", ref, **ca), vault=vault)
    assert proc.returncode == 0, proc.stdout
    assert (CERTS_D / tls_auth_registry.address / "ca.crt").read_bytes() == tls_auth_registry.tls[0].read_bytes()
    assert image_id(LAB) == image_id(source_image)
    again = run_role(lab_vars("pull", ref, **ca), vault=vault)
    assert recap(again.stdout)["changed"] == 0, again.stdout
    for run in (check, proc, again):
        assert password not in run.stdout + run.stderr


@pytest.mark.parametrize("source", ["pull", "auto"])
def test_an_image_already_there_installs_no_ca(tls_registry, source_image, host, source):
    docker("tag", source_image, LAB)
    before = snapshot()
    ref = "%s/%s" % (tls_registry.address, REPOSITORY)
    for check in (True, False):
        proc = run_role(lab_vars(source, ref, lab_image_registry_ca_path=str(tls_registry.tls[0])), check=check)
        assert proc.returncode == 0, proc.stdout
        assert recap(proc.stdout)["changed"] == 0, proc.stdout
        assert "already on the engine" in provenance(proc.stdout)
        assert snapshot() == before


def test_a_ca_file_that_is_no_certificate_is_refused_first(tls_registry, tmp_path, host):
    bad = tmp_path / "ca.crt"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    proc = run_role(lab_vars("pull", "%s/%s" % (tls_registry.address, REPOSITORY), lab_image_registry_ca_path=str(bad)))
    assert proc.returncode != 0
    assert "lab_image_registry_ca_path=%s is not a PEM certificate on the controller" % bad in proc.stdout
    assert "nothing was installed" in proc.stdout
    assert snapshot() == host


def test_a_username_without_password_is_refused_first(plain_registry, host):
    proc = run_role(lab_vars("pull", "%s/%s" % (plain_registry.address, REPOSITORY), lab_image_registry_username=USER))
    assert proc.returncode != 0
    assert "lab_image_registry_username and lab_image_registry_password go together: set both" in proc.stdout
    assert snapshot() == host
