"""The policy check and its sentences: verdicts from fates, mismatches side by side, whose rule."""

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate, policy

USER_DROP = {"table": "filter", "chain": "DOCKER-USER", "type": "rule", "rule": 1,
             "rule_text": "-A DOCKER-USER -s 10.0.0.0/8 -j DROP"}
ISOLATION = {"table": "filter", "chain": "DOCKER-ISOLATION-STAGE-2", "type": "rule", "rule": 1,
             "rule_text": "-A DOCKER-ISOLATION-STAGE-2 -o br-1b46f7774c6d -j DROP"}
PATH = ["raw:PREROUTING", "filter:FORWARD", "filter:DOCKER-USER"]


def seen(fate, at=None, where=None):
    return {"fate": fate, "fate_at": at, "at": where, "path": PATH}


def test_a_users_drop_is_denied_and_named():
    observed = policy.flow_observed(seen("dropped", USER_DROP, "filter:DOCKER-USER:1"))
    assert observed["verdict"] == "denied" and observed["owner"] == "user"
    assert policy.check({"verdict": "denied", "at": "filter:DOCKER-USER"}, observed) == (True, [])
    assert narrate.flow_outcome("api to db", observed, []) == (
        "api to db: dropped by a rule in DOCKER-USER that is not Docker's: `-A DOCKER-USER -s 10.0.0.0/8 -j DROP`.")


def test_dockers_drop_says_the_fact_behind_it():
    observed = policy.flow_observed(seen("dropped", ISOLATION, "filter:DOCKER-ISOLATION-STAGE-2:1"))
    assert observed["owner"] == "docker"
    text = narrate.flow_outcome("a to b", observed, [])
    assert "Docker's rule filter DOCKER-ISOLATION-STAGE-2 rule 1" in text
    assert text.endswith("Docker isolates user-defined networks from each other.")


def test_mismatch_shows_expected_and_observed_side_by_side():
    observed = policy.flow_observed(seen("dropped", USER_DROP, "filter:DOCKER-USER:1"))
    passed, lines = policy.check({"verdict": "allowed", "at": "filter:DOCKER-FORWARD"}, observed)
    assert passed is False
    assert lines[:2] == ["- expected: allowed", "+ observed: denied"]
    assert lines[2] == "- expected decided at: filter:DOCKER-FORWARD"
    assert lines[3].startswith("+ observed decided at: filter:DOCKER-USER:1 (path: raw:PREROUTING -> ")


def test_no_expectation_is_neither_pass_nor_fail():
    observed = policy.flow_observed(seen("delivered"))
    assert observed["verdict"] == "allowed" and observed["owner"] is None
    assert policy.check({}, observed) == (None, [])
    assert narrate.flow_outcome("x", observed, []) == "x: allowed (last chain crossed: filter:DOCKER-USER)."


def test_an_untraced_same_bridge_flow_says_why():
    observed = policy.flow_observed({"fate": "unknown", "fate_at": None, "at": None, "path": []})
    text = narrate.flow_outcome("a to b", observed, [], {"bridge": "br-64dffe003464", "setting": "0"})
    assert "bridge br-64dffe003464 and bridge-nf-call-iptables is 0" in text
    assert "Docker 27.3+ no longer loads br_netfilter" in text
