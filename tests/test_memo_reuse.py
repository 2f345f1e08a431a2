"""`dumps` hands its memo table, cleared, to the next call (compiled build):
no object of one call is a memo hit of the next.

The oracle is `pickle.dumps`.  A table left with an entry would show as a
BINGET (or a missing string) in the next pickle: the cases dump the same
objects again (same ids), objects made at the addresses of freed ones, a call
that failed half-way, a `dumps` inside a reducer of an outer one, and threads.
Tables of up to 262,144 slots are kept; the values here span sizes below,
in and above the range a kept table may serve.
"""

from __future__ import annotations

import io
import pickle
import threading
from typing import Any

import pytest

import brined
from brined._build import COMPILED


def _strings(n: int, tag: str) -> list[str]:
    return [f"{tag}{i}" for i in range(n)]


class _Fails:
    def __reduce__(self) -> tuple[Any, ...]:
        raise ValueError("no")


class _Inner:
    """Its reduce value holds the pickle of `payload`, made by brined while
    the outer dumps is still writing (and holding its own table)."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def __reduce__(self) -> tuple[Any, ...]:
        return (bytes, (brined.dumps(self.payload, 5),))


_SIZES = [10, 700, 3000, 12000, 60000]


@pytest.mark.parametrize("proto", [2, 4, 5])
def test_the_same_objects_again_are_no_memo_hits(proto: int) -> None:
    for n in _SIZES:
        keys = _strings(n, "k")
        value = {k: float(i) for i, k in enumerate(keys)}
        assert brined.dumps(value, proto) == pickle.dumps(value, proto)
        # Every key was in the last call's table, by id.
        for again in (keys, keys[: n // 3], [value, keys]):
            assert brined.dumps(again, proto) == pickle.dumps(again, proto)


def test_objects_at_the_addresses_of_freed_ones() -> None:
    for round_ in range(6):
        for n in (_SIZES[round_ % len(_SIZES)], 2000):
            value = [[i, "x"] for i in range(n)]
            expected = pickle.dumps(value, 5)
            assert brined.dumps(value, 5) == expected
            del value, expected


def test_after_a_failed_dumps_the_next_is_c_pickles() -> None:
    for n in _SIZES:
        keys = _strings(n, "f")
        with pytest.raises(ValueError):
            brined.dumps([keys, _Fails()], 5)
        assert brined.dumps(keys, 5) == pickle.dumps(keys, 5)


def test_dumps_inside_a_reducer() -> None:
    for n in (3000, 12000):
        keys = _strings(n, "r")
        outer = [keys, _Inner(keys), _Inner(keys[:800]), keys]
        assert brined.dumps(outer, 5) == pickle.dumps(outer, 5)


def test_a_large_table_then_small_then_large() -> None:
    big = _strings(60000, "b")  # a table of 262,144 slots
    small = _strings(700, "s")  # 4,096 slots: the big spare is not taken
    mid = _strings(12000, "m")  # 65,536: it is
    for value in (big, small, mid, big, small, big, mid, small):
        assert brined.dumps(value, 4) == pickle.dumps(value, 4)


def test_threads_dumping_at_once() -> None:
    values: list[Any] = [_strings(n, f"t{n}") for n in _SIZES]
    values += [{k: 1 for k in v} for v in values]
    expected = [pickle.dumps(v, 5) for v in values]
    errors: list[str] = []

    def work(seed: int) -> None:
        for i in range(40):
            j = (seed + i) % len(values)
            if brined.dumps(values[j], 5) != expected[j]:
                errors.append(f"thread {seed}, call {i}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_pickler_with_a_file_keeps_its_memo_between_dumps() -> None:
    # Its table may come from the spare; it is never handed back.
    keys = _strings(3000, "p")
    brined.dumps(_strings(12000, "q"), 5)  # leaves a spare
    mine, theirs = io.BytesIO(), io.BytesIO()
    ours, std = brined.Pickler(mine, 5), pickle.Pickler(theirs, 5)
    for value in (keys, keys, {k: 0 for k in keys}):
        ours.dump(value)
        std.dump(value)
        brined.dumps(keys, 5)  # another table comes and goes meanwhile
    assert mine.getvalue() == theirs.getvalue()


@pytest.mark.skipif(not COMPILED, reason="the memo table is the compiled build's")
def test_the_kept_table_is_cleared() -> None:
    from brined._dump import memo

    memo._SPARE[0] = None  # a larger table, kept by another test, is not taken
    brined.dumps(_strings(3000, "c"), 5)
    slots = memo._SPARE[0]
    assert len(slots) == 2 * 16384
    assert all(slots[j] == 0 for j in range(0, len(slots), 2))
