"""Differential tests: brined against CPython's C pickler and unpickler.

Every corpus object is pickled at each of its protocols by both picklers; the
bytes must be identical, and each side's bytes must load (in the other
implementation too) to a structure equal to the original, with the same
sharing and cycles.  The C implementation is the oracle throughout.
"""

from __future__ import annotations

import _pickle
import copyreg
import io
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import brined
from tests.corpus import (
    EXTENSION_CODES,
    Case,
    byte_difference,
    cases,
    registered_extensions,
    structure_mismatch,
)

CASES = cases()
PARAMS = [
    pytest.param(case, proto, id=f"{case.id}-p{proto}")
    for case in CASES
    for proto in case.protocols
]
PLAIN_PARAMS = [
    pytest.param(case, proto, id=f"{case.id}-p{proto}")
    for case in CASES
    if case.plain
    for proto in case.protocols
]


@pytest.fixture
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    """The corpus case, with copyreg extensions registered only while it runs."""
    current: Case = request.param
    if current.extensions:
        with registered_extensions():
            yield current
    else:
        yield current


def _dump_with(pickler_class: type, case: Case, obj: Any, proto: int) -> bytes:
    """Pickle through a subclass of `pickler_class` with the case's override."""
    override = case.reducer_override
    assert override is not None

    def reducer_override(self: Any, value: Any) -> Any:
        return override(value)

    subclass = type("OverridingPickler", (pickler_class,), {})
    subclass.reducer_override = reducer_override  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    subclass(buffer, protocol=proto).dump(obj)
    return buffer.getvalue()


def c_dumps(case: Case, obj: Any, proto: int) -> bytes:
    if case.reducer_override is not None:
        return _dump_with(pickle.Pickler, case, obj, proto)
    return pickle.dumps(obj, proto)


def brined_dumps(case: Case, obj: Any, proto: int) -> bytes:
    if case.reducer_override is not None:
        return _dump_with(brined.Pickler, case, obj, proto)
    return brined.dumps(obj, proto)


def fail_if(problem: str | None, context: str = "") -> None:
    """Fail the test with `problem` (a description of a difference), if any."""
    if problem is not None:
        pytest.fail(context + problem, pytrace=False)


def check_loaded(case: Case, proto: int, original: Any, data: bytes, got: Any) -> None:
    """`got` (loaded from `data`) matches C's load of `data` and the original."""
    oracle = pickle.loads(data)
    fail_if(structure_mismatch(oracle, got), "differs from C pickle.loads: ")
    if proto >= case.roundtrip_from:
        fail_if(
            structure_mismatch(original, got, str_sharing=False),
            "differs from the original: ",
        )


def test_oracle_is_the_c_pickler() -> None:
    assert pickle.dumps is _pickle.dumps and pickle.loads is _pickle.loads


def test_corpus_has_at_least_2000_object_protocol_cases() -> None:
    assert len(PARAMS) >= 2000


def test_corpus_ids_are_stable_across_calls() -> None:
    assert [c.id for c in cases()] == [c.id for c in CASES]


def test_extension_fixture_restores_copyreg_registry() -> None:
    before = dict(copyreg._extension_registry)  # type: ignore[attr-defined]
    with registered_extensions():
        inside = dict(copyreg._extension_registry)  # type: ignore[attr-defined]
    after = dict(copyreg._extension_registry)  # type: ignore[attr-defined]
    keys = {(cls.__module__, cls.__qualname__) for cls, _ in EXTENSION_CODES}
    assert keys <= inside.keys() and after == before


@pytest.mark.parametrize(("case", "proto"), PARAMS, indirect=["case"])
def test_dumps_bytes_equal_c_pickler(case: Case, proto: int) -> None:
    obj = case.factory()
    expected = c_dumps(case, obj, proto)
    fail_if(byte_difference(brined_dumps(case, obj, proto), expected))


@pytest.mark.parametrize(("case", "proto"), PARAMS, indirect=["case"])
def test_trusted_loads_of_c_pickle_rebuilds_object(case: Case, proto: int) -> None:
    obj = case.factory()
    data = c_dumps(case, obj, proto)
    check_loaded(case, proto, obj, data, brined.loads(data, trusted=True))


@pytest.mark.parametrize(("case", "proto"), PARAMS, indirect=["case"])
def test_c_loads_of_brined_pickle_rebuilds_object(case: Case, proto: int) -> None:
    obj = case.factory()
    data = brined_dumps(case, obj, proto)
    check_loaded(case, proto, obj, data, pickle.loads(data))


