# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""packetflow_trace_log run as Ansible runs it: a JSON args file, JSON on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from analysis_support import fixture_path

MODULE = "ansible_collections.dockernet.packetflow.plugins.modules.packetflow_trace_log"


def run_module(tmp_path, **args):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.run([sys.executable, "-m", MODULE, str(args_file)], capture_output=True, text=True,
                          env=dict(os.environ), check=False)
    assert "Traceback" not in proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_centos7_style_log_with_ruleset_in_check_mode(tmp_path):
    result = run_module(tmp_path, path=fixture_path("legacy-cross_network.traditional.log"),
                        ruleset_path=fixture_path("legacy.iptables-save"), _ansible_check_mode=True)
    assert result["changed"] is False and "failed" not in result
    assert result["format"] == "legacy"
    packet = result["packets"][0]
    assert packet["fate"] == "dropped" and packet["host"] == "master"
    assert packet["fate_at"]["chain"] == "DOCKER-ISOLATION-STAGE-2"
    assert {"table", "chain", "type", "rule", "verdict", "rule_text"} <= set(packet["hops"][-1])
    assert [item["line"] for item in result["unparsed"]] == [1, 12]
    assert result["counts"] == {"lines": 12, "events": 10, "packets": 1, "unparsed": 2, "captures": 0}


def test_flow_and_pcaps_list(tmp_path):
    result = run_module(tmp_path, path=fixture_path("nft-external_to_published.trace"),
                        ruleset_path=fixture_path("nft.ruleset.json"),
                        pcaps=[fixture_path("nft-external_to_published.any-sll2.pcap"),
                               fixture_path("nft-external_to_published.docker0.pcap")],
                        flow={"src": "198.51.100.2", "dport": 18080, "proto": "tcp"})
    assert result["format"] == "xtables-monitor" and len(result["packets"]) == 10
    assert result["counts"]["captures"] == 40
    assert all(packet["captures"] for packet in result["packets"])


def test_max_packets_warns(tmp_path):
    result = run_module(tmp_path, path=fixture_path("legacy-external_to_published.kern.log"), max_packets=3)
    assert len(result["packets"]) == 3 and result["counts"]["packets"] == 10
    assert "only the first 3" in json.dumps(result["warnings"])


def empty_file(tmp):
    path = tmp / "empty.log"
    path.write_text("")
    return str(path)


@pytest.mark.parametrize("make, message", [
    (lambda tmp: str(tmp / "missing.log"), "does not exist"),
    (str, "is a directory"),
    (empty_file, "is empty"),
    (lambda tmp: fixture_path("nft-cross_network.any-sll2.pcap"), "is binary"),
])
def test_bad_files_fail_with_a_message(tmp_path, make, message):
    result = run_module(tmp_path, path=make(tmp_path))
    assert result["failed"] is True and message in result["msg"]


def test_text_without_any_trace_fails_and_lists_the_lines(tmp_path):
    log = tmp_path / "messages"
    log.write_text("Nov 25 19:00:00 master sshd[1]: Accepted publickey\n\xff\xfe garbage \x01\n")
    result = run_module(tmp_path, path=str(log))
    assert result["failed"] is True and "no trace events" in result["msg"]
    assert [item["line"] for item in result["unparsed"]] == [1, 2]


def test_bad_ruleset_and_capture_fail_cleanly(tmp_path):
    result = run_module(tmp_path, path=fixture_path("nft-cross_network.trace"),
                        ruleset_path=fixture_path("nft-cross_network.trace"), ruleset_format="iptables-save")
    assert result["failed"] is True and "not understood" in result["msg"]
    result = run_module(tmp_path, path=fixture_path("nft-cross_network.trace"),
                        pcaps={"docker0": fixture_path("nft.iptables-save")})
    assert result["failed"] is True and "not a pcap" in result["msg"]
    result = run_module(tmp_path, path=fixture_path("nft-cross_network.trace"),
                        pcaps={"docker0": str(tmp_path / "nope.pcap")})
    assert result["failed"] is True and "does not exist" in result["msg"]


