"""Every source of the lab image on the real engine: archive, local and auto's fall-back."""

import json
import subprocess

import pytest
from conftest import recap, run_role

# Nothing listens on loopback port 9: a registry that is not there, without a lookup leaving the machine.
NO_REGISTRY = "127.0.0.1:9/packetflow/busybox:latest"


def image(ref):
    """docker image inspect of ref, or None."""
    proc = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


@pytest.fixture
def lab_tag():
    """A throwaway repository name, removed afterwards."""
    name = "pf-test-lab"
    subprocess.run(["docker", "rmi", "-f", name + ":latest"], capture_output=True, check=False)
    yield name
    subprocess.run(["docker", "rmi", "-f", name + ":latest"], capture_output=True, check=False)


def test_local_build_runs_the_scenario_applets(lab_tag):
    proc = run_role("lab_image", {"lab_image_source": "local", "lab_image_name": lab_tag})
    assert proc.returncode == 0, proc.stdout
    assert image(lab_tag)["Config"]["Labels"]["dockernet.packetflow.source"] == "local"
    out = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", lab_tag, "which", "ping", "nc", "httpd", "ip", "sleep"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["/bin/ping", "/bin/nc", "/bin/httpd", "/bin/ip", "/bin/sleep"]
    again = run_role("lab_image", {"lab_image_source": "local", "lab_image_name": lab_tag})
    assert recap(again.stdout)["changed"] == 0


def test_auto_falls_back_to_local_without_registry(lab_tag):
    proc = run_role(
        "lab_image",
        {"lab_image_source": "auto", "lab_image_name": lab_tag, "lab_image_pull_reference": NO_REGISTRY},
    )
    assert proc.returncode == 0, proc.stdout
    assert "Fall back to a local build" in proc.stdout
    assert "from local: built offline from /bin/busybox, as no registry answered at 127.0.0.1:9" in proc.stdout
    assert image(lab_tag)["Config"]["Labels"]["dockernet.packetflow.source"] == "local"


def test_pull_alone_fails_naming_the_alternatives(lab_tag):
    proc = run_role(
        "lab_image", {"lab_image_source": "pull", "lab_image_name": lab_tag, "lab_image_pull_reference": NO_REGISTRY}
    )
    assert proc.returncode != 0
    assert "Could not pull %s on localhost: no registry answered at 127.0.0.1:9" % NO_REGISTRY in proc.stdout
    assert "use lab_image_source=auto, local or archive" in proc.stdout
    assert image(lab_tag) is None


def test_archive_is_loaded_and_tagged(lab_tag, tmp_path):
    built = run_role("lab_image", {"lab_image_source": "local", "lab_image_name": lab_tag})
    assert built.returncode == 0, built.stdout
    archive = tmp_path / "lab.tar"
    subprocess.run(["docker", "save", "-o", str(archive), lab_tag + ":latest"], check=True)
    built_id = image(lab_tag)["Id"]
    subprocess.run(["docker", "rmi", lab_tag + ":latest"], capture_output=True, check=True)
    proc = run_role(
        "lab_image", {"lab_image_source": "archive", "lab_image_name": lab_tag, "lab_image_archive_path": str(archive)}
    )
    assert proc.returncode == 0, proc.stdout
    assert image(lab_tag)["Id"] == built_id
    assert "from archive: loaded from %s" % archive in proc.stdout
