"""`loads` keeps one spare unpickler between calls (``_load/entry.py``).

Nothing of one call may reach the next: not its memo, its input, what it
loaded, its options, its guard state, nor a failure half-way through.  Each
test runs a call that leaves something behind if the spare were not emptied,
then a call whose result shows it, with the stdlib (or a fresh `Unpickler`)
as the oracle.
"""

from __future__ import annotations

import io
import pickle
import sys
import threading
import weakref
from typing import Any

import pytest

import brined
from brined._load import entry


class Node:
    """A weak-referenceable instance (loading it needs ``trusted=True``)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other.label == self.label

    __hash__ = None  # type: ignore[assignment]


class NestedLoads:
    """Reduces to a call of `brined.loads` in the middle of the outer load."""

    def __init__(self, inner: bytes) -> None:
        self.inner = inner

    def __reduce__(self) -> tuple[Any, ...]:
        return (brined.loads, (self.inner,))


def _fresh_load(data: bytes, **kwargs: Any) -> Any:
    return brined.Unpickler(io.BytesIO(data), **kwargs).load()


def test_the_spare_is_kept_after_a_load_and_taken_by_the_next() -> None:
    brined.loads(pickle.dumps([1, 2]))
    assert len(entry._SPARE) == 1
    (spare,) = entry._SPARE
    brined.loads(pickle.dumps("x"))
    assert len(entry._SPARE) == 1
    assert spare in entry._SPARE


def test_the_memo_of_one_load_is_not_seen_by_the_next() -> None:
    brined.loads(pickle.dumps(["shared", "shared"], protocol=5))
    lone_get = b"\x80\x05h\x00."  # BINGET 0 with nothing memoized
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(lone_get)
    with pytest.raises(brined.MalformedPickleError, match="Memo value not found"):
        brined.loads(lone_get)


def test_the_spare_holds_no_reference_to_the_input_or_the_result() -> None:
    data = pickle.dumps([Node("a"), Node("b")], protocol=5)
    refs_before = sys.getrefcount(data)
    loaded = brined.loads(data, trusted=True)
    assert sys.getrefcount(data) == refs_before
    gone = weakref.ref(loaded[0])
    del loaded
    # Freed by reference counting alone: nothing else holds it.
    assert gone() is None


def test_a_trusted_load_does_not_leave_the_next_one_trusted() -> None:
    data = pickle.dumps(Node("n"), protocol=5)
    assert brined.loads(data, trusted=True) == Node("n")
    with pytest.raises(brined.UnsafeGlobalError):
        brined.loads(data)
    assert brined.loads(data, allow=[Node]) == Node("n")
    with pytest.raises(brined.UnsafeGlobalError):
        brined.loads(data)


def test_the_limits_of_one_call_do_not_apply_to_the_next() -> None:
    data = pickle.dumps([[1, 2], [3, 4]], protocol=5)  # two MARKs open at once
    with pytest.raises(brined.LimitExceededError, match="max_depth"):
        brined.loads(data, limits=brined.Limits(max_depth=1))
    assert brined.loads(data) == [[1, 2], [3, 4]]
    with pytest.raises(brined.LimitExceededError, match="max_depth"):
        brined.loads(data, limits=brined.Limits(max_depth=1))


def test_the_options_of_one_call_do_not_apply_to_the_next() -> None:
    # A Python 2 str: decoded as latin1 by the first call, kept as bytes by
    # the second, as the default ASCII by the third (as pickle.loads does).
    data = b"U\x02\xe9a."
    assert brined.loads(data, encoding="latin1") == pickle.loads(
        data, encoding="latin1"
    )
    assert brined.loads(data, encoding="bytes") == b"\xe9a"
    with pytest.raises(brined.UnpicklingError):
        brined.loads(data)
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(data)


def test_a_load_after_a_failed_one_matches_a_fresh_unpickler() -> None:
    good = pickle.dumps({"a": [1, 2.5, "x"], "b": ("y", None)}, protocol=5)
    for bad in (good[:-5], b"\x80\x05\x8c\x02osq\x00\x8c\x06system\x93."):
        with pytest.raises(brined.UnpicklingError):
            brined.loads(bad)
        assert brined.loads(good) == _fresh_load(good) == pickle.loads(good)


def test_a_loads_nested_in_a_load_keeps_both_memos_apart() -> None:
    shared = ["s"]
    inner = pickle.dumps(["inner", "inner"], protocol=5)
    data = pickle.dumps([shared, NestedLoads(inner), shared], protocol=5)
    loaded = brined.loads(data, trusted=True)
    assert loaded == pickle.loads(data) == [["s"], ["inner", "inner"], ["s"]]
    assert loaded[0] is loaded[2]
    assert brined.loads(data, trusted=True) == loaded


def test_loads_from_many_threads_at_once_each_get_their_own_result() -> None:
    payloads = [pickle.dumps({"t": t, "items": list(range(t * 50))}) for t in range(6)]
    errors: list[BaseException] = []

    def work(data: bytes) -> None:
        try:
            expected = pickle.loads(data)
            for _ in range(300):
                assert brined.loads(data) == expected
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(d,)) for d in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(entry._SPARE) <= 1
