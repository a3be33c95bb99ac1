"""The trace role's result and final check never break on what a module returned."""
import yaml

from bad_input_support import INTERNAL_ERRORS, REPO, run_module, run_playbook

ROLE_TASKS = REPO / "roles" / "trace" / "tasks" / "main.yml"
RESULT_TASKS = ("Start the lists of results", "Keep each scenario's result without Ansible's own keys",
                "Check that every scenario and flow ran and met its expectation")
MISMATCH = "scenario cross_network: expected and observed differ"


def loop_item(scenario, module_result):
    """One entry of trace_runs.results as Ansible registers it with failed_when: false."""
    return dict(module_result, item=scenario, ansible_loop_var="item", failed=False, failed_when_result=False)


def test_final_check_reports_modules_that_failed_in_any_way(tmp_path):
    refused = run_module("packetflow_scenario", {"scenario": "nope"}, tmp_path)
    assert refused.get("failed") and "scenario" not in refused, refused
    runs = {"results": [
        loop_item("nope", refused),
        loop_item("host_network", {"msg": "MODULE FAILURE: the interpreter died", "rc": 137, "module_stdout": ""}),
        loop_item("none_network", {}),
        loop_item("cross_network",
                  {"scenario": "cross_network", "run_id": "pf-20260101-abc", "passed": False, "error": None,
                   "mismatch": MISMATCH}),
        loop_item("host_to_container",
                  {"scenario": "host_to_container", "run_id": "pf-20260101-def", "passed": True, "error": None}),
    ]}
    tasks = [task for task in yaml.safe_load(ROLE_TASKS.read_text()) if task.get("name") in RESULT_TASKS]
    assert [task["name"] for task in tasks] == list(RESULT_TASKS)
    playbook = tmp_path / "final_check.yml"
    playbook.write_text(yaml.safe_dump([{"name": "The trace role's final check", "hosts": "localhost",
                                         "gather_facts": False, "vars": {"trace_runs": runs,
                                                                         "trace_fail_on_mismatch": "true"},
                                         "tasks": tasks}]))
    proc = run_playbook(playbook, {})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert refused["msg"].split(":")[0] in output, output
    assert "the interpreter died" in output and "the module failed" in output, output
    assert MISMATCH in output, output
    for word in INTERNAL_ERRORS:
        if word != "MODULE FAILURE":  # the message this test gives the second module
            assert word not in output, output
