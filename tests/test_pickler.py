"""The pickler's own claims, each checked against the C pickler's bytes."""

from __future__ import annotations

import copyreg
import io
import pickle
import sys
import weakref
from typing import Any

import pytest

import brined

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


def reduce_point(p: Point) -> tuple[Any, ...]:
    return (Point, (p.y, p.x))


def c_pickler_bytes(obj: Any, proto: int, **attrs: Any) -> bytes:
    f = io.BytesIO()
    p = pickle.Pickler(f, proto)
    for name, value in attrs.items():
        setattr(p, name, value)
    p.dump(obj)
    return f.getvalue()


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_dispatch_table_assigned_after_init_is_used(proto: int) -> None:
    # loky sets dispatch_table on the instance after __init__.
    table = copyreg.dispatch_table.copy()
    table[Point] = reduce_point
    f = io.BytesIO()
    p = brined.Pickler(f, proto)
    p.dispatch_table = table  # type: ignore[attr-defined]
    p.dump(Point(1, 2))
    assert f.getvalue() == c_pickler_bytes(Point(1, 2), proto, dispatch_table=table)
    assert pickle.loads(f.getvalue()) == Point(2, 1)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_persistent_id_set_on_instance_is_used(proto: int) -> None:
    def pid(obj: Any) -> Any:
        return "P" if isinstance(obj, Point) else None

    f = io.BytesIO()
    p = brined.Pickler(f, proto)
    p.persistent_id = pid  # type: ignore[method-assign]
    p.dump([Point(1, 2), 3])
    assert f.getvalue() == c_pickler_bytes([Point(1, 2), 3], proto, persistent_id=pid)


def _record_reducer_override(base: type, value: Any, proto: int) -> list[type]:
    seen: list[type] = []

    class Recording(base):  # type: ignore[valid-type, misc]
        def reducer_override(self, obj: Any) -> Any:
            seen.append(type(obj))
            return NotImplemented

    Recording(io.BytesIO(), proto).dump(value)
    return seen


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_reducer_override_is_asked_about_the_same_objects_as_in_c(proto: int) -> None:
    # Not about the exact builtin types the C pickler handles first.
    value = [1, "a", b"b", 1.5, None, True, (1,), {1: 2}, {3}, Point(1, 2), len]
    ours = _record_reducer_override(brined.Pickler, value, proto)
    assert ours == _record_reducer_override(pickle.Pickler, value, proto)
    assert int not in ours and list not in ours


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_memo_is_kept_between_dumps_until_cleared(proto: int) -> None:
    shared = ["shared"]
    ours, theirs = io.BytesIO(), io.BytesIO()
    p, c = brined.Pickler(ours, proto), pickle.Pickler(theirs, proto)
    for pickler in (p, c):
        pickler.dump(shared)
        pickler.dump(shared)
        pickler.clear_memo()
        pickler.dump(shared)
    assert ours.getvalue() == theirs.getvalue()


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_memo_reads_and_writes_like_the_stdlib_dict(proto: int) -> None:
    # The compiled build keeps the memo in a table of its own; `memo` is still
    # the stdlib's {id: (index, obj)}, a dict that, once got or set, a dump
    # starts from and adds to.
    shared, other = ["shared"], ("other", 1)
    first, second = [shared, shared], [shared, other]
    ours, theirs = io.BytesIO(), io.BytesIO()
    p, c = brined.Pickler(ours, proto), pickle.Pickler(theirs, proto)
    for pickler in (p, c):
        pickler.dump(first)
    assert p.memo == {key: value for key, value in c.memo.copy().items()}
    held = p.memo
    for pickler in (p, c):
        pickler.dump(second)
    assert held is p.memo
    assert held == {key: value for key, value in c.memo.copy().items()}
    held.clear()
    primed = brined.Pickler(ours, proto)
    primed.memo = {id(other): (0, other)}
    third = [other, other]
    primed.dump(third)
    c.clear_memo()
    c.memo = {id(other): (0, other)}
    c.dump(third)
    assert ours.getvalue() == theirs.getvalue()
    assert primed.memo == {key: value for key, value in c.memo.copy().items()}


def test_fast_mode_refuses_a_cycle_instead_of_looping() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    p = brined.Pickler(io.BytesIO(), 2)
    p.fast = 1
    with pytest.raises(ValueError, match="fast mode"):
        p.dump(cycle)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_fast_mode_writes_no_memo_opcodes_like_the_c_pickler(proto: int) -> None:
    value = [[1, 2], "abc", ("t",)]
    f = io.BytesIO()
    p = brined.Pickler(f, proto)
    p.fast = 1
    p.dump(value)
    assert f.getvalue() == c_pickler_bytes(value, proto, fast=1)


def test_pickler_keeps_no_reference_cycle_after_dump() -> None:
    class WithHooks(brined.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            return None

        def reducer_override(self, obj: Any) -> Any:
            return NotImplemented

    p = WithHooks(io.BytesIO(), 4)
    p.dump([Point(1, 2)])
    ref = weakref.ref(p)
    del p
    assert ref() is None


@pytest.mark.parametrize("proto", [4, 5])
def test_dump_to_a_file_writes_frame_by_frame(proto: int) -> None:
    chunks: list[bytes] = []

    class Sink:
        def write(self, data: bytes) -> None:
            chunks.append(bytes(data))

    value = [str(i) * 20 for i in range(20_000)]
    brined.Pickler(Sink(), proto).dump(value)
    assert b"".join(chunks) == pickle.dumps(value, proto)
    assert len(chunks) > 5
    assert max(len(c) for c in chunks) < 2 * 64 * 1024


def test_large_bytes_are_handed_to_the_file_without_a_copy() -> None:
    payload = b"x" * (1 << 20)
    written: list[Any] = []

    class Sink:
        def write(self, data: Any) -> None:
            written.append(data)

    brined.Pickler(Sink(), 5).dump(payload)
    assert any(w is payload for w in written)


def test_unpicklable_local_function_raises_what_c_pickle_raises() -> None:
    def local() -> None:
        pass

    # AttributeError before 3.14 (C's get_dotted_path), PicklingError after.
    with pytest.raises(Exception) as c_info:
        pickle.dumps(local)
    with pytest.raises(type(c_info.value), match="local object"):
        brined.dumps(local)


def test_deep_nesting_does_not_touch_the_recursion_limit() -> None:
    value: list[Any] = []
    for _ in range(50_000):
        value = [value]
    limit = sys.getrecursionlimit()
    data = brined.dumps(value, 4)
    assert sys.getrecursionlimit() == limit
    assert data.count(b"]") == 50_001
