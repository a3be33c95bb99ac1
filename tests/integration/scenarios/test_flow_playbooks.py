"""playbooks/audit.yml and playbooks/flows.yml against this machine, over a user's own published
container (no packetflow labels): three audit flows per published port, flows from the `flows`
variable, a mismatch failing the play after results.json is written, check mode writing nothing."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

BIN = os.path.dirname(sys.executable)
NAME = "pfa-web"


@pytest.fixture(scope="module")
def published():
    """A user's web container publishing port 80 on a free host port; removed afterwards."""
    subprocess.run(["docker", "run", "-d", "--name", NAME, "-p", "0:80", "mybusybox:latest", "httpd", "-f", "-p", "80",
                    "-h", "/"], check=True, capture_output=True)
    try:
        out = subprocess.run(["docker", "port", NAME, "80/tcp"], check=True, capture_output=True, text=True).stdout
        yield int(out.splitlines()[0].rsplit(":", 1)[1])
    finally:
        subprocess.run(["docker", "rm", "-f", NAME], capture_output=True, check=False)


def playbook(name, tmp_path, extra=None, check=False):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"packetflow": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    extra = dict(extra or {}, trace_reports_dir=str(tmp_path / "reports"))
    argv = [os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), os.path.join(REPO, "playbooks", name),
            "-e", json.dumps(extra)] + (["--check"] if check else [])
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)


def results(tmp_path):
    with open(tmp_path / "reports" / "localhost" / "results.json") as handle:
        return json.load(handle)


def test_audit_probes_each_published_port_three_ways(published, tmp_path):
    proc = playbook("audit.yml", tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    flows = {flow["flow"]: flow for flow in results(tmp_path)["flows"]}
    stem = "%s %d/tcp from " % (NAME, published)
    assert {stem + "outside", stem + "the host", stem + "localhost"} <= set(flows)
    for where in ("outside", "the host", "localhost"):
        flow = flows[stem + where]
        assert flow["error"] is None, flow["error"]
        assert flow["dst"]["published"]["container"] == NAME
        assert flow["observed"]["verdict"] == "allowed", flow["explanation"]
        assert flow["traffic"][0]["ok"] is True
    outside = flows[stem + "outside"]
    assert any(n["kind"] == "DNAT" for p in outside["packets"] for n in p.get("nat") or [])


def test_flows_playbook_fails_on_a_mismatch_after_writing_results(published, tmp_path):
    flows = [{"name": "web denied?", "src": "host", "dst": "127.0.0.1", "port": published, "count": 1,
              "expect": {"verdict": "denied"}}]
    proc = playbook("flows.yml", tmp_path, {"flows": flows})
    assert proc.returncode != 0
    assert "- expected: denied" in proc.stdout and "+ observed: allowed" in proc.stdout
    doc = results(tmp_path)
    assert doc["scenarios"] == [] and doc["flows"][0]["passed"] is False


def test_flows_playbook_in_check_mode_writes_nothing(published, tmp_path):
    flows = [{"src": "host", "dst": "127.0.0.1", "port": published}]
    proc = playbook("flows.yml", tmp_path, {"flows": flows}, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "changed=0" in proc.stdout
    assert not (tmp_path / "reports" / "localhost" / "results.json").exists()
