"""`dumps` with the default options hands its pickler to the next such call
(compiled build; `pickler._SPARE_PICKLER`): the bytes of every call stay C
pickle's, whatever the calls before it asked for or left behind.

The oracle is `pickle.dumps`.  The cases are what a reused pickler could carry
over: the memo of a protocol 0 dump (kept in the dict), the protocol and
`fix_imports` of the call before, a call refused for its arguments, a call that
failed half-way, a `dumps` inside a reducer, and threads dumping at once.
"""

from __future__ import annotations

import functools
import pickle
import threading
from typing import Any

import pytest

import brined

_SHARED = ["shared", 1.5]
# Each holds an object twice: a memo left over from the call before would
# turn its first occurrence into a memo fetch.
_VALUES: list[Any] = [
    None,
    [_SHARED, _SHARED, {"k": _SHARED}],
    {"a": (1, 2), "b": [_SHARED, "x" * 300], "c": _SHARED},
    [functools.reduce, functools.reduce, set, {1, 2}],
    list(range(300)),
]


class _Fails:
    def __reduce__(self) -> tuple[Any, ...]:
        raise ValueError("no")


class _Inner:
    """Its reduce value holds a pickle brined made while the outer dumps
    was still writing."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def __reduce__(self) -> tuple[Any, ...]:
        return (bytes, (brined.dumps(self.payload, 0),))


@pytest.mark.parametrize("first", [0, 1, 2, 3, 4, 5])
def test_each_protocol_after_each_protocol_is_c_pickles(first: int) -> None:
    for value in _VALUES:
        for proto in range(6):
            brined.dumps(value, first)
            assert brined.dumps(value, proto) == pickle.dumps(value, proto)


@pytest.mark.parametrize("proto", [0, 1, 2])
def test_fix_imports_is_the_calls_own(proto: int) -> None:
    value = _VALUES[3]
    for fix in (True, False, True):
        got = brined.dumps(value, proto, fix_imports=fix)
        assert got == pickle.dumps(value, proto, fix_imports=fix)


def test_default_protocol_after_an_explicit_one() -> None:
    brined.dumps(_VALUES[1], 0)
    assert brined.dumps(_VALUES[1]) == pickle.dumps(_VALUES[1])
    assert brined.dumps(_VALUES[1], -1) == pickle.dumps(_VALUES[1], -1)


def test_a_refused_protocol_then_the_next_call() -> None:
    brined.dumps(_VALUES[1], 0)
    with pytest.raises(ValueError, match="pickle protocol must be"):
        brined.dumps(_VALUES[1], 99)
    assert brined.dumps(_VALUES[1], 5) == pickle.dumps(_VALUES[1], 5)


@pytest.mark.parametrize("proto", [0, 2, 5])
def test_after_a_failed_dumps_the_next_is_c_pickles(proto: int) -> None:
    for value in _VALUES:
        with pytest.raises(ValueError):
            brined.dumps([value, _SHARED, _Fails()], proto)
        assert brined.dumps(value, proto) == pickle.dumps(value, proto)


def test_other_options_between_default_calls() -> None:
    value = _VALUES[2]
    for kwargs in ({"deterministic": True}, {"on_error": "placeholder"}, {}):
        brined.dumps(value, 5, **kwargs)
        assert brined.dumps(value, 5) == pickle.dumps(value, 5)


def test_dumps_inside_a_reducer() -> None:
    for value in _VALUES:
        outer = [value, _Inner(value), _SHARED]
        assert brined.dumps(outer, 5) == pickle.dumps(outer, 5)
        assert brined.dumps(value, 5) == pickle.dumps(value, 5)


def test_threads_dumping_at_once() -> None:
    errors: list[str] = []

    def work(seed: int) -> None:
        for i in range(150):
            value = _VALUES[(seed + i) % len(_VALUES)]
            proto = (seed + i) % 6
            if brined.dumps(value, proto) != pickle.dumps(value, proto):
                errors.append(f"thread {seed}, call {i}, protocol {proto}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
