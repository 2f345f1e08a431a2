"""Property tests: random plain data pickles exactly like C and round-trips.

For every protocol, brined's bytes equal the C pickler's, the default (untrusted)
brined loader rebuilds the value from C's bytes, and C's unpickler rebuilds it
from brined's bytes.  Comparison is structural (NaN-aware, sharing-aware).
"""

from __future__ import annotations

import pickle
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brined
from tests.corpus import byte_difference, structure_mismatch

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)

# All code points, lone surrogates included.
texts = st.text(st.characters(exclude_categories=()), max_size=40)
floats = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)
ints = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 255, 256, 65535, 65536, 2**31 - 1, -(2**31), 2**63, -(2**63)]),
)
atoms = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    floats,
    texts,
    st.binary(max_size=40),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
)
hashables = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.tuples(inner, inner),
        st.lists(inner, max_size=4).map(tuple),
        st.frozensets(inner, max_size=4),
    ),
    max_leaves=10,
)
plain_data = st.recursive(
    st.one_of(atoms, st.binary(max_size=40).map(bytearray)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.lists(inner, max_size=6).map(tuple),
        st.dictionaries(hashables, inner, max_size=6),
        st.sets(hashables, max_size=6),
        st.frozensets(hashables, max_size=6),
    ),
    max_leaves=30,
)

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def fail_if(problem: str | None, proto: int) -> None:
    # An AssertionError (not pytest.fail) keeps Hypothesis' falsifying example.
    if problem is not None:
        raise AssertionError(f"protocol {proto}: {problem}")


@PROPERTY_SETTINGS
@given(plain_data)
def test_dumps_equals_c_pickler_at_every_protocol(value: Any) -> None:
    for proto in PROTOCOLS:
        expected = pickle.dumps(value, proto)
        fail_if(byte_difference(brined.dumps(value, proto), expected), proto)


@PROPERTY_SETTINGS
@given(plain_data)
def test_default_loads_rebuilds_c_pickle_at_every_protocol(value: Any) -> None:
    for proto in PROTOCOLS:
        loaded = brined.loads(pickle.dumps(value, proto))
        fail_if(structure_mismatch(value, loaded, str_sharing=False), proto)


@PROPERTY_SETTINGS
@given(plain_data)
def test_c_loads_rebuilds_brined_pickle_at_every_protocol(value: Any) -> None:
    for proto in PROTOCOLS:
        loaded = pickle.loads(brined.dumps(value, proto))
        fail_if(structure_mismatch(value, loaded, str_sharing=False), proto)


@PROPERTY_SETTINGS
@given(st.lists(plain_data, min_size=1, max_size=3), st.data())
def test_shared_values_stay_shared_at_every_protocol(
    values: list[Any], data: st.DataObject
) -> None:
    picks = data.draw(st.lists(st.sampled_from(values), min_size=2, max_size=6))
    for proto in PROTOCOLS:
        expected = pickle.dumps(picks, proto)
        fail_if(byte_difference(brined.dumps(picks, proto), expected), proto)
        fail_if(
            structure_mismatch(pickle.loads(expected), brined.loads(expected)), proto
        )
