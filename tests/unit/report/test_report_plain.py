"""report_model.plain: Ansible's tagged and lazy types come back as builtins; builtin parts are kept."""

from ansible_collections.dockernet.packetflow.plugins.plugin_utils.report_model import plain


class TaggedStr(str):
    """Stands in for Ansible's tagged str."""


class LazyDict(dict):
    """Stands in for a lazy container: its values are only right when read through items()."""

    def items(self):
        return [(k, TaggedStr(v.upper()) if isinstance(v, str) else v) for k, v in super().items()]


class LazyList(list):
    """A list whose iteration differs from its stored items, like a lazy container."""

    def __iter__(self):
        return iter([TaggedStr("read"), *super().__iter__()])


def kinds(value):
    """Every type in ``value``, containers included."""
    if isinstance(value, dict):
        return {type(value)} | {type(k) for k in value} | set().union(*map(kinds, value.values()))
    if isinstance(value, list):
        return {type(value)} | set().union(*map(kinds, value))
    return {type(value)}


def test_subclasses_become_builtins_through_their_own_reading():
    value = dict(a=[1, TaggedStr("x"), LazyDict(c="y")], t=(1, 2.5), n=None, lazy=LazyList([True]))
    value[TaggedStr("k")] = 4
    value[3] = "three"
    out = plain(value)
    assert out == {"a": [1, "x", {"c": "Y"}], "t": [1, 2.5], "n": None, "lazy": ["read", True], "k": 4, "3": "three"}
    assert kinds(out) <= {dict, list, str, int, float, bool, type(None)}


def test_builtin_parts_are_kept_as_they_are():
    hop = dict(chain="FORWARD", ts=1.5, rule=None)
    packet = dict(id=1, hops=[hop], captures=[])
    doc = dict(scenarios=[dict(packets=[packet])])
    assert plain(doc) is doc
    mixed = dict(packets=[packet], name=TaggedStr("s"))
    out = plain(mixed)
    assert out is not mixed and out["packets"] is mixed["packets"]
    assert type(out["name"]) is str  # pylint: disable=unidiomatic-typecheck


def test_other_objects_become_their_text():
    assert plain({"when": b"x", "set": {1}}) == {"when": "b'x'", "set": "{1}"}
