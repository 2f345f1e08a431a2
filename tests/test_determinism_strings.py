"""Deterministic dumps share equal strings by value: in one dump, across the
dumps of one pickler, and after its memo was got, set, cleared or written in
fast mode (the drivers look a string up by value only when its identity is not
in the memo).

Oracle: the same value with each string one shared object, where the memo (by
identity) alone gives the sharing; and the stdlib loading the output.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brined


def fresh(s: str) -> str:
    """An equal string that is another object (for any length)."""
    t = "".join(["\x00", s])[1:]
    assert t == s and (t is not s or len(s) < 2)
    return t


def det(v: Any, protocol: int | None = None) -> bytes:
    return brined.dumps(v, protocol, deterministic=True)


@pytest.mark.parametrize("protocol", [1, 2, 3, 4, 5])
def test_many_equal_distinct_strings_give_the_bytes_of_shared_ones(
    protocol: int,
) -> None:
    words = [f"word{i}" for i in range(5000)]  # the table grows several times
    shared = words + words[::-1]
    distinct = words + [fresh(w) for w in words[::-1]]
    assert det(distinct, protocol) == det(shared, protocol)
    assert pickle.loads(det(distinct, protocol)) == shared


def test_surrogates_and_empty_strings_share_by_value() -> None:
    values = ["", "\ud800x", "é" * 300, "a" * 70_000]
    distinct = values + [fresh(v) for v in values]
    assert det(distinct) == det(values + values)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=6), max_size=40), st.sampled_from([2, 4, 5]))
def test_any_strings_share_by_value(words: list[str], protocol: int) -> None:
    distinct = [fresh(w) for w in words]
    assert det([words, distinct], protocol) == det([words, list(words)], protocol)


def _two_dumps(first: Any, second: Any, **setup: Any) -> bytes:
    out = io.BytesIO()
    p = brined.Pickler(out, deterministic=True)
    p.dump(first)
    for name, value in setup.items():
        setattr(p, name, value)
    start = out.tell()
    p.dump(second)
    return out.getvalue()[start:]


def test_strings_are_shared_across_the_dumps_of_one_pickler() -> None:
    a = "".join(["sha", "red"])
    assert _two_dumps([a], [fresh(a)]) == _two_dumps([a], [a])
    assert b"shared" not in _two_dumps([a], [fresh(a)])  # fetched from the memo


def _after_fast_mode(a: str, b: str, c: str) -> bytes:
    out = io.BytesIO()
    p = brined.Pickler(out, deterministic=True)
    p.dump([a])
    p.fast = True
    p.dump([b])
    p.fast = False
    start = out.tell()
    p.dump([c, a])
    return out.getvalue()[start:]


def test_strings_are_shared_after_a_dump_in_fast_mode() -> None:
    a = "".join(["sha", "red"])
    third = _after_fast_mode(a, fresh(a), fresh(a))
    assert third == _after_fast_mode(a, a, a)
    assert b"shared" not in third


def test_strings_are_shared_after_the_memo_was_read() -> None:
    a = "".join(["sha", "red"])
    out = io.BytesIO()
    p = brined.Pickler(out, deterministic=True)
    p.dump([a])
    assert any(entry[1] is a for entry in p.memo.values())
    start = out.tell()
    p.dump([fresh(a)])
    assert b"shared" not in out.getvalue()[start:]


def test_a_memo_set_anew_forgets_the_strings_of_the_old_one() -> None:
    a = "".join(["sha", "red"])
    out = io.BytesIO()
    p = brined.Pickler(out, deterministic=True)
    p.dump([a, "x"])
    p.memo = {}
    start = out.tell()
    p.dump([fresh(a), "x"])
    assert out.getvalue()[start:] == det([a, "x"])


def test_clear_memo_forgets_the_strings() -> None:
    a = "".join(["sha", "red"])
    out = io.BytesIO()
    p = brined.Pickler(out, deterministic=True)
    p.dump([a])
    p.clear_memo()
    start = out.tell()
    p.dump([fresh(a), a])
    assert out.getvalue()[start:] == det([a, a])


# -- large dicts of strings, equal strings before, inside and after them -----


def test_big_dicts_share_strings_met_before_inside_and_after() -> None:
    words = [f"w{i}" for i in range(600)]
    distinct = [
        [fresh(w) for w in words[:100]],
        {fresh(w): fresh(w) for w in words},
        {fresh(w): 1 for w in reversed(words)},
        [fresh(w) for w in words[500:]],
    ]
    shared = [
        words[:100],
        {w: w for w in words},
        {w: 1 for w in reversed(words)},
        words[500:],
    ]
    assert det(distinct) == det(shared)
    assert pickle.loads(det(distinct)) == shared


def test_a_value_equal_to_a_later_key_of_a_big_dict_is_written_once() -> None:
    keys = [f"k{i}" for i in range(300)]
    d = {k: fresh(keys[-1]) if k == keys[0] else 0 for k in keys}
    data = det(d)
    assert data.count(b"k299") == 1
    assert data == det({k: keys[-1] if k == keys[0] else 0 for k in keys})


@pytest.mark.parametrize(
    "keys",
    [
        list(range(500)),
        [1.5 * i for i in range(300)],
        ["a", *range(400)],
        [*range(400), "a"],
    ],
)
def test_big_dicts_with_other_keys(keys: list[Any]) -> None:
    d = {k: str(k) for k in keys}
    again = {k: fresh(str(k)) for k in keys}
    assert det([d, sorted(map(str, keys))]) == det(
        [again, [fresh(s) for s in sorted(map(str, keys))]]
    )
    assert pickle.loads(det(d)) == d


_pool = [f"s{i}" for i in range(40)]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["list", "dict"]),
            st.lists(st.sampled_from(_pool), max_size=300),
        ),
        max_size=5,
    )
)
def test_strings_in_big_and_small_dicts_share_by_value(
    parts: list[tuple[str, list[str]]],
) -> None:
    def build(make: Any) -> list[Any]:
        out: list[Any] = []
        for kind, words in parts:
            if kind == "list":
                out.append([make(w) for w in words])
            else:
                # More than 256 keys when the words are many.
                out.append({f"{make(w)}{j}": make(w) for j, w in enumerate(words)})
        return out

    assert det(build(fresh)) == det(build(lambda w: w))


# -- the compiled driver's table by value (`IdMemo.by_value`) ---------------


def test_more_distinct_strings_than_boxed_indices_share_by_value() -> None:
    # Memo indices beyond the ones boxed once for all dumps (2**16) are
    # boxed per string: both kinds must fetch the right string.
    words = [f"v{i}" for i in range(70_000)]
    shared = [words, words[::-1], ["v0", "v69999"]]
    distinct = [
        [fresh(w) for w in words],
        [fresh(w) for w in reversed(words)],
        [fresh("v0"), fresh("v69999")],
    ]
    data = det(distinct)
    assert data == det(shared)
    assert pickle.loads(data) == shared


@pytest.mark.parametrize("protocol", [1, 2, 3, 4, 5])
def test_small_dict_keys_share_with_equal_strings_before_and_after(
    protocol: int,
) -> None:
    # The keys of small dicts are looked up by id first and memoized by id
    # too: equal strings met before (by value only) or after must still share.
    k = "".join(["ke", "y"])
    distinct = [fresh(k), {fresh(k): 1, "b": 2}, {k: fresh(k)}, [fresh(k), k]]
    shared = [k, {k: 1, "b": 2}, {k: k}, [k, k]]
    data = det(distinct, protocol)
    assert data == det(shared, protocol)
    assert data.count(b"key") == 1
    assert pickle.loads(data) == shared
