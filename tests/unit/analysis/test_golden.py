# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The analysis core gives, byte for byte, the journeys recorded in tests/unit/fixtures/golden."""

from __future__ import annotations

import json
import os
import sys

import pytest

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "golden")
sys.path.insert(0, GOLDEN)
import make_golden  # noqa: E402  pylint: disable=wrong-import-position


def first_difference(expected, actual, path="$"):
    """JSON path of the first place where two decoded documents differ, or None."""
    if type(expected) is not type(actual):
        return "%s: %r != %r" % (path, expected, actual)
    if isinstance(expected, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in expected or key not in actual:
                return "%s.%s: only in %s" % (path, key, "golden" if key in expected else "new output")
            found = first_difference(expected[key], actual[key], "%s.%s" % (path, key))
            if found:
                return found
        return None
    if isinstance(expected, list):
        for index, (old, new) in enumerate(zip(expected, actual)):
            found = first_difference(old, new, "%s[%d]" % (path, index))
            if found:
                return found
        if len(expected) != len(actual):
            return "%s: %d items != %d" % (path, len(expected), len(actual))
        return None
    return None if expected == actual else "%s: %r != %r" % (path, expected, actual)


def test_every_trace_fixture_has_a_golden_file():
    names = make_golden.trace_names()
    assert len(names) >= 30
    assert sorted(name for name in os.listdir(GOLDEN) if name.endswith(".json")) == \
        sorted(name + ".json" for name in names)


@pytest.mark.parametrize("name", make_golden.trace_names())
def test_journeys_are_the_golden_ones(name):
    with open(make_golden.golden_path(name), encoding="utf-8") as handle:
        golden = handle.read()
    text = make_golden.golden_text(name)
    if text != golden:
        pytest.fail("%s differs from its golden file: %s" % (
            name, first_difference(json.loads(golden), json.loads(text))))
