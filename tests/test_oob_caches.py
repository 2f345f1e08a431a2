"""The safe loader's per-process answers about static types (round 5) never
turn a refused global into an allowed one: they are kept only for classes
defined in C (whose names, bases and dicts never change), by identity, and
the name, the policy and the module's current attribute are checked at every
load as before."""

from __future__ import annotations

import builtins
import collections
import datetime
import io
import itertools
import os
import pickle
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

import brined
from brined._load import resolve
from brined._safe import guards, numpy_checks, policy
from brined._safe.policy import is_blocked_object, is_static_type

FIXTURE = "brined_oobsafe_fixture"


def _global(module: str, name: str) -> bytes:
    # A protocol 2 pickle of one GLOBAL, as the C pickler writes a class.
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"."


@pytest.fixture
def fixture_module() -> Iterator[types.ModuleType]:
    module = types.ModuleType(FIXTURE)
    sys.modules[FIXTURE] = module
    try:
        yield module
    finally:
        del sys.modules[FIXTURE]


class Heap:
    pass


def _objects() -> list[Any]:
    objects: list[Any] = [
        int, str, object, type, io.FileIO, itertools.count,
        collections.OrderedDict, datetime.date, os.system, len, Heap, os, io,
        _objects, policy.Policy, guards.call_kind,
    ]  # fmt: skip
    try:
        import numpy as np
    except ImportError:  # the numpy cases are left out
        return objects
    return [*objects, np.dtype, np.ndarray, type(np.dtype("f8")), np.float64]


@pytest.mark.parametrize("obj", _objects(), ids=repr)
def test_is_blocked_object_answers_as_the_name_check(obj: Any) -> None:
    expected = policy._is_blocked_object(obj)
    for _ in range(3):  # the later answers may come from the cache
        assert is_blocked_object(obj) is expected


@pytest.mark.parametrize("obj", _objects(), ids=repr)
def test_call_kind_answers_as_before(obj: Any) -> None:
    module = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None)
    expected = guards.CALL_ARGS
    if getattr(sys.modules.get(str(module)), str(qual), None) is obj:
        if (module, qual) in guards._PLAIN_CALLEES:
            expected = guards.CALL_PLAIN
        elif (module, qual) in guards._SCALAR_CALLEES:
            expected = guards.CALL_SCALAR
    for _ in range(3):
        assert guards.call_kind(obj) == expected


def test_only_static_types_are_remembered() -> None:
    for obj in _objects():
        is_blocked_object(obj)
        guards.call_kind(obj)
    kept = [entry[0] for entry in policy._STATIC_BLOCKED.values()]
    kept += list(guards._STATIC_ARGS.values())
    kept += [entry[0] for entry in guards._STATIC_RUNAWAY.values()]
    assert kept and all(is_static_type(k) for k in kept)
    assert not is_static_type(Heap) and not is_static_type(os.system)


def test_a_heap_class_moved_into_a_system_module_is_refused(
    fixture_module: types.ModuleType,
) -> None:
    fixture_module.Thing = type("Thing", (), {"__module__": FIXTURE})  # type: ignore[attr-defined]
    data = _global(FIXTURE, "Thing")
    allow = [f"{FIXTURE}.Thing"]
    assert brined.loads(data, allow=allow) is fixture_module.Thing
    fixture_module.Thing.__module__ = "os"
    with pytest.raises(brined.UnsafeGlobalError):
        brined.loads(data, allow=allow)


@pytest.mark.parametrize("blocked", [io.FileIO, os.system], ids=repr)
def test_rebinding_an_allowed_name_to_a_blocked_object_is_refused(
    fixture_module: types.ModuleType, blocked: Any
) -> None:
    data = _global(FIXTURE, "Thing")
    allow = [f"{FIXTURE}.Thing"]
    fixture_module.Thing = itertools.count  # type: ignore[attr-defined]
    for _ in range(2):  # the second load meets itertools.count remembered
        assert brined.loads(data, allow=allow) is itertools.count
    fixture_module.Thing = blocked  # type: ignore[attr-defined]
    for _ in range(2):
        with pytest.raises(brined.UnsafeGlobalError):
            brined.loads(data, allow=allow)
    fixture_module.Thing = itertools.count  # type: ignore[attr-defined]
    assert brined.loads(data, allow=allow) is itertools.count


