"""Lists and dicts of atoms met by a walk are written whole (`writes.write_flat`):
a record's list of tags or dict of fields opens no level of `run_levels`, and
the walk of the list or dict holding it goes on.  The bytes must stay the C
pickler's whatever the child holds (atoms only, or one item that is not, first
or last), however long it is (around `FLAT_MAX`, 64, and `FLAT_DICT_MAX`, 8),
wherever it sits in its owner, however often it is shared, and wherever a frame
ends.  Both builds run
these; the oracle is `pickle.dumps`.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brined

PROTOCOLS = range(1, pickle.HIGHEST_PROTOCOL + 1)
SIZES = [0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 200]
_ATOMS: list[Any] = ["s", "", "é", 7, -1, 1 << 40, 1 << 70, 2.5, None, True, False]


def _child(kind: str, n: int, odd: int) -> Any:
    """A list or dict of `n` atoms, item `odd` (if in range) replaced by one
    that is not an atom (a tuple)."""
    vals: list[Any] = [_ATOMS[j % len(_ATOMS)] for j in range(n)]
    if 0 <= odd < n:
        vals[odd] = ("not", "an atom")
    if kind == "list":
        return vals
    return {f"k{j}": v for j, v in enumerate(vals)}


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("kind", ["list", "dict"])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("odd", [-1, 0, "last"])
def test_a_child_in_a_dict_and_in_a_list_has_the_c_picklers_bytes(
    proto: int, kind: str, n: int, odd: Any
) -> None:
    child = _child(kind, n, n - 1 if odd == "last" else odd)
    for value in (
        {"a": 1, "child": child, "b": "x", "again": child},
        [1, child, "x", child],
        [{"rec": child, "n": 2} for _ in range(3)],
        {"only": child},
        [child],
    ):
        assert brined.dumps(value, proto) == pickle.dumps(value, proto)


@pytest.mark.parametrize("proto", [4, 5])
def test_records_across_frame_boundaries_have_the_c_picklers_bytes(
    proto: int,
) -> None:
    # ~250 KiB: frames end inside records, some inside their children.
    rows = [
        {
            "id": i,
            "name": f"name {i}" * (i % 5),
            "tags": [f"t{i % 7}", "shared", i, 1.5][: i % 5],
            "address": {"street": f"{i} Main St", "zip": f"{i:05d}", "n": None},
            "score": i * 0.5,
        }
        for i in range(2500)
    ]
    assert brined.dumps(rows, proto) == pickle.dumps(rows, proto)


_atoms = st.one_of(
    st.text(max_size=5),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
)
_flat = st.one_of(
    st.lists(_atoms, max_size=70),
    st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), _atoms, max_size=70),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(_atoms, _flat), max_size=12),
    st.sampled_from(list(PROTOCOLS)),
)
def test_any_record_of_atoms_and_flat_children_has_the_c_picklers_bytes(
    items: list[Any], proto: int
) -> None:
    record = {f"f{j}": v for j, v in enumerate(items)}
    shared = [record, items, record]
    for value in (record, items, shared):
        assert brined.dumps(value, proto) == pickle.dumps(value, proto)


def _distinct(s: str) -> str:
    """A str equal to `s` but not the same object."""
    return "".join(list(s)) if len(s) > 1 else (s + "x")[:-1]


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("kind", ["list", "dict"])
@pytest.mark.parametrize("n", [1, 2, 8, 64])
def test_a_deterministic_flat_child_memoises_its_strings_by_value(
    proto: int, kind: str, n: int
) -> None:
    # Deterministic dumps write flat children too: their strings must go by
    # value (two equal strings that are distinct objects give the bytes of one
    # shared), as the walk's own det branches write them.
    def record(fresh: bool) -> Any:
        vals = [(_distinct(f"value{j}") if fresh else f"value{j}") for j in range(n)]
        if kind == "list":
            return vals
        keys = [
            (_distinct(f"key{j}") if fresh else sys.intern(f"key{j}")) for j in range(n)
        ]
        return dict(zip(keys, vals, strict=True))

    shared = [record(False), record(False)]
    fresh = [record(True), record(True)]
    assert (
        fresh[0] == shared[0]
        and fresh[0][0 if kind == "list" else "key0"]
        is not (fresh[1][0 if kind == "list" else "key0"])
    )
    out = brined.dumps(fresh, proto, deterministic=True)
    assert out == brined.dumps(shared, proto, deterministic=True)
    assert pickle.loads(out) == shared
    # The by-value memo shows: the second record's strings are memo GETs.
    assert len(out) < len(pickle.dumps(fresh, proto))
