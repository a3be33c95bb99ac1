# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
name: host_dir
short_description: The report folder name of a host
version_added: 0.2.0
description:
  - Turns an inventory host name into the name of its folder under the reports directory, the same
    name the M(dockernet.packetflow.packetflow_report) pages use, so that a host's C(results.json)
    and its page share one folder.
  - A name made only of letters, digits, C(.), C(_) and C(-), not starting with a dot, at most 80
    characters long and other than C(index.html), is kept as it is.
  - Any other name is sanitized (runs of other characters become C(_), leading dots go), capped, and
    ends in C(-) and 8 hex digits of the SHA-1 of the original name. Distinct hosts never share a folder
    (C(a/b) and C(a_b) differ), and the name never leaves the reports directory.
author:
  - dockernet.packetflow maintainers (@dockernet)
options:
  _input:
    description: The host name, usually C(inventory_hostname).
    type: str
    required: true
seealso:
  - module: dockernet.packetflow.packetflow_report
"""

EXAMPLES = r"""
- name: Name the host's report directory
  ansible.builtin.set_fact:
    host_report_dir: "{{ playbook_dir }}/reports/{{ inventory_hostname | dockernet.packetflow.host_dir }}"

# "web-07.example.org" -> "web-07.example.org"
# "a/b"                -> "a_b-" followed by 8 hex digits
"""

RETURN = r"""
_value:
  description: One path component, safe as a folder name and as a link.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_names import dir_name


def host_dir(name):
    """The report folder name of host ``name``."""
    if not isinstance(name, str):
        raise AnsibleFilterError("host_dir expects a host name (a string), got %s: %r" % (type(name).__name__, name))
    return dir_name(name)


class FilterModule:
    """dockernet.packetflow's filters."""

    def filters(self):
        return {"host_dir": host_dir}
