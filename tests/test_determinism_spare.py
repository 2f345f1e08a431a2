"""Deterministic `dumps` lends its by-value table of strings to the next one
(compiled build, `writes.SPARE_STRS`): the entries of earlier dumps must read
as absent, so a dump's bytes never depend on what was dumped before it.

Oracle: the bytes of the same dump with no table to lend (the spare dropped
just before it), and the stdlib loading them.  In the interpreted build there
is no table to lend and these hold trivially.
"""

from __future__ import annotations

import pickle
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brined
from brined._build import COMPILED
from brined._dump import writes


def det(v: Any, protocol: int | None = None) -> bytes:
    """The deterministic dumps of `v`, keeping its table for the next one
    (`writes.PAUSE`, a speed policy, set aside)."""
    writes.PAUSE[0] = 0
    return brined.dumps(v, protocol, deterministic=True)


def alone(v: Any, protocol: int | None = None) -> bytes:
    """The deterministic dumps of `v` with no earlier table to lend."""
    writes.SPARE_STRS.clear()
    return det(v, protocol)


def fresh(s: str) -> str:
    """An equal string that is another object."""
    return "".join(["\x00", s])[1:]


# Few distinct words, so that later values meet the strings of earlier ones
# at other memo indices.
words = st.sampled_from(["a", "b", "ab", "key", "x" * 300, "é", ""])
values = st.recursive(
    words | st.integers(-3, 300) | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(words, inner, max_size=6)
        | st.tuples(inner, inner)
        | st.frozensets(words, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=80, deadline=None)
@given(st.lists(values, min_size=2, max_size=6), st.sampled_from([1, 2, 4, 5]))
def test_a_dump_after_others_gives_the_bytes_of_one_alone(
    seq: list[Any], protocol: int
) -> None:
    expected = [alone(v, protocol) for v in seq]
    writes.SPARE_STRS.clear()
    got = [det(v, protocol) for v in seq]
    assert got == expected
    for data, v in zip(got, seq, strict=True):
        assert pickle.loads(data) == v


def test_the_same_big_dict_again_and_again() -> None:
    # Each entry already holds the index this dump gives its string; after
    # 4 MiB of pickles the table is dropped and a new one grows.
    d = {f"key{i}": i * 0.5 for i in range(10_000)}
    expected = alone(d)
    assert all(det(d) == expected for _ in range(40))


def test_strings_met_again_at_other_indices() -> None:
    a = ["p", "q", "r", ("p", 1)]
    b = ["r", "q", ["p", "r"], "p", "s"]
    expected = alone(b)
    writes.SPARE_STRS.clear()
    det(a)
    assert det(b) == expected
    assert det(a[::-1]) == alone(a[::-1])


def test_other_big_dicts_over_the_same_keys() -> None:
    keys = [f"key{i}" for i in range(3000)]
    a = {k: 1.0 for k in keys}
    b = {fresh(k): [k] for k in reversed(keys)}
    c = [b, a, "key7", fresh("key9")]
    expected = [alone(v) for v in (a, b, c)]
    writes.SPARE_STRS.clear()
    assert [det(v) for v in (a, b, c, a, c, b)] == expected + [
        expected[0],
        expected[2],
        expected[1],
    ]


def test_a_dump_after_a_failed_one() -> None:
    bad = {"a": "b", "c": [fresh("a"), threading.Lock()]}
    good = ["c", {"a": "b"}, "d"]
    expected = alone(good)
    for _ in range(3):
        with pytest.raises(TypeError):
            det(bad)
        assert det(good) == expected


def test_sets_dumped_inside_a_dump() -> None:
    # Mixed-type set elements are ordered by their own deterministic dumps,
    # made while the outer dump holds the table.
    v = [{"a", 1, ("b", 2.0)}, "a", {"b": frozenset({"a", 3, None})}]
    expected = alone(v)
    assert det(["b", "a", v]) != expected  # the table now has entries
    assert det(v) == expected


def test_threads_dumping_at_once() -> None:
    vals = [{f"k{j}": f"v{(i * j) % 7}" for j in range(200)} for i in range(8)]
    expected = [alone(v) for v in vals]
    got: list[list[bytes]] = [[] for _ in vals]

    def work(i: int) -> None:
        for _ in range(30):
            got[i].append(det(vals[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(vals))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, out in enumerate(got):
        assert out == [expected[i]] * 30


def test_the_table_of_a_big_pickle_is_not_kept() -> None:
    # It would keep its strings alive: at most `SPARE_STRS_MAX` bytes of
    # pickles' strings are.
    writes.SPARE_STRS.clear()
    det(["s" * (writes.SPARE_STRS_MAX + 1)])
    assert writes.SPARE_STRS == []


def test_the_default_dumps_keeps_no_table() -> None:
    writes.SPARE_STRS.clear()
    brined.dumps({"a": "b"})
    brined.dumps({"a": "b"}, deterministic=True, on_error="placeholder")
    assert writes.SPARE_STRS == []


@pytest.mark.skipif(not COMPILED, reason="only the compiled build lends its table")
def test_a_lent_dump_with_many_hits_by_value_pauses_the_lending() -> None:
    v = [fresh(w) for w in ["a", "b", "c"] * 100]
    expected = alone(v)
    assert len(writes.SPARE_STRS) == 1
    assert det(v) == expected  # lent: ~300 checked hits, 3 entries
    assert writes.PAUSE[0] == writes.LEND_PAUSE
    for _ in range(writes.LEND_PAUSE):
        spare = writes.SPARE_STRS[0][0]
        assert brined.dumps(v, deterministic=True) == expected
        # Not lent: its own new table replaced the spare.
        assert len(writes.SPARE_STRS) == 1
        assert writes.SPARE_STRS[0][0] is not spare
    spare = writes.SPARE_STRS[0][0]
    assert brined.dumps(v, deterministic=True) == expected
    # Lent again (and kept: its checks pause the lending again).
    assert writes.SPARE_STRS[0][0] is spare
    assert writes.PAUSE[0] == writes.LEND_PAUSE
