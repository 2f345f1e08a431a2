"""Nested names at every protocol: what the C pickler writes for an allowed
global loads under that allowance (issue 10, defect 3).

Below protocol 4 the C pickler writes ``Outer.Inner`` (a nested class, a
method, a classmethod, a staticmethod) as REDUCE of ``getattr(Outer,
'Inner')``, and a bound method as ``getattr(instance, 'name')``.  A safe load
treats exactly that shape as a lookup of the dotted name; every other getattr
is refused.  The pickles here are `pickle.dumps` output (the oracle).
"""

from __future__ import annotations

import collections
import pickle
from typing import Any

import pytest

import brined

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
M = __name__


class Outer:
    """Importable as tests.test_nested_names.Outer."""

    class Inner:
        class Deep:
            pass

        def meth(self) -> int:
            return 4

    def method(self) -> int:
        return 1

    @classmethod
    def cm(cls) -> int:
        return 2

    @staticmethod
    def sm() -> int:
        return 3

    def __eq__(self, other: object) -> bool:
        return type(other) is Outer

    def __hash__(self) -> int:
        return 0


class Evil:
    """A class attribute that is a blocked function."""

    run = staticmethod(print)


NESTED: dict[str, Any] = {
    "Outer.Inner": Outer.Inner,
    "Outer.Inner.Deep": Outer.Inner.Deep,
    "Outer.method": Outer.method,
    "Outer.cm": Outer.cm,
    "Outer.sm": Outer.sm,
    "Outer.Inner.meth": Outer.Inner.meth,
}


def same(loaded: Any, original: Any) -> bool:
    if hasattr(original, "__self__") and hasattr(original, "__func__"):
        return loaded.__func__ is original.__func__ and loaded.__self__ == (
            original.__self__
        )
    return loaded is original


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_name_loads_when_allowed_by_name(name: str, proto: int) -> None:
    obj = NESTED[name]
    data = pickle.dumps(obj, proto)
    assert same(brined.loads(data, allow=[f"{M}.{name}"]), obj)


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_name_loads_when_allowed_as_an_object(name: str, proto: int) -> None:
    obj = NESTED[name]
    if name == "Outer.cm":
        pytest.skip("a bound classmethod has no __qualname__ of its own to allow")
    assert same(brined.loads(pickle.dumps(obj, proto), allow=[obj]), obj)


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_name_loads_under_the_module_star(name: str, proto: int) -> None:
    obj = NESTED[name]
    assert same(brined.loads(pickle.dumps(obj, proto), allow=[f"{M}.*"]), obj)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_many_nested_names_share_getattr_and_bases(proto: int) -> None:
    # The C pickler memoizes getattr and Outer and reuses them.
    objs = [NESTED[name] for name in sorted(NESTED)]
    data = pickle.dumps(objs, proto)
    loaded = brined.loads(data, allow=[f"{M}.{name}" for name in NESTED])
    assert all(same(a, b) for a, b in zip(loaded, objs, strict=True))


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_bound_method_of_an_allowed_instance_loads(proto: int) -> None:
    obj = Outer().method
    data = pickle.dumps(obj, proto)
    loaded = brined.loads(data, allow=[Outer, f"{M}.Outer.method"])
    assert same(loaded, obj)
    assert loaded() == 1


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_name_is_refused_without_an_allowance(name: str, proto: int) -> None:
    data = pickle.dumps(NESTED[name], proto)
    with pytest.raises(brined.UnpicklingError) as info:
        brined.loads(data)
    assert isinstance(info.value, (brined.UnsafeGlobalError,))


@pytest.mark.parametrize("proto", [0, 2])
def test_allowing_the_nested_name_does_not_allow_its_parent(proto: int) -> None:
    data = pickle.dumps([Outer.Inner, Outer], proto)
    with pytest.raises(brined.UnsafeGlobalError, match="Outer"):
        brined.loads(data, allow=[f"{M}.Outer.Inner"])


@pytest.mark.parametrize("proto", [0, 2])
def test_allowing_one_nested_name_does_not_allow_a_sibling(proto: int) -> None:
    data = pickle.dumps(Outer.method, proto)
    with pytest.raises(brined.UnsafeGlobalError, match="Outer.method"):
        brined.loads(data, allow=[f"{M}.Outer.Inner"])


# -- every other getattr stays refused -----------------------------------------

G = b"c__builtin__\ngetattr\n"
ORDERED = b"ccollections\nOrderedDict\n"
SHAPES: dict[str, bytes] = {
    "on a list the pickle made": G + b"(]X\x06\x00\x00\x00appendtR.",
    "to a dunder": G + b"(" + ORDERED + b"X\x08\x00\x00\x00__init__tR.",
    "to a dunder through a chain": G
    + b"("
    + G
    + b"("
    + ORDERED
    + b"X\x04\x00\x00\x00copytRX\x0b\x00\x00\x00__globals__tR.",
    "with a default (three args)": G + b"(" + ORDERED + b"X\x01\x00\x00\x00aNtR.",
    "with a non-str name": G + b"(" + ORDERED + b"K\x01tR.",
    "with a dotted name": G + b"(" + ORDERED + b"X\x08\x00\x00\x00a.__doc__tR.",
    "args a list": G + b"(" + ORDERED + b"X\x04\x00\x00\x00copylR.",
    "through NEWOBJ": b"\x80\x02" + G + b"NX\x04\x00\x00\x00copy\x86\x81.",
    "through OBJ": b"(" + G + ORDERED + b"X\x04\x00\x00\x00copyo.",
    "memo reuse for a non-global": G
    + b"p0\n("
    + ORDERED
    + b"X\x04\x00\x00\x00copytR0g0\n(]X\x06\x00\x00\x00appendtR.",
    "to a blocked class attribute": G
    + f"(c{M}\nEvil\nX\x03\x00\x00\x00runtR.".encode(),
    "on a refused global as a value": G + b"0" + b"cos\nsystem\n.",
    "the refused base as the result": G + b"cjson\nJSONDecoder\n.",
    "the refused base in a list": G + b"(cjson\nJSONDecoder\nl.",
    "the refused base kept and fetched": G + b"cjson\nJSONDecoder\np0\n0(g0\nl.",
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_other_getattr_is_refused(name: str) -> None:
    data = SHAPES[name]
    with pytest.raises(brined.UnpicklingError):
        brined.loads(data, allow=[f"{M}.*", "collections.*"])


def test_getattr_still_refused_when_the_name_is_not_allowed() -> None:
    # OrderedDict.copy is allowed by neither the defaults nor allow=.
    data = G + b"(" + ORDERED + b"X\x04\x00\x00\x00copytR."
    with pytest.raises(brined.UnsafeGlobalError, match="OrderedDict.copy"):
        brined.loads(data)
    assert brined.loads(data, trusted=True) is collections.OrderedDict.copy


def test_trusted_getattr_is_the_real_one() -> None:
    data = G + b"(]X\x06\x00\x00\x00appendtR."
    assert brined.loads(data, trusted=True).__name__ == "append"