@pytest.mark.parametrize(("case", "proto"), PLAIN_PARAMS, indirect=["case"])
def test_default_loads_accepts_plain_data(case: Case, proto: int) -> None:
    obj = case.factory()
    data = c_dumps(case, obj, proto)
    check_loaded(case, proto, obj, data, brined.loads(data))


# --------------------------------------------------------------------------
# Out-of-band buffers (protocol 5).


def _oob_objects() -> dict[str, Callable[[], Any]]:
    def shared() -> Any:
        pb = pickle.PickleBuffer(bytearray(b"shared"))
        return [pb, pb, {"again": pb}]

    return {
        "readonly": lambda: pickle.PickleBuffer(b"read only"),
        "writable": lambda: pickle.PickleBuffer(bytearray(b"writable")),
        "empty": lambda: pickle.PickleBuffer(b""),
        "big": lambda: [pickle.PickleBuffer(b"x" * 200_000), b"in band"],
        "many": lambda: [pickle.PickleBuffer(bytes([i]) * i) for i in range(20)],
        "shared": shared,
        "mixed-in-band": lambda: [
            pickle.PickleBuffer(b"a" * 10),
            bytearray(b"plain"),
            pickle.PickleBuffer(bytearray(b"b" * 70_000)),
        ],
        "no-buffers": lambda: {"just": ["data", 1, 2.5]},
    }


OOB = _oob_objects()
# Callbacks decide per buffer: a false result sends it out of band.
CALLBACKS: dict[str, Callable[[pickle.PickleBuffer], bool]] = {
    "all-out": lambda buf: False,
    "small-in": lambda buf: len(buf.raw()) < 16,
}


def _buffer_summary(buffers: list[pickle.PickleBuffer]) -> list[tuple[bytes, bool]]:
    return [(b.raw().tobytes(), b.raw().readonly) for b in buffers]


@pytest.mark.parametrize("policy", sorted(CALLBACKS))
@pytest.mark.parametrize("name", sorted(OOB))
def test_out_of_band_bytes_and_buffers_equal_c_pickler(name: str, policy: str) -> None:
    obj = OOB[name]()
    decide = CALLBACKS[policy]
    c_buffers: list[pickle.PickleBuffer] = []
    b_buffers: list[pickle.PickleBuffer] = []

    def c_collect(buf: pickle.PickleBuffer) -> bool:
        c_buffers.append(buf)
        return decide(buf)

    def b_collect(buf: pickle.PickleBuffer) -> bool:
        b_buffers.append(buf)
        return decide(buf)

    expected = pickle.dumps(obj, 5, buffer_callback=c_collect)
    fail_if(byte_difference(brined.dumps(obj, 5, buffer_callback=b_collect), expected))
    assert _buffer_summary(b_buffers) == _buffer_summary(c_buffers)


@pytest.mark.parametrize("name", sorted(OOB))
def test_out_of_band_c_pickle_loads_with_buffers(name: str) -> None:
    obj = OOB[name]()
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, 5, buffer_callback=buffers.append)
    oracle = pickle.loads(data, buffers=buffers)
    got = brined.loads(data, buffers=buffers, trusted=True)
    fail_if(structure_mismatch(oracle, got))


@pytest.mark.parametrize("name", sorted(OOB))
def test_out_of_band_brined_pickle_loads_in_c(name: str) -> None:
    obj = OOB[name]()
    c_buffers: list[pickle.PickleBuffer] = []
    b_buffers: list[pickle.PickleBuffer] = []
    oracle = pickle.loads(
        pickle.dumps(obj, 5, buffer_callback=c_buffers.append), buffers=c_buffers
    )
    data = brined.dumps(obj, 5, buffer_callback=b_buffers.append)
    fail_if(structure_mismatch(oracle, pickle.loads(data, buffers=b_buffers)))


# --------------------------------------------------------------------------
# The comparison helpers themselves must be able to fail.


def test_structure_mismatch_reports_lost_sharing() -> None:
    shared: list[int] = [1]
    assert structure_mismatch([shared, shared], [[1], [1]]) is not None


def test_structure_mismatch_reports_merged_distinct_lists() -> None:
    shared: list[int] = [1]
    assert structure_mismatch([[1], [1]], [shared, shared]) is not None


def test_structure_mismatch_reports_sign_of_zero() -> None:
    assert structure_mismatch([0.0], [-0.0]) is not None


def test_structure_mismatch_accepts_nan_and_cycles() -> None:
    def build() -> list[Any]:
        x: list[Any] = [float("nan"), {float("nan")}]
        x.append(x)
        return x

    assert structure_mismatch(build(), build()) is None


def test_byte_difference_names_the_differing_opcode() -> None:
    problem = byte_difference(pickle.dumps([1], 2), pickle.dumps([2], 2))
    assert problem is not None and "BININT1" in problem