def test_a_remembered_static_type_still_needs_the_policy() -> None:
    data = _global("itertools", "count")
    for _ in range(2):
        assert brined.loads(data, allow=["itertools.count"]) is itertools.count
        with pytest.raises(brined.UnsafeGlobalError):
            brined.loads(data)
        with pytest.raises(brined.UnsafeGlobalError):
            brined.loads(data, allow=["itertools.repeat"])


class PosingStr(str):
    """A str that equals, and hashes as, another name."""

    def __new__(cls, text: str, poses_as: str) -> PosingStr:
        made = super().__new__(cls, text)
        made.poses_as = poses_as  # type: ignore[attr-defined]
        return made

    def __eq__(self, other: object) -> bool:
        return other == self.poses_as  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.poses_as)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("module", "name"), [("io", "FileIO"), ("os", "system")])
def test_a_posing_str_reaching_a_blocked_object_is_refused(
    module: str, name: str
) -> None:
    # The names say an allowed class; the module and attribute lookups find
    # the blocked object.  What it resolved to is refused, remembered or not.
    unpickler = brined.Unpickler(io.BytesIO(b"."))
    unpickler.proto = 5
    fake_module = PosingStr("collections", module)
    fake_name = PosingStr("OrderedDict", name)
    is_blocked_object(getattr(sys.modules[module], name))  # remembered if static
    with pytest.raises(brined.UnsafeGlobalError):
        unpickler.find_class(fake_module, fake_name)


