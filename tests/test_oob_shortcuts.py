"""The safe loader's round-6 shortcuts answer as the checks they stand in for.

Each shortcut skips work on the out-of-band numpy path (a loaded array is two
globals, two checked calls and a BUILD of its dtype); each test here compares
the shortcut with the full check it replaces, or shows that what the full
check refuses is still refused once the shortcut has been primed.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import functools
import io
import itertools
import pickle
import subprocess
import sys
from typing import Any

import pytest

import brined
from brined._safe import guards, numpy_checks
from brined.errors import UnsafeOperationError


def _date_impostor(*args: Any) -> Any:
    return args


def test_a_function_rebound_as_a_plain_callee_gets_its_arguments_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every plain and scalar callee is a class, so a function never gets their
    # shortcut, even under their names and bound in their place.
    monkeypatch.setattr(_date_impostor, "__module__", "datetime")
    monkeypatch.setattr(_date_impostor, "__qualname__", "date")
    monkeypatch.setattr(datetime, "date", _date_impostor)
    for _ in range(2):
        assert guards.call_kind(_date_impostor) == guards.CALL_ARGS
    data = b"\x80\x02cdatetime\ndate\ncbuiltins\nrange\nK\x05\x85R\x85R."
    with pytest.raises(UnsafeOperationError) as info:
        brined.loads(data, allow=["datetime.date", "builtins.range"])
    assert info.value.rule == "call-args"


class _Named:
    def __init__(self, module: Any, qualname: Any) -> None:
        self.__module__ = module
        self.__qualname__ = qualname


class _Text(str):
    pass


_TAIL = "multiarray._reconstruct"


@pytest.mark.parametrize(
    "func",
    [
        _Named("numpy._core.multiarray", "_reconstruct"),
        _Named("numpy.core", "multiarray._reconstruct"),
        _Named("x", "y.multiarray._reconstruct"),
        _Named("x.multiarray", "_reconstruct"),
        _Named("x", "_reconstruct"),
        _Named("x", "other"),
        _Named(None, "_reconstruct"),
        _Named(_Text("numpy._core.multiarray"), "_reconstruct"),
        _Named("numpy._core.multiarray", _Text("_reconstruct")),
        _Named("m", _Text("a.multiarray._reconstruct")),
        type("multiarray._reconstruct", (), {})(),
        len,
        pickle.loads,
    ],
    ids=repr,
)
def test_name_ends_answers_as_the_joined_name(func: Any) -> None:
    assert guards._name_ends(func, _TAIL) is guards._name(func).endswith(_TAIL)


@pytest.mark.parametrize(
    "value", [1, True, "s", (), [], range(3), iter([]), itertools.count(), 1.5]
)
def test_runaway_answers_for_the_types_it_tests_first(value: Any) -> None:
    assert guards._runaway(value) is (
        type(value) is range or hasattr(type(value), "__next__")
    )


def test_only_numpy_dtype_itself_is_called_as_numpy_writes_it() -> None:
    np = pytest.importorskip("numpy", reason="numpy's dtype classes")
    numpy_checks.check_dtype_call(np.dtype, ("f8", False, True), None)
    for cls in [type(np.dtype("f8")), np.dtypes.VoidDType]:
        with pytest.raises(UnsafeOperationError) as info:
            numpy_checks.check_dtype_call(cls, ("f8", False, True), None)
        assert info.value.rule == "call-args"


# -- the dtype witnesses ------------------------------------------------------

_TEXTS = ["<f8", ">f8", "<i4", "|u1", "|b1", "<c16", "|O", "|S5", "<U3", "|V8"]
_TEXTS += ["<M8[s]", "<m8[ns]", "<f2"]


def _verdict(dtype: Any) -> bool:
    try:
        numpy_checks.check_dtype_built(dtype)
    except UnsafeOperationError as exc:
        assert exc.rule == "build-state"
        return False
    return True


def _built(np: Any, text: str, state: tuple[Any, ...]) -> Any:
    made = np.dtype(text, False, True)
    try:
        made.__setstate__(state)
    except (TypeError, ValueError):
        return None
    return made


def _states(np: Any, text: str) -> list[tuple[Any, ...]]:
    state = np.dtype(text).__reduce__()[2]
    states = []
    for order, flags, size, align in itertools.product(
        ["<", ">", "|", "="], [None, 0, 1, 16, 63], [None, -1, 1, 16], [None, 1, 16]
    ):
        changed = list(state)
        changed[1] = order
        if flags is not None:
            changed[-1 if len(state) == 8 else 7] = flags
        if size is not None:
            changed[5] = size
        if align is not None:
            changed[6] = align
        states.append(tuple(changed))
    return states


def test_a_witness_never_accepts_what_the_full_check_refuses() -> None:
    np = pytest.importorskip("numpy", reason="numpy's dtypes")
    witnesses = numpy_checks._WITNESSES
    saved = dict(witnesses)
    try:
        witnesses.clear()
        for text in _TEXTS:  # numpy's own dtypes prime one witness per class
            assert _verdict(np.dtype(text, False, True))
        primed = dict(witnesses)
        assert len(primed) >= 10
        accepted = refused = 0
        for text in _TEXTS:
            for state in _states(np, text):
                made = _built(np, text, state)
                if made is None:
                    continue
                witnesses.clear()
                full = _verdict(made)
                witnesses.clear()
                witnesses.update(primed)
                assert _verdict(made) is full, (text, state)
                accepted += full
                refused += not full
        # Both answers are exercised, and the witnesses did answer.
        assert accepted > 50 and refused > 50
    finally:
        witnesses.clear()
        witnesses.update(saved)


def test_forged_dtype_states_are_refused_after_witnesses_are_primed() -> None:
    np = pytest.importorskip("numpy", reason="numpy's dtypes")
    for text in ["O", "V8", "V16", "f8"]:  # loads of real dtypes prime them
        assert brined.loads(pickle.dumps(np.dtype(text))) == np.dtype(text)
    assert type(np.dtype("O")) in numpy_checks._WITNESSES
    obj = np.dtype("O")
    for text, state in [
        ("O", (3, "|", None, None, None, 8, 8, 0)),
        ("V8", (3, "|", None, ("a",), {"a": (obj, 0)}, 8, 1, 0)),
        ("f8", (3, "<", None, None, None, -1, -1, 63)),
    ]:
        made = _built(np, text, state)
        assert made is not None
        assert not _verdict(made)


def test_a_witness_is_a_private_copy() -> None:
    np = pytest.importorskip("numpy", reason="numpy's dtypes")
    assert _verdict(np.dtype("f8", False, True))
    witness = numpy_checks._WITNESSES[type(np.dtype("f8"))][0]
    assert witness == np.dtype("f8") and witness is not np.dtype("f8")


_SWAPPED_OBJECT_DTYPE = """
import pickle, sys
import numpy as np
import brined

