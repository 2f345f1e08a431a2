"""The cache entry format against a golden file: written the same, read the same."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brined
from brined.cache import _entry

GOLDEN = Path(__file__).resolve().parent / "cache_golden" / "entry-v1.bin"
NAME = "0123456789abcdef" * 4
SECRET = b"golden-secret-32-bytes-long-abcd"


def _parts() -> list[Any]:
    buffers: list[pickle.PickleBuffer] = []
    value = {"a": 1, "blob": pickle.PickleBuffer(bytearray(b"xyz" * 50))}
    stream = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    header = {"function": "golden.f", "created": 1.5e9, "expires": None}
    raws = [buf.raw() for buf in buffers]
    return _entry.encode(NAME, header, stream, raws, SECRET)


def test_encoding_matches_the_golden_file() -> None:
    assert b"".join(_parts()) == GOLDEN.read_bytes()


def test_the_golden_file_loads() -> None:
    header, stream, buffers = _entry.open_entry(NAME, GOLDEN.read_bytes(), SECRET)
    assert header["function"] == "golden.f" and header["codec"] == "none"
    value = pickle.loads(stream, buffers=buffers)
    assert value["a"] == 1 and bytes(value["blob"]) == b"xyz" * 50


def test_buffers_are_64_byte_aligned_views() -> None:
    data = GOLDEN.read_bytes()
    header, _, buffers = _entry.open_entry(NAME, data, SECRET)
    for start, _, _ in header["parts"]:
        assert start % _entry.ALIGN == 0
    assert isinstance(buffers[0], memoryview) and buffers[0].obj is not None


@pytest.mark.parametrize("name", [NAME[::-1], ""])
def test_the_golden_file_under_another_name_does_not_verify(name: str) -> None:
    with pytest.raises(_entry.Damaged):
        _entry.open_entry(name, GOLDEN.read_bytes(), SECRET)


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.tuples(inner, inner)
    ),
    max_leaves=20,
)


@settings(max_examples=40, deadline=None)
@given(value=_values, blobs=st.lists(st.binary(max_size=300), max_size=3))
def test_any_value_round_trips_like_pickle(value: Any, blobs: list[bytes]) -> None:
    buffers: list[pickle.PickleBuffer] = []
    whole = (value, [pickle.PickleBuffer(bytearray(b)) for b in blobs])
    stream = brined.dumps(whole, protocol=5, buffer_callback=buffers.append)
    parts = _entry.encode(NAME, {}, stream, [b.raw() for b in buffers], SECRET)
    _, got_stream, got_buffers = _entry.open_entry(NAME, b"".join(parts), SECRET)
    got = pickle.loads(got_stream, buffers=got_buffers)
    assert got[0] == pickle.loads(pickle.dumps(value))
    assert [bytes(b) for b in got[1]] == blobs


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_any_flipped_or_cut_byte_is_refused(data: st.DataObject) -> None:
    entry = GOLDEN.read_bytes()
    if data.draw(st.booleans(), label="cut"):
        damaged = entry[: data.draw(st.integers(0, len(entry) - 1), label="keep")]
    else:
        at = data.draw(st.integers(0, len(entry) - 1), label="at")
        bit = data.draw(st.integers(0, 7), label="bit")
        damaged = entry[:at] + bytes([entry[at] ^ (1 << bit)]) + entry[at + 1 :]
    with pytest.raises(_entry.Damaged):
        _entry.open_entry(NAME, damaged, SECRET)


def _large_entry() -> bytes:
    blob = bytes(range(256)) * (40 * 1024)  # 10 MiB: three 4 MiB chunks
    stream = pickle.dumps(
        pickle.PickleBuffer(blob), protocol=5, buffer_callback=[].append
    )
    return b"".join(_entry.encode(NAME, {}, stream, [blob], SECRET))


@pytest.mark.parametrize("at", [100, 5 << 20, (10 << 20) - 10])
def test_a_flipped_byte_in_any_chunk_of_a_large_entry_is_refused(at: int) -> None:
    data = bytearray(_large_entry())
    _entry.open_entry(NAME, bytes(data), SECRET)  # intact: verifies
    data[at] ^= 0x40
    with pytest.raises(_entry.Damaged):
        _entry.open_entry(NAME, bytes(data), SECRET)


def test_large_entries_verify_in_a_forked_child() -> None:
    import multiprocessing

    data = _large_entry()
    _entry.open_entry(NAME, data, SECRET)  # the parent's hashing threads exist now
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(_verifies, (data,)).get(timeout=60) is True


def _verifies(data: bytes) -> bool:
    _entry.open_entry(NAME, data, SECRET)
    return True
