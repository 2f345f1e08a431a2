"""The cache entry format against a golden file: written the same, read the same."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

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