def test_a_module_not_yet_imported_is_imported(tmp_path: Any) -> None:
    name = "brined_oobsafe_fresh"
    (tmp_path / f"{name}.py").write_text("class Thing:\n    pass\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert name not in sys.modules
        obj = brined.loads(_global(name, "Thing"), allow=[f"{name}.Thing"])
        assert obj is sys.modules[name].Thing
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def test_a_module_set_to_none_in_sys_modules_is_not_imported(
    fixture_module: types.ModuleType,
) -> None:
    # As __import__ (and the C unpickler): None there means "do not import".
    sys.modules[FIXTURE] = None  # type: ignore[assignment]
    with pytest.raises(brined.UnpicklingError, match="None in sys.modules"):
        brined.loads(_global(FIXTURE, "Thing"), allow=[f"{FIXTURE}.Thing"])


def test_needs_import_reads_the_spec_as_import_does() -> None:
    assert resolve._needs_import(None)  # not loaded
    module = types.ModuleType("m")
    assert not resolve._needs_import(module)  # no spec
    module.__spec__ = types.SimpleNamespace()  # type: ignore[assignment]
    assert not resolve._needs_import(module)  # a spec without the flag
    module.__spec__._initializing = True  # type: ignore[attr-defined]
    assert resolve._needs_import(module)
    assert not resolve._needs_import(sys) and not resolve._needs_import(os)


@pytest.mark.parametrize("trusted", [False, True])
def test_a_replaced_import_is_called_for_every_global_as_c_pickle_calls_it(
    trusted: bool,
) -> None:
    """C pickle calls `__import__` for each global, loaded module or not: an
    import hook the user installed sees brined's loads the same way."""
    data = pickle.dumps([collections.OrderedDict, datetime.date, collections.Counter])
    real = builtins.__import__

    def calls_of(loads: Any) -> list[str]:
        seen: list[str] = []

        def hook(name: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(name)
            return real(name, *args, **kwargs)

        builtins.__import__ = hook
        try:
            loads(data)
        finally:
            builtins.__import__ = real
        return seen

    expected = calls_of(pickle.loads)
    assert expected == ["collections", "datetime", "collections"]
    allow = ["collections.OrderedDict", "datetime.date", "collections.Counter"]
    assert (
        calls_of(
            lambda d: brined.loads(d, trusted=trusted, allow=None if trusted else allow)
        )
        == expected
    )
    # Back to the interpreter's own: the shortcut is taken again.
    assert builtins.__import__ is resolve._PLAIN_IMPORT
    assert not resolve._needs_import(collections)


class HeapMeta(type):
    pass


class OfHeapMeta(metaclass=HeapMeta):
    pass


def test_runaway_remembers_only_fully_static_lookups() -> None:
    assert guards._static_lookup(int)
    assert not guards._static_lookup(OfHeapMeta)  # a heap metaclass
    assert not guards._static_lookup(Heap)  # a heap class
    assert not guards._static_lookup(collections.abc.Iterator)  # ABCMeta
    HeapMeta.__next__ = lambda cls: 0  # type: ignore[attr-defined]
    try:
        # Never remembered, so a later __next__ on its metaclass is seen.
        assert guards._runaway(OfHeapMeta()) is hasattr(OfHeapMeta, "__next__")
    finally:
        del HeapMeta.__next__  # type: ignore[attr-defined]
    assert guards._runaway(OfHeapMeta()) is False


def test_a_rebound_plain_callee_loses_its_shortcut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    date = datetime.date
    assert guards.call_kind(date) == guards.CALL_PLAIN
    monkeypatch.setattr(datetime, "date", type("date", (), {}))
    for _ in range(2):
        assert guards.call_kind(date) == guards.CALL_ARGS
    monkeypatch.undo()
    assert guards.call_kind(date) == guards.CALL_PLAIN


def _builders() -> list[Any]:
    return [
        set, frozenset, dict, collections.Counter, collections.OrderedDict,
        collections.defaultdict, list, tuple, int, str, Heap, datetime.date,
        itertools.count,
    ]  # fmt: skip


@pytest.mark.parametrize("func", _builders(), ids=repr)
def test_hashed_keys_answers_as_the_subclass_checks(func: Any) -> None:
    args = ([(1, 2), (3, 4)],)
    elements = issubclass(func, (set, frozenset, collections.Counter))
    pairs = issubclass(func, dict) and not elements
    expected = [(1, 2), (3, 4)] if elements else [1, 3] if pairs else None
    for _ in range(3):  # the later answers may come from what was remembered
        assert guards.hashed_keys(func, args) == expected
    kept = list(guards._STATIC_NOT_BUILDERS.values())
    assert all(is_static_type(k) and guards.hashed_keys(k, args) is None for k in kept)


def test_a_remembered_simple_dtype_is_the_one_numpy_makes() -> None:
    np = pytest.importorskip("numpy", reason="numpy's dtypes")
    for text in ["<f8", "|b1", "<M8[ns]", "|S10", "<U3", ">i2", "|O"]:
        for _ in range(2):
            made = numpy_checks._simple_dtype(text)
            fresh = np.dtype(text)
            assert made == fresh and made.flags == fresh.flags
            assert made.itemsize == fresh.itemsize
    with pytest.raises(TypeError):
        numpy_checks._simple_dtype("not a dtype")
    assert "not a dtype" not in numpy_checks._SIMPLE_DTYPES


def test_check_instance_refuses_as_before_when_remembered() -> None:
    np = pytest.importorskip("numpy", reason="numpy's static dtype classes")
    targets = [np.dtype("f8"), np.float64(1.0), collections.OrderedDict(), 1]
    for _ in range(2):  # the second pass meets the remembered classes
        for target in targets:
            guards.check_instance(target, "BUILD")
        for refused in [int, np.dtype, len, sys, np.dtype.__new__]:
            with pytest.raises(brined.UnsafeOperationError):
                guards.check_instance(refused, "BUILD")
    kept = list(guards._STATIC_TARGETS.values())
    assert type(np.dtype("f8")) in kept and all(is_static_type(k) for k in kept)
