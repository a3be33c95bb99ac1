"""The hook diagram draws bridge-family hops as the bridge row of their hook, above the IP layer's tables."""

from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_model import stages
from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_svg import hook_boxes


def test_bridge_hops_are_the_bridge_row_of_their_hook_above_the_ip_tables():
    hops = [
        {"family": "bridge", "table": "pf_pf_20261201_abcdef_br", "chain": "PREROUTING", "hook": "PREROUTING"},
        {"family": "ip", "table": "raw", "chain": "PREROUTING", "hook": "PREROUTING"},
        {"family": "bridge", "table": "filter", "chain": "FORWARD", "hook": "FORWARD"},
        {"family": "ip", "table": "filter", "chain": "FORWARD", "hook": "FORWARD"},
    ]
    groups = stages(hops)
    assert [(group["hook"], group["table"]) for group in groups] == [
        ("PREROUTING", "bridge"),
        ("PREROUTING", "raw"),
        ("FORWARD", "bridge"),
        ("FORWARD", "filter"),
    ]
    extra: dict = {}
    for group in groups:
        extra.setdefault(group["hook"], []).append(group["table"])
    rows = hook_boxes(extra)["FORWARD"]["rows"]
    assert min(rows, key=rows.get) == "bridge" and rows["bridge"] < rows["filter"]
