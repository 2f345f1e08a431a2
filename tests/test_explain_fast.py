"""`brined.explain` after its first instance of a class: the compiled driver
saves the next ones itself (no Python call per object), and must still report
every object that cannot be pickled, where it is and why.

Oracle: the best-effort pickler of the public API
(``Pickler(..., on_error="placeholder")``), which checks every object through
its override and lists what it replaced; `explain` must report exactly those,
in the same order, with the same paths, types and reasons.
"""

from __future__ import annotations

import io
import pickle
import threading
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import brined


class Plain:
    def __init__(self, i: int, extra: Any = None) -> None:
        self.i = i
        self.extra = extra


class FailsSometimes:
    """Its state cannot be computed for odd numbers: a per-instance failure
    of ``__reduce_ex__`` after other instances of the class succeeded."""

    def __init__(self, i: int) -> None:
        self.i = i

    def __getstate__(self) -> Any:
        if self.i % 2:
            raise TypeError(f"odd state {self.i}")
        return {"i": self.i}


def _local_factory(i: int) -> Any:
    return i


class ReducesOtherwise:
    """Plain for most instances; for some, ``__reduce__`` names a callable
    that cannot be pickled (a lambda), which `explain` reports at the
    instance."""

    def __init__(self, i: int) -> None:
        self.i = i

    def __reduce_ex__(self, proto: int) -> Any:
        if self.i % 3 == 2:
            return (lambda: 0, ())
        if self.i % 3 == 1:
            return (_local_factory, (self.i,))
        return object.__reduce_ex__(self, proto)


def _oracle(obj: Any, protocol: int | None = None) -> list[tuple[str, str, str]]:
    pickler = brined.Pickler(io.BytesIO(), protocol, on_error="placeholder")
    pickler.dump(obj)
    return [(u.path, u.type_name, u.reason) for u in pickler.replaced]


def _explained(obj: Any, protocol: int | None = None) -> list[tuple[str, str, str]]:
    return [
        (p.path, p.type_name, p.reason) for p in brined.explain(obj, protocol=protocol)
    ]


def test_every_failing_instance_of_a_checked_class_is_reported() -> None:
    objs = [FailsSometimes(i) for i in range(10)]
    problems = _explained(objs)
    assert [p[0] for p in problems] == [f"root[{i}]" for i in (1, 3, 5, 7, 9)]
    assert problems[0][2] == "TypeError: odd state 1"
    assert problems == _oracle(objs)


def test_an_instance_that_reduces_otherwise_is_checked_at_the_instance() -> None:
    objs = [ReducesOtherwise(i) for i in range(9)]
    problems = _explained(objs)
    assert [p[0] for p in problems] == ["root[2]", "root[5]", "root[8]"]
    assert {p[1].rpartition(".")[2] for p in problems} == {"ReducesOtherwise"}
    assert problems == _oracle(objs)


def test_problems_inside_many_plain_objects_are_all_found() -> None:
    objs = [Plain(i, threading.Lock() if i % 100 == 99 else [i]) for i in range(1000)]
    problems = _explained(objs)
    assert [p[0] for p in problems] == [
        f"root[{i}].extra" for i in range(99, 1000, 100)
    ]
    assert {p[1] for p in problems} == {"_thread.lock"}
    assert problems == _oracle(objs)


def test_a_picklable_graph_of_plain_objects_has_no_problem() -> None:
    objs = {"xs": [Plain(i, {"k": (i, "v")}) for i in range(500)]}
    assert brined.explain(objs) == []
    assert pickle.loads(brined.dumps(objs))["xs"][499].extra == {"k": (499, "v")}


_kinds = st.sampled_from(["plain", "lock", "odd", "otherwise", "fn", "nested"])


def _build(kinds: list[str]) -> list[Any]:
    out: list[Any] = []
    for i, kind in enumerate(kinds):
        if kind == "plain":
            out.append(Plain(i))
        elif kind == "lock":
            out.append(Plain(i, threading.Lock()))
        elif kind == "odd":
            out.append(FailsSometimes(i))
        elif kind == "otherwise":
            out.append(ReducesOtherwise(i))
        elif kind == "fn":
            out.append(lambda i=i: i)
        else:
            out.append(Plain(i, [Plain(-i, FailsSometimes(i))]))
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(_kinds, max_size=30), st.sampled_from([2, 3, 4, 5]))
def test_explain_reports_what_the_best_effort_pickler_replaces(
    kinds: list[str], protocol: int
) -> None:
    objs = _build(kinds)
    assert _explained(objs, protocol) == _oracle(objs, protocol)
