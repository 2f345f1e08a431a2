"""`dumps` hands its native writer to the next call (compiled build): the
bytes of every call stay C pickle's, whatever the calls before it did.

The oracle is `pickle.dumps`.  The cases are the ones where a reused writer
could carry something over: a call that failed half-way, a `dumps` inside a
reducer of an outer `dumps`, a pickle too large to keep the writer for, and
threads dumping at once.
"""

from __future__ import annotations

import pickle
import threading
from typing import Any

import pytest

import brined


class _Inner:
    """Its reduce value holds the pickle of another object, made by brined
    while the outer dumps is still writing."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def __reduce__(self) -> tuple[Any, ...]:
        return (bytes, (brined.dumps(self.payload, 5),))


class _Fails:
    def __reduce__(self) -> tuple[Any, ...]:
        raise ValueError("no")


_VALUES: list[Any] = [
    None,
    {"a": 1.5, "b": [1, 2, "x" * 300]},
    list(range(1000)),
    {f"k{i}": float(i) for i in range(3000)},
    ("t", b"bytes", {1, 2, 3}),
]


@pytest.mark.parametrize("proto", [1, 2, 3, 4, 5])
def test_after_a_failed_dumps_the_next_is_c_pickles(proto: int) -> None:
    for value in _VALUES:
        with pytest.raises(ValueError):
            brined.dumps([value, "tail", _Fails()], proto)
        assert brined.dumps(value, proto) == pickle.dumps(value, proto)


def test_dumps_inside_a_reducer() -> None:
    for value in _VALUES:
        outer = [value, _Inner(value), "end"]
        assert brined.dumps(outer, 5) == pickle.dumps(outer, 5)
        assert brined.dumps(value, 5) == pickle.dumps(value, 5)


def test_a_pickle_larger_than_the_kept_writer() -> None:
    big = ["x" * 1000 for _ in range(6000)]  # ~6 MB, over what is kept
    for value in (big, _VALUES[1], big, _VALUES[3]):
        assert brined.dumps(value, 4) == pickle.dumps(value, 4)


def test_threads_dumping_at_once() -> None:
    errors: list[str] = []

    def work(seed: int) -> None:
        for i in range(150):
            value = _VALUES[(seed + i) % len(_VALUES)]
            if brined.dumps(value, 5) != pickle.dumps(value, 5):
                errors.append(f"thread {seed}, call {i}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
