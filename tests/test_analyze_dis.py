"""brined.analyze.disassemble against its oracle, pickletools.dis."""

from __future__ import annotations

import io
import pickle
import pickletools
from typing import Any

import pytest

from brined._format.opcodes import OPCODES
from brined.analyze import disassemble
from brined.analyze._optable import EFFECTS
from tests.corpus import ALL_PROTOCOLS, cases, registered_extensions

CASES = cases()


def _dumps(case: Any, proto: int) -> bytes | None:
    try:
        if case.extensions:
            with registered_extensions():
                return pickle.dumps(case.factory(), proto)
        return pickle.dumps(case.factory(), proto)
    except Exception:
        return None


def _oracle(data: bytes, **options: Any) -> tuple[str, Exception | None]:
    out = io.StringIO()
    try:
        pickletools.dis(data, out, **options)
    except Exception as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def _ours(data: bytes, **options: Any) -> str:
    out = io.StringIO()
    disassemble(data, out, **options)
    return out.getvalue()


def test_every_opcode_has_stack_effects_and_a_summary() -> None:
    assert {op.name for op in OPCODES} == set(EFFECTS)


@pytest.mark.parametrize("proto", ALL_PROTOCOLS)
def test_text_equals_pickletools_dis_over_the_corpus(proto: int) -> None:
    checked = 0
    for i, case in enumerate(CASES):
        if proto not in case.protocols:
            continue
        data = _dumps(case, proto)
        if data is None:
            continue
        # Vary the options across cases: annotate hints and indent levels.
        options = {"annotate": (0, 1, 30, 60)[i % 4], "indentlevel": i % 5}
        expected, error = _oracle(data, **options)
        if error is not None:
            continue  # e.g. an int too long to repr: pickletools itself fails
        assert _ours(data, **options) == expected, case.id
        checked += 1
    assert checked > 300


def test_shared_memo_across_pickles_matches_pickletools() -> None:
    p = pickle.Pickler(buf := io.BytesIO(), 2)
    shared = ["shared"]
    p.dump(shared)
    p.dump([shared, shared])
    first, second = buf.getvalue().split(b".", 1)
    memo_ref: dict[Any, Any] = {}
    memo_ours: dict[Any, Any] = {}
    for part in (first + b".", second):
        expected = io.StringIO()
        pickletools.dis(part, expected, memo=memo_ref)
        assert _ours(part, memo=memo_ours) == expected.getvalue()


BROKEN = [
    pytest.param(b"\x80\x04K\x01", id="truncated-no-stop"),
    pytest.param(b"\x80\x04\x8c\x05ab", id="short-unicode-payload"),
    pytest.param(b"\x80\x04K", id="missing-uint1"),
    pytest.param(b"\x80\x04K\x01\xff.", id="unknown-opcode"),
    pytest.param(b"(K\x01e.", id="appends-without-list"),
    pytest.param(b"K\x01h\x05.", id="get-before-put"),
    pytest.param(b"K\x01q\x00q\x00.", id="memo-key-redefined"),
    pytest.param(b"K\x01K\x02.", id="stack-not-empty"),
    pytest.param(b"e.", id="no-mark"),
    pytest.param(b"S'abc\n.", id="stringnl-bad-quotes"),
    pytest.param(b"Iabc\n.", id="bad-int-literal"),
    pytest.param(b"T\xff\xff\xff\xff.", id="negative-string4"),
]


@pytest.mark.parametrize("data", BROKEN)
def test_broken_input_prints_pickletools_prefix_then_a_marker(data: bytes) -> None:
    expected, error = _oracle(data)
    assert error is not None
    ours = _ours(data)
    assert ours.startswith(expected)
    assert ours[len(expected) :].startswith("!! offset ")


@pytest.mark.parametrize(
    "tail", [b"garbage", b".", b"\x80\x04K\x01.", b"\xff" * 70_000], ids=len
)
@pytest.mark.parametrize("proto", ALL_PROTOCOLS)
def test_bytes_after_stop_print_exactly_what_pickletools_prints(
    proto: int, tail: bytes
) -> None:
    data = pickle.dumps({"a": [1, 2]}, proto) + tail
    expected, error = _oracle(data)
    assert error is None
    assert _ours(data) == expected


def test_bytes_after_stop_are_counted_in_the_result() -> None:
    data = pickle.dumps([1, 2], 4) + b"garbage"
    result = disassemble(data, io.StringIO())
    assert (result.ok, result.end, result.trailing) == (True, len(data) - 7, 7)


def test_decoding_goes_on_after_a_memo_complaint() -> None:
    result = disassemble(b"K\x01q\x00q\x00.", io.StringIO())
    assert result.problems == [(4, "memo key 0 already defined")]
    assert result.end == 7
