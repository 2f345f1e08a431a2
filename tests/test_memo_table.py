"""The compiled pickler's memo table (`_dump.memo.IdMemo`) against a dict.

`IdMemo` is only used by the compiled build, but it is plain Python over librt's
`vec`, so these run in both builds wherever librt imports.  The oracle is the
stdlib's form of the memo, ``{id: index}``: any interleaving of lookups (hits,
misses never followed by a store) and stores must agree with it, across the
table's growths.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("librt.vecs", reason="IdMemo needs librt (the compiled build's)")

import brined  # noqa: E402
from brined._dump.memo import IdMemo  # noqa: E402  (after the importorskip)

# Object ids are aligned addresses: multiples of 16, never 0.  A small range
# makes collisions, and so long probe paths, common.
_KEYS = st.integers(min_value=1, max_value=4000).map(lambda k: 16 * k)
_OPS = st.lists(st.tuples(st.sampled_from(["find", "add"]), _KEYS), max_size=400)


@settings(max_examples=200, deadline=None)
@given(_OPS)
def test_any_interleaving_of_finds_and_adds_matches_a_dict(
    ops: list[tuple[str, int]],
) -> None:
    table = IdMemo({})
    model: dict[int, int] = {}
    for op, key in ops:
        if op == "add" and key not in model:
            assert table.add(key, object()) == len(model)
            model[key] = len(model)
        assert table.find(key) == model.get(key, -1)
    for key, idx in model.items():
        assert table.find(key) == idx


@settings(max_examples=50, deadline=None)
@given(st.lists(_KEYS, unique=True, max_size=300), _KEYS)
def test_a_miss_not_followed_by_its_add_does_not_misplace_the_next_add(
    keys: list[int], stray: int
) -> None:
    # A lookup that misses and is never stored (an extension-coded global,
    # say) must not lend its free slot to the next key stored.
    table = IdMemo({})
    stored: list[int] = []
    for key in keys:
        if key == stray:
            continue
        table.find(stray)
        table.add(key, object())
        stored.append(key)
    for idx, key in enumerate(stored):
        assert table.find(key) == idx
    assert table.find(stray) == -1


def test_a_table_started_from_a_dict_keeps_its_indices_and_exports_new_ones() -> None:
    objs = [object() for _ in range(100)]
    base = {id(o): (i, o) for i, o in enumerate(objs[:40])}
    table = IdMemo(base)
    for o in objs[40:]:
        assert table.find(id(o)) == -1
        table.add(id(o), o)
    table.export()
    assert base == {id(o): (i, o) for i, o in enumerate(objs)}
    assert all(table.find(id(o)) == i for i, o in enumerate(objs))


@pytest.mark.parametrize("protocol", range(1, pickle.HIGHEST_PROTOCOL + 1))
def test_many_shared_objects_pickle_to_cs_bytes(protocol: int) -> None:
    # Thousands of memo entries (several growths) with every object met twice:
    # each second meeting must find the first one's index.
    strs = [f"s{i}" for i in range(3000)]
    lists = [[i] for i in range(3000)]
    obj = [
        strs,
        lists,
        strs[::-1],
        lists[::-1],
        dict(zip(strs, lists, strict=True)),
    ]
    assert brined.dumps(obj, protocol) == pickle.dumps(obj, protocol)


# -- reserve and by_value (deterministic dumps' strings) --------------------

_RESERVE_OPS = st.lists(
    st.tuples(st.sampled_from(["find", "add", "reserve"]), _KEYS), max_size=400
)


@settings(max_examples=200, deadline=None)
@given(_RESERVE_OPS)
def test_reserved_indices_interleave_with_adds_and_have_no_entry(
    ops: list[tuple[str, int]],
) -> None:
    # `reserve` hands out the next index, as `add` would, but stores nothing:
    # finds still agree with a dict of the added keys, across growths.
    table = IdMemo({})
    model: dict[int, int] = {}
    n = 0
    for op, key in ops:
        if op == "reserve":
            assert table.reserve(object()) == n
            n += 1
        elif op == "add" and key not in model:
            assert table.add(key, object()) == n
            model[key] = n
            n += 1
        assert table.find(key) == model.get(key, -1)
    for key, idx in model.items():
        assert table.find(key) == idx


def test_export_gives_reserved_objects_their_indices() -> None:
    objs = [f"s{i}" if i % 3 else object() for i in range(200)]
    table = IdMemo({})
    for o in objs:
        if type(o) is str:
            table.reserve(o)
        else:
            table.add(id(o), o)
    base = table.base
    table.export()
    assert base == {id(o): (i, o) for i, o in enumerate(objs)}


def test_by_value_starts_from_the_strings_of_the_base_dict() -> None:
    words = ["".join(["w", str(i)]) for i in range(50)]
    others = [object() for _ in range(50)]
    mixed = [x for pair in zip(words, others, strict=True) for x in pair]
    base = {id(o): (i, o) for i, o in enumerate(mixed)}
    # (Its one key that is not a str only keeps the strings' hashes in the
    # entries: left out here.)
    assert _strings(IdMemo(base).by_value()) == {w: 2 * i for i, w in enumerate(words)}
    assert _strings(IdMemo({}).by_value()) == {}


def _strings(table: dict[Any, Any]) -> dict[str, Any]:
    return {k: v for k, v in table.items() if type(k) is str}
