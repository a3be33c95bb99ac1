"""The trace role's lists of scenario ids and fates are the catalogue's and the module's own."""
import yaml
from ansible_collections.dockernet.packetflow.plugins.module_utils.catalogue import scenarios

from bad_input_support import REPO

TRACE = REPO / "roles" / "trace"


def test_role_lists_match_the_catalogue():
    role_vars = yaml.safe_load((TRACE / "vars" / "main.yml").read_text())
    spec = yaml.safe_load((TRACE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert role_vars["__trace_catalogue"] == scenarios.names()
    assert spec["trace_scenarios"]["choices"] == scenarios.names()
    assert spec["trace_scenarios"]["default"] == scenarios.names()


def test_role_fates_match_the_module():
    role_vars = yaml.safe_load((TRACE / "vars" / "main.yml").read_text())
    module = (REPO / "plugins" / "modules" / "packetflow_scenario.py").read_text()
    documentation = yaml.safe_load(module.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0])
    expect = documentation["options"]["expect"]["suboptions"]
    assert role_vars["__trace_fates"] == expect["fate"]["choices"]
    assert sorted(role_vars["__trace_expect_keys"]) == sorted(expect)


def test_role_families_match_the_catalogue_and_the_module():
    role_vars = yaml.safe_load((TRACE / "vars" / "main.yml").read_text())
    spec = yaml.safe_load((TRACE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    module = (REPO / "plugins" / "modules" / "packetflow_scenario.py").read_text()
    documentation = yaml.safe_load(module.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0])
    assert role_vars["__trace_families"] == list(scenarios.FAMILIES)
    assert spec["trace_families"]["choices"] == list(scenarios.FAMILIES)
    assert documentation["options"]["family"]["choices"] == list(scenarios.FAMILIES)
    assert spec["trace_families"]["default"] == ["ipv4"] == [documentation["options"]["family"]["default"]]
    not_run = ["%s %s" % (name, family) for name, spec in scenarios.SCENARIOS.items() for family in scenarios.FAMILIES
               if family not in spec.get("families", scenarios.FAMILIES)]
    assert role_vars["__trace_not_in_family"] == not_run
