"""IPv6 asked on a host whose Docker has IPv6 off (this suite's host, as the rest of the suite leaves it):
the module and the trace role refuse before anything changes, naming the variable, the value and the fix."""
import pytest

from bad_input_support import INTERNAL_ERRORS, REPO, assert_refused, host_unchanged, run_module, run_playbook

FIX = "docker_engine_ipv6"


@pytest.fixture(autouse=True)
def docker_ipv6_off(tmp_path):
    proc = run_module("packetflow_facts", {}, tmp_path)
    if proc.get("ansible_facts", {}).get("packetflow", {}).get("docker_ipv6"):
        pytest.fail("these cases need a Docker with IPv6 off; dockerd here has it on")


@pytest.mark.parametrize("scenario", ["cross_network", "external_to_published"])
def test_scenario_module_refuses_ipv6(tmp_path, scenario):
    workdir = tmp_path / "work"
    with host_unchanged():
        result = run_module("packetflow_scenario", {"scenario": scenario, "family": "ipv6", "workdir": str(workdir)},
                            tmp_path)
    message = " ".join(str(result.get("msg", "")).split())
    assert result.get("failed"), result
    assert "family=ipv6" in message and FIX in message and "experimental" in message, message
    for word in INTERNAL_ERRORS:
        assert word not in message + str(result.get("exception", "")), message
    assert not result.get("run_id") and not workdir.exists()


def test_trace_role_refuses_ipv6_before_any_scenario(tmp_path):
    reports, workdir = tmp_path / "reports", tmp_path / "work"
    with host_unchanged():
        proc = run_playbook(REPO / "playbooks" / "trace.yml", {
            "trace_reports_dir": str(reports), "trace_workdir": str(workdir), "trace_scenarios": ["cross_network"],
            "trace_families": ["ipv4", "ipv6"]})
    assert_refused(proc, "trace_families", "ipv6", FIX)
    assert "Run each scenario" not in proc.stdout
    assert not reports.exists() and not workdir.exists()
