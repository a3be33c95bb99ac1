"""Ownership: the names a run creates and the matching that cleanup finds them by."""

import pytest

from ansible_collections.dockernet.packetflow.plugins.module_utils.host import ownership

RUN = "pf-20261201-abcdef"


def test_the_names_of_a_run():
    names = ownership.Names(RUN)
    assert (names.tag, names.nft_table, names.netns, names.host_veth, names.peer_veth) == (
        "packetflow:" + RUN, "pf_pf_20261201_abcdef", "pf-abcdef", "pfhabcdef", "pfpabcdef")
    assert names.labels == {"dockernet.packetflow.run": RUN} and names.network(1) == RUN + "-net1"
    assert len(ownership.Names("pf-x-abcdefabcdef").host_veth) <= 15


@pytest.mark.parametrize("bad", ["", "web1", "pf-", "pf-a/b", "pf-a_b", "pf-20261201-abcdefabcdefa", "pf--x"])
def test_bad_run_ids_are_refused_with_the_option_and_value(bad):
    with pytest.raises(ValueError, match=r"run_id must look like pf-<date>-<hex>.*got %r" % bad):
        ownership.check_run_id(bad)


def test_new_run_ids_are_valid():
    ownership.check_run_id(ownership.new_run_id())


def test_matching_is_exact_for_one_run_and_by_pattern_for_all():
    assert ownership.owns_tag("packetflow:" + RUN, RUN)
    assert not ownership.owns_tag("packetflow:" + RUN + "0", RUN)
    assert ownership.owns_tag("packetflow:" + RUN) and not ownership.owns_tag("keep me")
    assert ownership.owns_table("pf_pf_20261201_abcdef", RUN) and not ownership.owns_table("filter")
    assert ownership.owns_netns("pf-abcdef", RUN) and not ownership.owns_netns("pf-abcdef0", RUN)
    assert ownership.owns_netns("pf-123") and not ownership.owns_netns("pf-some-thing")
    assert ownership.owns_link("pfhabcdef") and not ownership.owns_link("pfhabcdef", "pf-x-other")
    assert not ownership.owns_link("eth0")


def test_tagged_rules_read_the_comment_not_a_substring():
    save = "\n".join([
        "*raw",
        "-A PREROUTING -s 10.0.0.1/32 -m comment --comment packetflow:%s -j TRACE" % RUN,
        "-A PREROUTING -s 10.0.0.2/32 -m comment --comment packetflow:%s9 -j TRACE" % RUN,
        '-A OUTPUT -m comment --comment "not packetflow:%s" -j TRACE' % RUN,
        "COMMIT"])
    assert [args[3] for args in ownership.tagged_rules(save, RUN)] == ["10.0.0.1/32"]
    assert len(ownership.tagged_rules(save)) == 2


def test_environment_tag():
    assert ownership.owns_environ(b"PATH=/bin\0PACKETFLOW_RUN=%s\0" % RUN.encode(), RUN)
    assert not ownership.owns_environ(b"PACKETFLOW_RUN=%s0\0" % RUN.encode(), RUN)
    assert ownership.owns_environ(b"PACKETFLOW_RUN=%s\0" % RUN.encode())
    assert not ownership.owns_environ(b"X_PACKETFLOW_RUN=%s\0" % RUN.encode())


def test_state_file_round_trip_records_a_sysctl_before_changing_it(tmp_path):
    sysctl = tmp_path / "knob"
    sysctl.write_text("0\n")
    state = ownership.State(RUN, str(tmp_path / "state"))
    state.sysctl(str(sysctl), "1")
    assert sysctl.read_text() == "1"
    [(path, data)], errors = ownership.load_states(RUN, str(tmp_path / "state"))
    assert errors == [] and data["sysctls"] == {str(sysctl): "0"} and data["run_id"] == RUN
    assert state.restore() == [] and sysctl.read_text() == "0"
    state.remove()
    assert not (tmp_path / "state").exists()
    state.remove()
