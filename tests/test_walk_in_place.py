"""Lists and dicts saved in place: `run_levels` writes the items of a list or
the pairs of a dict while they are atoms or memo hits, and takes a level (for
a dict: copies it, or keeps just its last value) only from the first item that
is neither.  The bytes must stay the C pickler's wherever that first item
sits: a key or a value, the first, a middle or the last item, either side of a
batch boundary (1000 items or pairs).  Both builds run these;
the interpreted build's driver is the oracle's shape already.
"""

from __future__ import annotations

import datetime
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brined

PROTOCOLS = range(1, pickle.HIGHEST_PROTOCOL + 1)
# Sizes around the batch boundaries, and the small ones.
SIZES = [1, 2, 3, 999, 1000, 1001, 2000, 2001]
# Lists are walked up to 64 items (`levels._WALK_MAX`).
LIST_SIZES = [1, 2, 3, 64, 65, 999, 1000, 1001, 2000, 2001]


def _dict_with_child_at(n: int, pair: int, in_key: bool) -> dict[Any, Any]:
    """`n` str -> int pairs, pair `pair` holding a child that needs its own
    level (a tuple key or a list value)."""
    d: dict[Any, Any] = {}
    for j in range(n):
        if j == pair:
            if in_key:
                d[("k", j)] = j
            else:
                d[f"k{j}"] = [j, "x"]
        else:
            d[f"k{j}"] = j
    return d


def _positions(n: int) -> list[int]:
    return sorted({0, n // 2, n - 1, min(999, n - 1), min(1000, n - 1)})


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("in_key", [False, True], ids=["value", "key"])
def test_dict_with_a_child_anywhere_has_the_c_picklers_bytes(
    proto: int, n: int, in_key: bool
) -> None:
    for pair in _positions(n):
        obj = _dict_with_child_at(n, pair, in_key)
        assert brined.dumps(obj, proto) == pickle.dumps(obj, proto), (n, pair)


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("n", SIZES)
def test_dict_of_atoms_and_memo_hits_has_the_c_picklers_bytes(
    proto: int, n: int
) -> None:
    shared = [1, 2]
    d: dict[Any, Any] = {"shared": shared}
    for j in range(n):
        d[j] = (None, True, 2.5, -(2**40), "é" * 300, shared)[j % 6]
    obj = [shared, d, d]
    assert brined.dumps(obj, proto) == pickle.dumps(obj, proto)


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("n", LIST_SIZES)
def test_list_with_a_child_anywhere_has_the_c_picklers_bytes(
    proto: int, n: int
) -> None:
    for pos in _positions(n):
        shared = ["s"]
        obj = [shared, [j if j != pos else [j] for j in range(n)], shared]
        assert brined.dumps(obj, proto) == pickle.dumps(obj, proto), (n, pos)


class _Grower:
    """Reduces to a plain call, adding a key to `target` as a side effect."""

    def __init__(self, target: dict[Any, Any]) -> None:
        self.target = target

    def __reduce__(self) -> Any:
        self.target[f"added{len(self.target)}"] = 0
        return (datetime.date, (2020, 1, 1))


@pytest.mark.parametrize("last", [True, False], ids=["last-value", "middle"])
def test_dict_growing_while_saved_raises_like_the_c_pickler(last: bool) -> None:
    for dumps in (pickle.dumps, brined.dumps):
        d: dict[Any, Any] = {"a": 1, "b": 2}
        if last:
            d["grower"] = _Grower(d)
        else:
            d = {"grower": _Grower(d), **d}
            d["grower"].target = d
        with pytest.raises(RuntimeError, match="dictionary changed size"):
            dumps(d, 5)


_ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=5),
)
_KEYS = st.one_of(st.integers(-3, 300), st.text(max_size=3), st.tuples(st.integers()))
_VALUES = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(_KEYS, inner, max_size=6),
        st.tuples(inner, inner),
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=12), st.sampled_from(PROTOCOLS))
def test_any_nested_dict_has_the_c_picklers_bytes(
    d: dict[Any, Any], proto: int
) -> None:
    # The same dict twice and inside itself: memo hits among the pairs.
    d["self"] = d
    obj = [d, d]
    assert brined.dumps(obj, proto) == pickle.dumps(obj, proto)


@settings(max_examples=200, deadline=None)
@given(st.lists(_VALUES, max_size=12), st.sampled_from(PROTOCOLS))
def test_any_nested_list_has_the_c_picklers_bytes(lst: list[Any], proto: int) -> None:
    lst.append(lst)
    obj = [lst, lst]
    assert brined.dumps(obj, proto) == pickle.dumps(obj, proto)