class Forged:
    def __reduce__(self):
        state = (3, ">", None, None, None, -1, -1, 63)
        return (np.dtype, ("O", False, True), state)

for proto in range(2, 6):
    try:
        brined.loads(pickle.dumps(Forged(), proto))
    except brined.UnsafeOperationError as exc:
        print(exc.rule)
"""


def test_an_object_dtype_given_a_byte_order_is_refused_not_compared() -> None:
    # numpy crashes comparing such a dtype with its own object dtype (a
    # segfault in round 5's check): in a child process, so that a crash is
    # a failure here and not the end of the test run.
    pytest.importorskip("numpy", reason="numpy's dtypes")
    done = subprocess.run(
        [sys.executable, "-c", _SWAPPED_OBJECT_DTYPE],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["build-state"] * 4


# -- what BUILD remembers about a class ---------------------------------------


def _setstate_classes() -> list[Any]:
    classes: list[Any] = [collections.OrderedDict, functools.partial, int, _Named]
    try:
        import numpy as np
    except ImportError:  # the numpy cases are left out
        return classes
    return [*classes, type(np.dtype("f8")), np.dtypes.VoidDType, np.ndarray]


@pytest.mark.parametrize("kind", _setstate_classes(), ids=repr)
def test_remembered_setstate_lookups_are_the_lookups(kind: type) -> None:
    numpy = pytest.importorskip("numpy", reason="numpy's static classes")
    inst = numpy.dtype("f8", False, True) if numpy_checks.is_dtype(kind) else None
    if inst is not None and type(inst) is kind:
        state = inst.__reduce__()[2]
        for _ in range(2):  # the second BUILD may use what was remembered
            guards.build_untrusted(inst, state)
    entry = guards._STATIC_SETSTATE.get(id(kind))
    if entry is not None:
        assert entry[0] is kind and guards._static_lookup(kind)
        assert entry[1] is getattr(kind, "__setstate__", None)
        assert entry[2] is numpy_checks.is_ndarray(kind)
        assert entry[3] is numpy_checks.is_dtype(kind)
    kept = [entry[0] for entry in guards._STATIC_SETSTATE.values()]
    assert all(guards._static_lookup(k) for k in kept)
    assert _Named not in kept


# -- the weights of call arguments and BUILD states -----------------------------


def _charged(data: bytes) -> int:
    # What a load charged against its byte budget, up to where it stopped
    # (the calls and BUILDs below fail after their arguments are weighed).
    unpickler = brined.Unpickler(io.BytesIO(data))
    with contextlib.suppress(TypeError, brined.UnpicklingError):
        unpickler.load()
    charged: int = unpickler._materialised
    return charged


_ARGS = ("abc", b"de", bytearray(b"f"), (1, 2), [3], {4: 5}, {6}, frozenset())
_ARGS += (7, None, 1.5, frozenset([1, 2]))
_CALLEE = b"\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94"


def _framed(body: bytes) -> bytes:
    return b"\x80\x04" + body + b"."


def _weights(values: tuple[Any, ...], factor: int) -> int:
    total = 0
    for value in values:
        if type(value) in (str, bytes, bytearray):
            total += factor * len(value)
        elif type(value) in (tuple, list, dict, set, frozenset):
            total += factor * 8 * len(value)
    return total


def test_call_arguments_are_weighed_as_sized_values() -> None:
    args = pickle.dumps(_ARGS, 4)[2:-1]  # (PROTO and STOP cut off)
    args = args[9:] if args[:1] == b"\x95" else args  # and a FRAME
    called = _charged(_framed(_CALLEE + args + b"R"))
    popped = _charged(_framed(_CALLEE + args + b"0"))
    assert called - popped == _weights(_ARGS, 1)


def test_build_states_are_weighed_as_sized_values() -> None:
    state = pickle.dumps(_ARGS, 4)[2:-1]
    state = state[9:] if state[:1] == b"\x95" else state
    made = _CALLEE + b")R\x94"
    built = _charged(_framed(made + state + b"b"))
    popped = _charged(_framed(made + state + b"0"))
    # A tuple state: four times its items' weights and its own.
    assert built - popped == _weights(_ARGS, 4) + 4 * 8 * len(_ARGS)
