"""Kill the controller (ansible-playbook's whole process group) mid-run, start cleanup at once."""

import os
import signal
import subprocess
import textwrap

from conftest import REPO
from test_scenarios import new_run_id, settled, wait_for_captures

INVENTORY = os.path.join(REPO, "inventory", "localhost.yml")


def playbook(tmp_path, run_id):
    path = tmp_path / "one-scenario.yml"
    path.write_text(textwrap.dedent("""\
        - name: One traced scenario
          hosts: packetflow
          become: true
          gather_facts: false
          tasks:
            - name: Trace cross_network
              dockernet.packetflow.packetflow_scenario:
                scenario: cross_network
                name: pf-ck-web1
                second_name: pf-ck-web2
                count: 4
                run_id: %s
                workdir: %s
        """ % (run_id, tmp_path)))
    return str(path)


def test_controller_killed_then_cleanup_at_once_no_race_nothing_left(unchanged, tmp_path):
    run_id = new_run_id()
    controller = subprocess.Popen(["ansible-playbook", "-i", INVENTORY, playbook(tmp_path, run_id)], cwd=REPO,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for_captures(controller, run_id)
    os.killpg(controller.pid, signal.SIGKILL)
    controller.wait(timeout=10)
    cleanup = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(REPO, "playbooks", "cleanup.yml")],
                             cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert cleanup.returncode == 0, cleanup.stdout[-3000:] + cleanup.stderr[-3000:]
    assert "failed=0" in cleanup.stdout and "Bad rule" not in cleanup.stdout + cleanup.stderr
    assert settled(unchanged, seconds=120) is None
    again = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(REPO, "playbooks", "cleanup.yml")],
                           cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]
