"""Run playbooks/report.yml and the action plugin through ansible-playbook on the fixtures."""

import json
import os
import shutil
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FIXTURES = os.path.join(REPO, "tests", "unit", "fixtures", "results")
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def play(playbook, *args, cwd=REPO):
    """Run ansible-playbook; return the PLAY RECAP line of localhost."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([PLAYBOOK, "-i", os.path.join(REPO, "inventory", "localhost.yml"), playbook, *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line for line in proc.stdout.splitlines() if line.startswith("localhost ")][-1]


def test_report_role_reads_results_json_and_is_idempotent(tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(os.path.join(FIXTURES, "fleet"), reports)
    args = ["-e", "report_dir=%s" % reports, "-e", json.dumps({"report_hosts": ["deb12", "deb13", "sid"]})]
    assert "changed=1" in play(os.path.join(REPO, "playbooks", "report.yml"), *args)
    assert "changed=0" in play(os.path.join(REPO, "playbooks", "report.yml"), *args)
    assert sorted(os.listdir(reports)) == ["deb12", "deb13", "index.html", "sid"]
    assert oct((reports / "deb12" / "host_to_container" / "docker0.pcap").stat().st_mode & 0o777) == "0o600"


def test_action_plugin_takes_registered_results_with_tagged_values(tmp_path):
    playbook = tmp_path / "pb.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Render from results read and templated by Ansible
      dockernet.packetflow.packetflow_report:
        results:
          - results: "{{ (lookup('file', fixtures ~ '/fleet/sid/results.json') | from_json).scenarios
                         + [{'failed': true, 'msg': 'boom <b>', 'item': 'host_network'}] }}"
        dest: "{{ out }}"
      register: written
    - name: Check what it says
      ansible.builtin.assert:
        that:
          - written.pages | length == 1
          - written.hosts[0].host == 'localhost'
          - written.hosts[0].error == 2
""", encoding="utf-8")
    recap = play(str(playbook), "-e", "fixtures=%s" % FIXTURES, "-e", "out=%s" % (tmp_path / "out"))
    assert "failed=0" in recap
    with open(tmp_path / "out" / "localhost" / "index.html", encoding="utf-8") as handle:
        assert "boom &lt;b&gt;" in handle.read()


def test_missing_results_fail_and_empty_results_warn(tmp_path):
    playbook = tmp_path / "pb.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: A folder without results
      dockernet.packetflow.packetflow_report:
        src: ["{{ out }}"]
        dest: "{{ out }}"
      register: empty
    - name: A missing file
      dockernet.packetflow.packetflow_report:
        src: ["{{ out }}/nope/results.json"]
      register: missing
      ignore_errors: true
    - name: Check both
      ansible.builtin.assert:
        that:
          - empty.pages == [] and empty.warnings | length == 1
          - missing is failed and 'no such results file' in missing.msg
""", encoding="utf-8")
    assert "failed=0" in play(str(playbook), "-e", "out=%s" % tmp_path)
