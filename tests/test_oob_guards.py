"""The safe loader's shortcuts on the protocol 5 out-of-band path (numpy arrays
with ``buffers=``) answer exactly what the checks they short-cut answer."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import brined
from brined._safe import guards, numpy_checks
from brined._safe.guards import _runaway
from brined._safe.policy import ALLOWED, Policy

try:
    import numpy as np
except ImportError:  # the numpy cases are left out
    np = None  # type: ignore[assignment]


class NextInBase:
    def __next__(self) -> int:
        raise StopIteration


class NextInherited(NextInBase):
    pass


class NextMeta(type):
    def __next__(cls) -> int:
        raise StopIteration


class ClassOfNextMeta(metaclass=NextMeta):
    pass


class Plain:
    pass


class StrWithNext(str):
    def __next__(self) -> str:
        raise StopIteration


def _values() -> list[Any]:
    values: list[Any] = [
        "s", b"b", bytearray(b"x"), 1, True, 1.5, 2j, None, (), [], {}, set(),
        frozenset(), memoryview(b"m"), pickle.PickleBuffer(b"p"), range(3),
        iter([]), iter(()), iter({}), map(str, []), zip(), reversed([]),
        (x for x in ()), NextInBase(), NextInherited(), ClassOfNextMeta(),
        ClassOfNextMeta, Plain(), Plain, StrWithNext("x"), object(), len,
        NextMeta,
    ]  # fmt: skip
    if np is not None:  # numpy's arrays and dtypes, when installed
        values += [np.arange(3), np.dtype("f8"), np.float64(1), np.nditer(np.arange(2))]
    return values


@pytest.mark.parametrize("value", _values(), ids=lambda v: type(v).__name__)
def test_runaway_answers_as_hasattr_does(value: Any) -> None:
    expected = type(value) is range or hasattr(type(value), "__next__")
    assert _runaway(value) is expected


def test_an_iterator_argument_is_still_refused() -> None:
    # set(NextInherited()): an iterator the pickle made, given to a constructor.
    data = (
        b"\x80\x02cbuiltins\nset\n"
        + f"c{__name__}\nNextInherited\n".encode()
        + b")\x81\x85R."
    )
    with pytest.raises(brined.UnsafeOperationError) as info:
        brined.loads(data, allow=[NextInherited])
    assert info.value.rule == "call-args"


NAMES = [
    ("numpy", "dtype"),
    ("numpy._core.numeric", "_frombuffer"),
    ("os", "system"),
    ("builtins", "eval"),
    ("builtins", "list"),
    ("collections", "OrderedDict"),
    ("mypkg.sub", "Thing"),
    ("mypkg", "__init__"),
    ("", "x"),
    ("a.<locals>", "f"),
    ("os.path", "join"),
]


@pytest.mark.parametrize("allow", [None, ["mypkg.*"], ["os.path.join", "mypkg:Thing"]])
def test_cached_verdicts_are_the_uncached_ones(allow: list[str] | None) -> None:
    policy = Policy(allow)
    for _ in range(2):  # the second pass answers from the cache
        for module, name in NAMES:
            assert policy.check(module, name) == policy._check(module, name)


class Liar(str):
    """Text "numpy" with the hash of "os"; once armed, equal to anything."""

    armed = False

    def __eq__(self, other: object) -> bool:
        return Liar.armed or str.__eq__(self, other)

    def __hash__(self) -> int:
        return hash("os")


def test_a_str_subclass_never_answers_for_another_name() -> None:
    policy = Policy(["numpy.*"])
    assert policy.check(Liar("numpy"), "system") == ALLOWED  # numpy.system
    Liar.armed = True
    try:
        # A remembered (Liar, "system") would match ("os", "system") now.
        assert policy.check("os", "system") != ALLOWED
    finally:
        Liar.armed = False


def test_the_verdict_cache_is_bounded() -> None:
    policy = Policy()
    for i in range(10_000):
        policy.check("somepkg", f"name{i}")
    assert sum(map(len, policy._verdicts.values())) <= 4096


def _named_walk(cls: type, name: str) -> bool:
    return any(k.__name__ == name and k.__module__ == "numpy" for k in cls.__mro__)


def _classes() -> list[type]:
    fake = type("ndarray", (), {"__module__": "numpy"})
    fake_dtype = type("dtype", (fake,), {"__module__": "numpy"})
    classes = [int, str, object, type, Plain, NextMeta, fake, fake_dtype]
    if np is None:
        return classes
    sub = type("Sub", (np.ndarray,), {})
    classes += [np.ndarray, np.dtype, type(np.dtype("f8")), np.float64, sub]
    classes += [np.ma.MaskedArray, np.dtypes.StringDType, type(np.dtype([("a", "i4")]))]
    return classes


@pytest.mark.parametrize("cls", _classes(), ids=lambda c: c.__qualname__)
def test_numpy_kind_answers_as_the_name_walk_does(cls: type) -> None:
    for _ in range(2):  # the second answer may come from the cache
        assert numpy_checks.is_ndarray(cls) is _named_walk(cls, "ndarray")
        assert numpy_checks.is_dtype(cls) is _named_walk(cls, "dtype")


def test_a_renamed_heap_class_is_judged_by_its_new_name() -> None:
    cls = type("Other", (), {"__module__": "numpy"})
    assert not numpy_checks.is_ndarray(cls)
    cls.__name__ = "ndarray"
    assert numpy_checks.is_ndarray(cls)


class ClassLiar:
    """An instance whose __class__ says it is a function."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(len)


def _targets() -> list[Any]:
    return [
        Plain(),
        [],
        {},
        "s",
        ClassLiar(),
        Plain,
        len,
        pickle,
        _values,
        (lambda: 0).__code__,
    ]


@pytest.mark.parametrize("inst", _targets(), ids=lambda v: type(v).__name__)
def test_check_instance_refuses_what_isinstance_names(inst: Any) -> None:
    refused = isinstance(inst, guards._NOT_INSTANCES)
    if refused:
        with pytest.raises(brined.UnsafeOperationError):
            guards.check_instance(inst, "BUILD")
    else:
        guards.check_instance(inst, "BUILD")


def test_remembered_blocklist_answers_are_the_tables() -> None:
    from brined._safe import policy as pol
    from brined._safe.tables import BLOCKED_NAMES, DATA_IN_SYSTEM_MODULES

    names = NAMES + sorted(BLOCKED_NAMES)[:50] + sorted(DATA_IN_SYSTEM_MODULES)[:50]
    for _ in range(2):  # the second pass answers from what was remembered
        for module, name in names:
            expected = (module, name) in BLOCKED_NAMES or (
                pol._module_blocked(module)
                and (module, name) not in DATA_IN_SYSTEM_MODULES
            )
            assert pol.is_blocked(module, name) is expected, (module, name)


def test_not_instances_are_plain_types() -> None:
    # check_instance reads `T in type(inst).__mro__` for isinstance(inst, T):
    # the same only for types whose metaclass is `type` (no __instancecheck__).
    assert all(type(t) is type for t in guards._NOT_INSTANCES)
