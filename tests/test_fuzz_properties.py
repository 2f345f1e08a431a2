"""Property and mutation fuzzing of the default (untrusted) loader.

* Values built from every type the default policy allows, with shared
  sub-objects, survive ``brined.loads(pickle.dumps(v, p))`` at every protocol,
  sharing included.
* Mutations of valid pickles (truncate, flip, splice, insert) either load or
  raise a brined `UnpicklingError`: no other exception escapes, nothing outside
  the allowlist is imported, and every load finishes quickly.

The long coverage-guided run lives in fuzz/ (atheris); this is its fast,
always-on counterpart.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import decimal
import fractions
import math
import pickle
import random
import sys
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brined

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)

# -- values from allowed types --------------------------------------------------------

ints = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, -2, 255, 256, 2**31, -(2**31) - 1, 2**64, -(2**100)]),
)
floats = st.floats(allow_nan=False)
texts = st.text(st.characters(exclude_categories=()), max_size=20)
decimals = st.decimals(allow_nan=False, allow_infinity=True, places=None)
fractions_ = st.fractions()
datetimes = st.one_of(
    st.datetimes(),
    st.datetimes(timezones=st.timezones()).filter(
        lambda d: type(d.tzinfo) is datetime.timezone
    ),
    st.dates(),
    st.times(),
    st.timedeltas(),
)
atoms = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    floats,
    texts,
    st.binary(max_size=20),
    st.complex_numbers(allow_nan=False),
    decimals,
    fractions_,
    datetimes,
)
hashables = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(tuple),
        st.frozensets(inner, max_size=3),
    ),
    max_leaves=8,
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(hashables, inner, max_size=5),
        st.sets(hashables, max_size=5),
        st.frozensets(hashables, max_size=5),
        st.binary(max_size=10).map(bytearray),
        st.dictionaries(texts, inner, max_size=4).map(collections.OrderedDict),
        st.dictionaries(hashables, inner, max_size=4).map(
            lambda d: collections.defaultdict(list, d)
        ),
        st.dictionaries(texts, st.integers(), max_size=4).map(collections.Counter),
        st.lists(inner, max_size=4).map(collections.deque),
        st.tuples(st.lists(inner, max_size=4), st.integers(0, 5)).map(
            lambda a: collections.deque(a[0], maxlen=a[1])
        ),
    )


values = st.recursive(atoms, _containers, max_leaves=25)


@st.composite
def shared_values(draw: st.DrawFn) -> Any:
    """A value whose parts repeat: the loader must rebuild one object, not two."""
    part = draw(values)
    mutable = draw(st.lists(values, max_size=3))
    return [part, mutable, part, {"again": mutable}, (part,)]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b) and type(a) is type(b)


def _check_sharing(original: Any, loaded: Any) -> None:
    # Walk both in step; two positions that hold one object in the original
    # must hold one object in the copy.
    ids: dict[int, int] = {}
    todo = [(original, loaded)]
    while todo:
        a, b = todo.pop()
        assert type(a) is type(b)
        if isinstance(a, (list, dict, set, bytearray, collections.deque)):
            if id(a) in ids:
                assert ids[id(a)] == id(b)
                continue
            ids[id(a)] = id(b)
        if isinstance(a, (list, tuple, collections.deque)):
            todo.extend(zip(a, b, strict=True))
        elif isinstance(a, dict):
            todo.extend((a[k], b[k]) for k in a)


PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY
@given(value=values)
def test_allowed_values_round_trip_at_every_protocol(value: Any) -> None:
    for proto in PROTOCOLS:
        loaded = brined.loads(pickle.dumps(value, proto))
        assert _same(value, loaded) or value == loaded, proto
        _check_sharing(value, loaded)


@PROPERTY
@given(value=shared_values())
def test_sharing_is_kept_at_every_protocol(value: Any) -> None:
    for proto in PROTOCOLS:
        loaded = brined.loads(pickle.dumps(value, proto))
        assert loaded == value
        if isinstance(value[0], (list, dict, set, bytearray, collections.deque)):
            # Mutable objects are memoized, so the copy shares them too.
            assert loaded[0] is loaded[2]
        assert loaded[1] is loaded[3]["again"]
        _check_sharing(value, loaded)


# -- mutation fuzzing ---------------------------------------------------------------

_SEEDS: list[bytes] = [
    pickle.dumps(v, p)
    for p in PROTOCOLS
    for v in (
        [1, "two", 3.0, b"four", (5, None), {"six": [7]}, {8, 9}, frozenset({10})],
        {"a": collections.OrderedDict(b=1), "c": collections.deque([1], maxlen=3)},
        [datetime.datetime(2020, 1, 2, 3, 4, 5), decimal.Decimal("1.5")],
        [fractions.Fraction(1, 3), collections.Counter("abc"), bytearray(b"x")],
        collections.defaultdict(list, {1: [2]}),
        [[1, 2]] * 3,
        object(),
        2**100,
    )
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    kind = rng.randrange(5)
    buf = bytearray(data)
    if kind == 0 and buf:
        return bytes(buf[: rng.randrange(len(buf))])
    if kind == 1 and buf:
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        return bytes(buf)
    if kind == 2:
        other = rng.choice(_SEEDS)
        cut = rng.randrange(len(buf) + 1)
        at = rng.randrange(len(other) + 1)
        return bytes(buf[:cut]) + other[at:]
    if kind == 3 and buf:
        i = rng.randrange(len(buf))
        buf[i] = rng.randrange(256)
        return bytes(buf)
    i = rng.randrange(len(buf) + 1)
    return bytes(buf[:i]) + bytes(rng.randrange(256) for _ in range(4)) + bytes(buf[i:])


def _load_mutant(data: bytes) -> None:
    with contextlib.suppress(brined.UnpicklingError):
        brined.loads(data)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_pickles_give_a_value_or_an_unpickling_error(seed: int) -> None:
    rng = random.Random(seed)
    modules = set(sys.modules)
    slowest = 0.0
    for _ in range(5_000):
        data = rng.choice(_SEEDS)
        for _ in range(rng.randint(1, 3)):
            data = _mutate(rng, data)
        start = time.perf_counter()
        _load_mutant(data)
        slowest = max(slowest, time.perf_counter() - start)
    new = {m for m in set(sys.modules) - modules if not m.startswith("encodings.")}
    assert not new, f"mutants imported {sorted(new)}"
    assert slowest < 2.0


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_give_a_value_or_an_unpickling_error(data: bytes) -> None:
    _load_mutant(data)


@settings(max_examples=200, deadline=None)
@given(value=values, proto=st.sampled_from(list(PROTOCOLS)), cut=st.integers(0))
def test_every_truncation_is_a_truncated_pickle_error(
    value: Any, proto: int, cut: int
) -> None:
    data = pickle.dumps(value, proto)
    cut %= len(data)
    with pytest.raises(brined.UnpicklingError) as info:
        brined.loads(data[:cut])
    # Cut before STOP, the input always ends early.
    assert isinstance(info.value, brined.TruncatedPickleError)
    assert isinstance(info.value, EOFError)
