"""The checkpoint file format: every version stays readable, every flip is caught.

The oracle is `spec_trailer`, written from the table in docs/checkpoint.md and
sharing no code with brined's writer; the golden files pin its bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import pickle
import shutil
import threading
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brined.checkpoint import (
    Checkpoint,
    CheckpointWarning,
    CorruptCheckpointError,
    _store,
    verify,
)
from brined.checkpoint._format import FORMAT_VERSION, build_trailer, check_buffer

GOLDEN = Path(__file__).parent / "checkpoint_golden"
GOLDEN_STATE = {"step": 7, "loss": [0.5, 0.25], "name": "golden", "raw": b"\x00\xff"}
GOLDEN_KEY = b"golden-key"
GOLDEN_TIME_NS = 1_700_000_000_123_456_789
GOLDEN_INFO = {
    "brined": "0.1.0",
    "generation": 1,
    "kind": "checkpoint",
    "protocol": 5,
    "python": "3.11.7",
}
# name, format version, key
GOLDENS = [
    ("v1.ckpt", 1, None),
    ("v1-hmac.ckpt", 1, GOLDEN_KEY),
    ("v2.ckpt", 2, None),
    ("v2-hmac.ckpt", 2, GOLDEN_KEY),
]


def spec_trailer(
    version: int, body: bytes, created_ns: int, info: dict, key: bytes | None
) -> bytes:
    """The trailer docs/checkpoint.md specifies for `body`, field by field."""
    info_bytes = json.dumps(info, sort_keys=True, separators=(",", ":")).encode()
    if version == 1:
        digest = hashlib.sha256(body).digest()
    else:
        digest = zlib.crc32(body).to_bytes(4, "big")
    head = (
        b"BRINEDCK"
        + version.to_bytes(2, "big")
        + (1 if key else 0).to_bytes(2, "big")
        + len(body).to_bytes(8, "big")
        + created_ns.to_bytes(8, "big", signed=True)
        + digest
    )
    length = len(head) + 32 + 2 + len(info_bytes) + 4 + 4 + 8
    part = bytearray(
        head
        + bytes(32)
        + len(info_bytes).to_bytes(2, "big")
        + info_bytes
        + length.to_bytes(4, "big")
    )
    if key is not None:
        mac = hmac.new(key, body + bytes(part), hashlib.sha256).digest()
        part[len(head) : len(head) + 32] = mac
    return bytes(part) + zlib.crc32(part).to_bytes(4, "big") + b"CKPT-END"


def _golden_body() -> bytes:
    return pickle.dumps(GOLDEN_STATE, protocol=5)


# -- the golden files -----------------------------------------------------------


@pytest.mark.parametrize("name,version,key", GOLDENS)
def test_golden_file_is_the_documented_layout(name, version, key):
    body = _golden_body()
    expected = body + spec_trailer(version, body, GOLDEN_TIME_NS, GOLDEN_INFO, key)
    assert (GOLDEN / name).read_bytes() == expected


@pytest.mark.parametrize("key", [None, GOLDEN_KEY], ids=["plain", "hmac"])
def test_writer_builds_the_documented_layout_of_the_current_version(key):
    body = _golden_body()
    mac = None
    if key is not None:
        mac = hmac.new(key, body, hashlib.sha256)
    trailer = build_trailer(
        len(body), zlib.crc32(body), GOLDEN_TIME_NS, GOLDEN_INFO, mac
    )
    assert FORMAT_VERSION == 2
    assert trailer == spec_trailer(2, body, GOLDEN_TIME_NS, GOLDEN_INFO, key)


@pytest.mark.parametrize("name,version,key", GOLDENS)
def test_golden_file_verifies_and_loads(name, version, key):
    path = str(GOLDEN / name)
    info = verify(path, key)
    assert info.version == version
    assert info.checksum == {1: "sha256", 2: "crc32"}[version]
    assert info.created_ns == GOLDEN_TIME_NS
    assert info.has_hmac == info.hmac_checked == (key is not None)
    assert info.info == GOLDEN_INFO
    with open(path, "rb") as f:
        assert pickle.load(f) == GOLDEN_STATE


@pytest.mark.parametrize("name,version,key", GOLDENS)
def test_golden_file_restores_as_a_generation(tmp_path, name, version, key):
    shutil.copy(GOLDEN / name, tmp_path / "state.ckpt.00000001")
    assert Checkpoint(tmp_path / "state.ckpt", key=key).restore() == GOLDEN_STATE


def test_format_1_generation_is_the_fallback_for_a_damaged_format_2_one(tmp_path):
    shutil.copy(GOLDEN / "v1.ckpt", tmp_path / "state.ckpt.00000001")
    ckpt = Checkpoint(tmp_path / "state.ckpt")
    newest = ckpt.save({"step": 8, "pad": "q" * 32})
    ckpt.close()
    assert verify(newest).version == 2
    assert ckpt.restore() == {"step": 8, "pad": "q" * 32}
    data = bytearray(Path(newest).read_bytes())
    data[data.index(b"qqqq")] ^= 0x01
    Path(newest).write_bytes(bytes(data))
    with pytest.warns(CheckpointWarning, match="CRC-32 of the pickle mismatch"):
        assert ckpt.restore() == GOLDEN_STATE


@pytest.mark.parametrize("name,version,key", GOLDENS)
def test_every_single_bit_flip_of_a_golden_file_is_detected(name, version, key):
    data = (GOLDEN / name).read_bytes()
    missed = []
    for i in range(len(data)):
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            try:
                check_buffer(bytes(bad))
            except CorruptCheckpointError:
                continue
            missed.append((i, bit))
    assert missed == []


def test_unknown_format_version_is_refused_by_name():
    data = bytearray((GOLDEN / "v2.ckpt").read_bytes())
    length = int.from_bytes(data[-16:-12], "big")
    start = len(data) - length
    data[start + 8 : start + 10] = (3).to_bytes(2, "big")
    data[-12:-8] = zlib.crc32(data[start:-12]).to_bytes(4, "big")
    with pytest.raises(CorruptCheckpointError, match="unsupported .* version 3"):
        check_buffer(bytes(data))


def test_format_1_trailer_cut_to_the_format_2_size_is_refused():
    # A version-1 header in a trailer of format 2's length: the fields would
    # overlap, so the length check must refuse it before unpacking.
    data = bytearray((GOLDEN / "v2.ckpt").read_bytes())
    length = int.from_bytes(data[-16:-12], "big")
    start = len(data) - length
    data[start + 8 : start + 10] = (1).to_bytes(2, "big")
    data[-12:-8] = zlib.crc32(data[start:-12]).to_bytes(4, "big")
    with pytest.raises(CorruptCheckpointError, match="info length|too short"):
        check_buffer(bytes(data))


# -- the checksum of large states, computed beside the writes ---------------------


chunk_sizes = st.lists(
    st.sampled_from([1, 7, 99, 100, 101, 4096]), min_size=1, max_size=30
)


@settings(max_examples=60, deadline=None)
@given(sizes=chunk_sizes, keyed=st.booleans())
def test_sink_checksums_chunks_in_order_whatever_thread_hashes_them(sizes, keyed):
    # A low threshold sends every chunk from the first 100-byte one on
    # through the helper thread; the chunks before it are hashed inline.
    chunks = [os.urandom(n) for n in sizes]
    whole = b"".join(chunks)
    out = io.BytesIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_store, "_PARALLEL_HASH_MIN", 100)
        sink = _store._Sink(out, b"k" if keyed else None, None)
        for c in chunks:
            sink.write(c)
        sink.finish()
    assert out.getvalue() == whole and sink.length == len(whole)
    assert sink.crc == zlib.crc32(whole)
    if keyed:
        assert sink.mac.digest() == hmac.new(b"k", whole, hashlib.sha256).digest()


def test_large_state_is_checksummed_beside_the_write_and_verifies(tmp_path):
    blob = os.urandom(3 << 20)  # above the helper thread's threshold
    ckpt = Checkpoint(tmp_path / "s.ckpt", key="k")
    ckpt.save({"step": 1})
    path = ckpt.save({"step": 2, "blob": blob})
    ckpt.close()
    data = Path(path).read_bytes()
    info = verify(path, "k")
    region = data[: info.pickle_length]
    assert region == pickle.dumps({"step": 2, "blob": blob}, protocol=5)
    assert info.digest == zlib.crc32(region).to_bytes(4, "big")
    assert info.hmac_checked
    assert ckpt.restore()["blob"] == blob
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x40  # inside the blob
    Path(path).write_bytes(bytes(bad))
    with pytest.warns(CheckpointWarning, match="CRC-32 of the pickle mismatch"):
        assert ckpt.restore() == {"step": 1}


def test_error_mid_save_stops_the_helper_thread_and_leaves_no_file(tmp_path):
    path = str(tmp_path / "s.ckpt.00000001")

    def dump(f):
        f.write(bytes(2 << 20))  # starts the helper thread
        raise RuntimeError("the pickler failed")

    with pytest.raises(RuntimeError, match="the pickler failed"):
        _store.write_atomic(path, dump, kind="checkpoint", protocol=5)
    assert "brined-checkpoint-hash" not in {t.name for t in threading.enumerate()}
    assert os.listdir(tmp_path) == []
