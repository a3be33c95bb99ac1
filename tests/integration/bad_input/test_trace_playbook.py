"""playbooks/trace.yml refuses bad trace_* variables before it reads or changes anything on the host."""
import pytest

from bad_input_support import REPO, assert_refused, host_unchanged, run_playbook

TRACE = REPO / "playbooks" / "trace.yml"
SCENARIO_IDS = "host_to_container, container_to_host, container_to_container, cross_network"

# (id, extra vars, variable named, bad value shown, fix given)
CASES = [
    ("unknown scenario", {"trace_scenarios": ["nope"]}, "trace_scenarios", "nope", SCENARIO_IDS),
    ("scenarios as a string", "trace_scenarios=cross_network", "trace_scenarios", "cross_network",
     "give a non-empty list"),
    ("no scenario", {"trace_scenarios": []}, "trace_scenarios", "[]", "give a non-empty list"),
    ("port above 65535", {"trace_port": 99999}, "trace_port", "99999", "0 to 65535"),
    ("negative port", {"trace_port": -1}, "trace_port", "-1", "0 to 65535"),
    ("port not a number", "trace_port=http", "trace_port", "http", "convert to int"),
    ("negative count", {"trace_count": -1}, "trace_count", "-1", "1 to 1000"),
    ("count above 1000", {"trace_count": 1001}, "trace_count", "1001", "1 to 1000"),
    ("zero timeout", {"trace_timeout": 0}, "trace_timeout", "0", "1 to 3600"),
    ("timeout above an hour", {"trace_timeout": 7200}, "trace_timeout", "7200", "1 to 3600"),
    ("container name with a slash", {"trace_name": "web/1"}, "trace_name", "web/1", "letters, digits"),
    ("second name with a leading dash", {"trace_second_name": "-web2"}, "trace_second_name", "-web2",
     "letters, digits"),
    ("one-character name", {"trace_name": "w"}, "trace_name", "w", "two or more"),
    ("same name twice", {"trace_name": "web1", "trace_second_name": "web1"}, "trace_second_name", "web1",
     "another name"),
    ("expectation for a scenario that does not exist", {"trace_expect": {"nope": {"fate": "dropped"}}},
     "trace_expect", "nope", SCENARIO_IDS),
    ("expectation for a scenario not run",
     {"trace_scenarios": ["host_network"], "trace_expect": {"cross_network": {"fate": "dropped"}}},
     "trace_expect", "cross_network", "add it to trace_scenarios"),
    ("unknown fate", {"trace_expect": {"cross_network": {"fate": "lost"}}}, "trace_expect.cross_network.fate",
     "lost", "delivered, dropped, unknown"),
    ("unknown expectation key", {"trace_expect": {"cross_network": {"fat": "dropped"}}},
     "trace_expect.cross_network", "fat", "only the keys fate, at and via"),
    ("expectation not a dict", {"trace_expect": {"cross_network": "dropped"}}, "trace_expect.cross_network",
     "dropped", "give a dict"),
    ("trace_expect not a dict", "trace_expect=cross_network=dropped", "trace_expect", "cross_network=dropped",
     "key it by scenario id"),
    ("place without a chain", {"trace_expect": {"cross_network": {"at": "filter"}}}, "trace_expect.cross_network.at",
     "filter", "table:chain"),
    ("path as a string", {"trace_expect": {"cross_network": {"via": "filter:FORWARD"}}},
     "trace_expect.cross_network.via", "filter:FORWARD", "list of table:chain"),
    ("socket path without a scheme", {"trace_docker_host": "/var/run/docker.sock"}, "trace_docker_host",
     "/var/run/docker.sock", "unix:///var/run/docker.sock"),
    ("relative work directory", {"trace_workdir": "packetflow"}, "trace_workdir", "packetflow",
     "absolute directory"),
    ("relative reports directory", {"trace_reports_dir": "reports"}, "trace_reports_dir", "reports",
     "absolute directory"),
    ("flow without a destination", {"trace_flows": [{"src": "api"}]}, "trace_flows", "dst",
     "missing required arguments"),
    ("flow with an unknown protocol", {"trace_flows": [{"src": "api", "dst": "db", "proto": "sctp"}]},
     "proto", "sctp", "icmp, tcp, udp"),
    ("flow with an unknown verdict", {"trace_flows": [{"src": "api", "dst": "db", "port": 5432,
                                                       "expect": {"verdict": "open"}}]},
     "verdict", "open", "allowed, denied"),
    ("two flows of one name", {"trace_flows": [{"name": "a", "src": "api", "dst": "db", "port": 1},
                                               {"name": "a", "src": "db", "dst": "api", "port": 1}]},
     "trace_flows", "a, a", "give each flow its own name"),
    ("flows not a list", "trace_flows=api", "trace_flows", "api", "list"),
    ("unknown family", {"trace_families": ["ipv4", "ipx"]}, "trace_families", "ipx", "ipv4, ipv6"),
    ("families as a string", "trace_families=ipv6", "trace_families", "ipv6", "list"),
    ("no family", {"trace_families": []}, "trace_families", "[]", "non-empty list"),
    ("fail_on_mismatch not a boolean", "trace_fail_on_mismatch=maybe", "trace_fail_on_mismatch", "maybe",
     "Valid booleans"),
]


@pytest.mark.parametrize("extra_vars, variable, value, fix", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_trace_refuses(tmp_path, extra_vars, variable, value, fix):
    reports, workdir = tmp_path / "reports", tmp_path / "work"
    # Paths of this test's own, and a single quick scenario, in case a bad value were let through.
    safe = {"trace_reports_dir": str(reports), "trace_workdir": str(workdir), "trace_scenarios": ["cross_network"]}
    given = extra_vars if isinstance(extra_vars, dict) else dict([extra_vars.split("=", 1)])
    with host_unchanged():
        proc = run_playbook(TRACE, {k: v for k, v in safe.items() if k not in given}, extra_vars)
    assert_refused(proc, variable, value, fix)
    # Refused before packetflow_facts: no task of the role ran past the checks.
    assert "Gather packetflow facts" not in proc.stdout
    assert not reports.exists() and not workdir.exists()