def test_very_long_line_is_cut_not_loaded_whole(tmp_path):
    log = tmp_path / "long.log"
    with open(fixture_path("legacy-cross_network.kmsg")) as handle:
        lines = handle.readlines()
    log.write_text("".join(lines[:3]) + "x" * 300000 + "\n" + "".join(lines[3:]))
    result = run_module(tmp_path, path=str(log), ruleset_path=fixture_path("legacy.iptables-save"))
    assert result["packets"][0]["fate"] == "dropped"
    assert [item["line"] for item in result["unparsed"]] == [1, 4, 13]
    assert len(result["unparsed"][1]["text"]) <= 2000


@pytest.mark.parametrize("ruleset, ruleset_format", [("legacy.iptables-S", "auto"), ("legacy.iptables-L", "iptables-L")])
def test_a_pasted_ruleset_form_gives_the_rule_texts(tmp_path, ruleset, ruleset_format):
    result = run_module(tmp_path, path=fixture_path("legacy-cross_network.kmsg"),
                        ruleset_path=fixture_path(ruleset), ruleset_format=ruleset_format)
    assert "failed" not in result, result.get("msg")
    packet = result["packets"][0]
    assert packet["fate"] == "dropped" and packet["fate_at"]["chain"] == "DOCKER-ISOLATION-STAGE-2"
    assert "inferred" not in packet and "DROP" in packet["fate_at"]["rule_text"]


def test_a_mostly_unreadable_trace_warns(tmp_path):
    with open(fixture_path("legacy-external_to_published.kern.log")) as handle:
        lines = handle.readlines()
    damaged = [line.replace(" DST=", " DST=172.17=", 1) if number % 4 else line for number, line in enumerate(lines)]
    log = tmp_path / "damaged.log"
    log.write_text("".join(damaged))
    result = run_module(tmp_path, path=str(log))
    assert "failed" not in result and result["counts"]["unparsed"] > len(lines) / 2
    assert "of 112 trace lines (75%) could not be read" in json.dumps(result["warnings"])


def test_dest_holds_the_journeys_and_the_result_their_outcomes(tmp_path):
    dest = tmp_path / "journeys.json"
    args = dict(path=fixture_path("legacy-external_to_published.kern.log"),
                ruleset_path=fixture_path("legacy.iptables-save"))
    full = run_module(tmp_path, **args)
    check = run_module(tmp_path, dest=str(dest), _ansible_check_mode=True, **args)
    assert check["changed"] is True and not dest.exists()
    assert [name for name in os.listdir(tmp_path) if name.startswith(".packetflow-")] == []
    result = run_module(tmp_path, dest=str(dest), **args)
    assert result["changed"] is True and result["dest"] == str(dest)
    written = json.loads(dest.read_text())
    assert written["packets"] == full["packets"] and written["counts"] == result["counts"] == full["counts"]
    assert [packet["summary"] for packet in result["packets"]] == [packet["summary"] for packet in full["packets"]]
    assert [packet["fate_at"] for packet in result["packets"]] == [packet["fate_at"] for packet in full["packets"]]
    assert all("hops" not in packet for packet in result["packets"])
    again = run_module(tmp_path, dest=str(dest), **args)
    assert again["changed"] is False
    assert run_module(tmp_path, dest=str(dest), max_packets=2, _ansible_check_mode=True, **args)["changed"] is True


@pytest.mark.parametrize("dest, message", [
    (str, "is a directory"),
    (lambda tmp: str(tmp / "missing" / "journeys.json"), "does not exist or is not writable"),
])
def test_bad_dest_fails_before_reading(tmp_path, dest, message):
    result = run_module(tmp_path, path=fixture_path("legacy-cross_network.kmsg"), dest=dest(tmp_path))
    assert result["failed"] is True and message in result["msg"] and "dest" in result["msg"]


def test_dest_is_left_alone_when_the_log_holds_no_trace(tmp_path):
    log = tmp_path / "messages"
    log.write_text("Nov 25 19:00:00 master sshd[1]: Accepted publickey\n")
    dest = tmp_path / "journeys.json"
    result = run_module(tmp_path, path=str(log), dest=str(dest))
    assert result["failed"] is True and "no trace events" in result["msg"]
    assert sorted(os.listdir(tmp_path)) == ["args.json", "messages"]
