"""The safe loader's fast paths refuse exactly what its slow paths refuse.

Round 3's speed work (bench/RESULTS.md) skips work on the common case: the
guard state is made on its first use, SETITEMS of str and small-int keys
skips the hash checks, `find_class` joins a refused name only when it refuses.
Each test here pins one of those shortcuts to the behaviour of the slow path it
skips, with the stdlib as the oracle where one applies.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import brined

P = sys.hash_info.modulus
MARK, SETITEMS, EMPTY_DICT, NONE, STOP = b"(", b"u", b"}", b"N", b"."


def _long1(n: int) -> bytes:
    data = n.to_bytes(n.bit_length() // 8 + 1, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def _setitems(keys: list[bytes]) -> bytes:
    """One SETITEMS of `keys` (already encoded), each mapped to None."""
    return EMPTY_DICT + MARK + b"".join(k + NONE for k in keys) + SETITEMS + STOP


def test_colliding_big_int_keys_after_small_ones_are_still_counted() -> None:
    # Small ints first: the fast path must not stop looking at the first key.
    keys = [_long1(k) for k in range(50)] + [_long1(k * P + 7) for k in (1, 2, 3)]
    data = _setitems(keys)
    with pytest.raises(brined.LimitExceededError) as info:
        brined.loads(data, limits=brined.Limits(max_hash_collisions=2))
    assert info.value.limit == "max_hash_collisions"


def test_colliding_big_int_keys_after_str_keys_are_still_counted() -> None:
    keys = [pickle.dumps(f"k{i}", 4)[2:-1] for i in range(5)]
    keys += [_long1(k * P + 7) for k in (1, 2, 3)]
    with pytest.raises(brined.LimitExceededError):
        brined.loads(_setitems(keys), limits=brined.Limits(max_hash_collisions=2))


def test_tuple_key_after_small_int_keys_is_still_checked() -> None:
    # A nested tuple key is checked for hash depth even behind plain keys.
    nested = NONE + b"\x85" * 4  # ((((None,),),),)
    keys = [_long1(1), _long1(2), nested]
    with pytest.raises(brined.LimitExceededError) as info:
        brined.loads(_setitems(keys), limits=brined.Limits(max_hash_depth=2))
    assert info.value.limit == "max_hash_depth"


@given(
    st.dictionaries(
        st.one_of(
            st.integers(),
            st.text(max_size=5),
            st.binary(max_size=5),
            st.none(),
            st.booleans(),
            st.floats(allow_nan=False),
        ),
        st.integers(),
        max_size=20,
    )
)
def test_dicts_of_plain_keys_load_as_the_stdlib_loads_them(d: dict[Any, int]) -> None:
    for proto in (2, 5):
        data = pickle.dumps(d, proto)
        assert brined.loads(data) == pickle.loads(data)


def test_a_refused_global_names_what_the_pickle_wrote() -> None:
    # Protocol 2 maps Python 2 names: the message shows the written one.
    data = b"\x80\x02c__builtin__\nexec\n."
    with pytest.raises(brined.UnsafeGlobalError) as info:
        brined.loads(data)
    assert "__builtin__.exec" in str(info.value)


def test_a_dotted_name_still_walks_and_a_locals_name_still_fails() -> None:
    data = pickle.dumps(pickle.Pickler.dump, 4)
    assert brined.loads(data, trusted=True) is pickle.Pickler.dump
    bad = b"\x80\x04\x8c\x08builtins\x94\x8c\x08<locals>\x94\x93."
    # (The stdlib 3.11's message says "Can't pickle"; ours says "Can't get".)
    with pytest.raises(AttributeError, match="local attribute '<locals>'"):
        brined.loads(bad, trusted=True)
    with pytest.raises(AttributeError, match="local attribute '<locals>'"):
        pickle.loads(bad)


def test_guard_state_made_mid_load_guards_the_rest_of_that_load() -> None:
    # The load's first global makes the guard state; the APPEND that follows,
    # to a list the load did not create, must be refused by it.
    import keyword

    before = list(keyword.kwlist)
    data = b"\x80\x04\x8c\x07keyword\x94\x8c\x06kwlist\x94\x93\x94K\x01a."
    with pytest.raises(brined.UnsafeOperationError) as info:
        brined.loads(data, allow=["keyword.kwlist"])
    assert info.value.rule == "target"
    assert keyword.kwlist == before


def test_colliding_big_ints_after_small_ones_in_a_set_are_still_counted() -> None:
    # SETITEMS skips the checks of small ints; ADDITEMS must still count
    # the big ones that collide, also after a run of small ones.
    items = [_long1(k) for k in range(50)] + [_long1(k * P + 7) for k in (1, 2, 3)]
    data = b"\x8f" + MARK + b"".join(items) + b"\x90" + STOP  # EMPTY_SET, ADDITEMS
    with pytest.raises(brined.LimitExceededError) as info:
        brined.loads(data, limits=brined.Limits(max_hash_collisions=2))
    assert info.value.limit == "max_hash_collisions"
    assert brined.loads(data) == pickle.loads(data)


@given(
    st.sets(
        st.one_of(st.integers(), st.text(max_size=5), st.none(), st.booleans()),
        max_size=20,
    )
)
def test_sets_of_plain_items_load_as_the_stdlib_loads_them(s: set[Any]) -> None:
    data = pickle.dumps(s, 4)
    assert brined.loads(data) == pickle.loads(data)
