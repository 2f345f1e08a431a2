"""Checkpoints: atomic generations, the trailer, verification before loading."""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import threading
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brined
from brined.checkpoint import (
    Checkpoint,
    CheckpointLockedError,
    CheckpointWarning,
    CorruptCheckpointError,
    NotACheckpointError,
    verify,
)
from brined.checkpoint._format import build_trailer, check_buffer
from brined.checkpoint._store import parse_interval

CANARY_CALLS: list[str] = []


def canary(tag: str) -> str:
    """Called only if a pickle that reduces to it is executed."""
    CANARY_CALLS.append(tag)
    return tag


class Tripwire:
    """Pickles as a call to `canary`: loading it proves opcodes ran."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return canary, ("loaded",)


def _pickle_region(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    return data[: check_buffer(data).pickle_length]


def _saved(tmp_path, states, **kw):
    ckpt = Checkpoint(tmp_path / "state.ckpt", **kw)
    paths = [ckpt.save(s) for s in states]
    ckpt.close()
    return ckpt, paths


# -- saving and restoring -----------------------------------------------------


def test_restore_with_no_generation_returns_default(tmp_path):
    assert Checkpoint(tmp_path / "none.ckpt").restore(default={"step": 0}) == {
        "step": 0
    }


def test_restore_returns_newest_generation(tmp_path):
    ckpt, _ = _saved(tmp_path, [{"step": i} for i in range(5)])
    assert ckpt.restore() == {"step": 4}


def test_pickle_part_is_the_stdlib_pickle_bytes(tmp_path):
    state = {"step": 3, "xs": list(range(100)), "t": (1.5, None, "é")}
    _, paths = _saved(tmp_path, [state])
    assert _pickle_region(paths[0]) == pickle.dumps(state, protocol=5)


def test_generation_file_loads_with_stdlib_pickle_load(tmp_path):
    state = {"step": 3, "xs": list(range(100))}
    _, paths = _saved(tmp_path, [state])
    with open(paths[0], "rb") as f:
        assert pickle.load(f) == state


def test_keep_leaves_only_newest_generations(tmp_path):
    ckpt, paths = _saved(tmp_path, [{"step": i} for i in range(6)], keep=2)
    assert ckpt.generations() == paths[-2:]


def test_trailer_records_length_digest_and_versions(tmp_path):
    _, paths = _saved(tmp_path, [{"step": 1}])
    info = verify(paths[0])
    region = _pickle_region(paths[0])
    assert (
        info.pickle_length
        == len(region)
        == os.path.getsize(paths[0]) - (info.trailer_length)
    )
    assert info.checksum == "crc32" and info.version == 2
    assert info.digest == zlib.crc32(region).to_bytes(4, "big")
    assert info.info["brined"] == brined.__version__
    assert info.info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert info.info["generation"] == 1
    assert not info.has_hmac


def test_numpy_array_roundtrips_and_matches_stdlib_bytes(tmp_path):
    np = pytest.importorskip("numpy", reason="numpy arrays are the large-state case")
    state = {"w": np.arange(300_000, dtype=np.float64), "step": 2}
    ckpt, paths = _saved(tmp_path, [state], trusted=True)
    assert _pickle_region(paths[0]) == pickle.dumps(state, protocol=5)
    got = ckpt.restore()
    assert (got["w"] == state["w"]).all() and got["step"] == 2


def test_every_skips_a_save_made_too_soon(tmp_path):
    ckpt = Checkpoint(tmp_path / "s.ckpt")
    assert ckpt.save({"step": 1}, every="1h") is not None
    assert ckpt.save({"step": 2}, every="1h") is None
    assert ckpt.save({"step": 3}, every=0) is not None
    ckpt.close()
    assert ckpt.restore() == {"step": 3}


def test_background_save_writes_the_state_as_it_was(tmp_path):
    ckpt = Checkpoint(tmp_path / "s.ckpt")
    state = {"step": 1, "xs": [1, 2, 3]}
    ckpt.save(state, background=True)
    state["xs"].append(4)
    ckpt.wait()
    assert ckpt.restore() == {"step": 1, "xs": [1, 2, 3]}
    ckpt.close()


def test_progress_true_draws_a_bar_on_stderr(tmp_path, capsys):
    pytest.importorskip("tqdm", reason="install the 'progress' extra")
    ckpt = Checkpoint(tmp_path / "s.ckpt", progress=True)
    ckpt.save({"blob": b"x" * 200_000})
    ckpt.close()
    assert "saving s.ckpt.00000001" in capsys.readouterr().err


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path, capsys):
    ckpt = Checkpoint(tmp_path / "s.ckpt")
    ckpt.save({"blob": b"x" * 200_000})
    ckpt.close()
    assert capsys.readouterr().err == ""


def test_stale_temporary_file_is_removed_by_the_next_save(tmp_path):
    ckpt = Checkpoint(tmp_path / "s.ckpt")
    ckpt.save({"step": 1})
    stale = tmp_path / "s.ckpt.00000002.tmp"
    stale.write_bytes(b"half a pickle")
    ckpt.save({"step": 2})
    ckpt.close()
    assert not stale.exists()
    assert ckpt.restore() == {"step": 2}


def test_interval_strings_parse_to_seconds():
    assert parse_interval("60s") == 60
    assert parse_interval("5m") == 300
    assert parse_interval("1.5h") == 5400
    assert parse_interval("250ms") == 0.25
    assert parse_interval(12) == 12
    with pytest.raises(ValueError, match="bad interval"):
        parse_interval("soon")


def test_keep_below_one_is_refused(tmp_path):
    with pytest.raises(ValueError, match="keep"):
        Checkpoint(tmp_path / "s.ckpt", keep=0)


# -- loading policy -----------------------------------------------------------


def test_restore_without_key_uses_the_safe_loader(tmp_path):
    ckpt, _ = _saved(tmp_path, [{"obj": Tripwire()}])
    with pytest.raises(brined.UnsafeGlobalError):
        ckpt.restore()
    assert CANARY_CALLS == []


def test_restore_with_allow_loads_the_allowed_global(tmp_path):
    ckpt, _ = _saved(tmp_path, [{"f": canary}])
    reader = Checkpoint(tmp_path / "state.ckpt", allow=[canary])
    assert reader.restore() == {"f": canary}


def test_key_makes_restore_trusted_by_default(tmp_path):
    ckpt, _ = _saved(tmp_path, [{"f": canary}], key="secret")
    assert ckpt.trusted
    assert ckpt.restore() == {"f": canary}


def test_key_with_allow_keeps_the_safe_loader(tmp_path):
    _saved(tmp_path, [{"f": canary}], key="secret")
    reader = Checkpoint(tmp_path / "state.ckpt", key="secret", allow=[])
    assert not reader.trusted
    with pytest.raises(brined.UnsafeGlobalError):
        reader.restore()


# -- corruption: detected, skipped, the previous generation restored ----------


def _two_generations(tmp_path, **kw):
    """Generation 1 is good; generation 2 would call `canary` when loaded."""
    ckpt = Checkpoint(tmp_path / "state.ckpt", trusted=True, **kw)
    ckpt.save({"step": 1})
    path = ckpt.save({"step": 2, "trap": Tripwire(), "pad": "x" * 64})
    ckpt.close()
    CANARY_CALLS.clear()
    return ckpt, path


def _restore_expecting_skip(ckpt, bad_path):
    with pytest.warns(CheckpointWarning, match=os.path.basename(bad_path)):
        got = ckpt.restore()
    assert got == {"step": 1}
    assert CANARY_CALLS == [], "an opcode of the bad generation ran"


def test_bad_generation_would_call_the_canary_if_loaded(tmp_path):
    # The control for the tests below: untouched, the generation runs it.
    ckpt, path = _two_generations(tmp_path)
    assert ckpt.restore()["trap"] == "loaded"
    assert CANARY_CALLS == ["loaded"]
    CANARY_CALLS.clear()


def test_flipped_pickle_byte_is_detected_before_loading(tmp_path):
    ckpt, path = _two_generations(tmp_path)
    data = bytearray(Path(path).read_bytes())
    data[data.index(b"xxxx")] ^= 0x01  # still a loadable pickle: x -> y
    Path(path).write_bytes(bytes(data))
    _restore_expecting_skip(ckpt, path)


@pytest.mark.parametrize("cut", [1, 20, 200])
def test_truncated_generation_is_detected(tmp_path, cut):
    ckpt, path = _two_generations(tmp_path)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:-cut])
    _restore_expecting_skip(ckpt, path)


def test_appended_bytes_are_detected(tmp_path):
    ckpt, path = _two_generations(tmp_path)
    with open(path, "ab") as f:
        f.write(b"\x00garbage")
    _restore_expecting_skip(ckpt, path)


def test_generation_swapped_into_a_newer_slot_is_detected(tmp_path):
    ckpt = Checkpoint(tmp_path / "state.ckpt", trusted=True)
    ckpt.save({"step": 1})
    trap = ckpt.save({"step": 2, "trap": Tripwire()})
    newest = ckpt.save({"step": 3})
    ckpt.close()
    g1 = ckpt.generations()[0]
    os.replace(trap, newest)  # the trap now poses as generation 3
    Path(trap).write_bytes(Path(g1).read_bytes())  # generation 1 poses as 2
    os.unlink(g1)
    CANARY_CALLS.clear()
    with pytest.warns(CheckpointWarning) as caught:
        assert ckpt.restore(default="none") == "none"
    assert CANARY_CALLS == []
    names = " ".join(str(w.message) for w in caught)
    assert os.path.basename(newest) in names and os.path.basename(trap) in names


def test_rewritten_digest_without_the_key_fails_the_hmac(tmp_path):
    # An attacker who recomputes both CRC-32s but lacks the key.
    ckpt, path = _two_generations(tmp_path, key=b"k1")
    data = Path(path).read_bytes()
    info = check_buffer(data)
    body = bytearray(data[: info.pickle_length])
    body[body.index(b"xxxx")] ^= 0x01
    trailer = build_trailer(len(body), zlib.crc32(body), info.created_ns, info.info)
    trailer = bytearray(trailer)
    trailer[11] |= 1  # claim an HMAC is present
    trailer[-12:-8] = zlib.crc32(trailer[:-12]).to_bytes(4, "big")
    Path(path).write_bytes(bytes(body) + bytes(trailer))
    with pytest.raises(CorruptCheckpointError, match="HMAC"):
        check_buffer(Path(path).read_bytes(), b"k1")
    _restore_expecting_skip(ckpt, path)


def test_wrong_key_skips_every_generation(tmp_path):
    _saved(tmp_path, [{"step": 1}], key="right")
    reader = Checkpoint(tmp_path / "state.ckpt", key="wrong")
    with pytest.warns(CheckpointWarning, match="HMAC mismatch"):
        assert reader.restore(default="none") == "none"


def test_generation_without_hmac_is_refused_when_a_key_is_set(tmp_path):
    _saved(tmp_path, [{"step": 1}])
    reader = Checkpoint(tmp_path / "state.ckpt", key="k")
    with pytest.warns(CheckpointWarning, match="no HMAC"):
        assert reader.restore(default="none") == "none"


def test_plain_pickle_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(NotACheckpointError):
        verify(str(path))


# -- concurrency and disk full ------------------------------------------------


def test_second_process_saving_gets_a_lock_error(tmp_path):
    ckpt = Checkpoint(tmp_path / "state.ckpt")
    ckpt.save({"step": 1})
    child = textwrap.dedent(
        f"""
        import brined
        from brined.checkpoint import CheckpointLockedError
        try:
            brined.Checkpoint({str(tmp_path / "state.ckpt")!r}).save({{"step": 99}})
        except CheckpointLockedError as exc:
            print("LOCKED", exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("LOCKED") and f"pid {os.getpid()}" in out
    ckpt.close()
    assert ckpt.restore() == {"step": 1}
    assert len(ckpt.generations()) == 1


def test_lock_is_released_by_close(tmp_path):
    first = Checkpoint(tmp_path / "state.ckpt")
    first.save({"step": 1})
    second = Checkpoint(tmp_path / "state.ckpt")
    with pytest.raises(CheckpointLockedError):
        second.save({"step": 2})
    first.close()
    second.save({"step": 2})
    second.close()
    assert second.restore() == {"step": 2}


@pytest.fixture
def tiny_fs(tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_disk_full_keeps_the_previous_generation_and_no_partial_file(tiny_fs):
    ckpt = Checkpoint(tiny_fs / "state.ckpt", keep=3)
    ckpt.save({"step": 1, "blob": b"a" * 300_000})
    with pytest.raises(OSError) as caught:
        ckpt.save({"step": 2, "blob": os.urandom(2_000_000)})
    assert caught.value.errno == errno.ENOSPC
    # The 2 MB blob was checksummed by the helper thread; the error stopped it.
    assert "brined-checkpoint-hash" not in {t.name for t in threading.enumerate()}
    ckpt.close()
    assert sorted(os.listdir(tiny_fs)) == ["state.ckpt.00000001", "state.ckpt.lock"]
    assert ckpt.restore()["step"] == 1


def test_background_disk_full_is_raised_by_wait(tiny_fs):
    ckpt = Checkpoint(tiny_fs / "state.ckpt")
    ckpt.save({"step": 1})
    assert ckpt.save({"step": 2, "blob": os.urandom(2_000_000)}, background=True)
    assert ckpt.restore() == {"step": 1}  # waits for the write, leaves its error
    with pytest.raises(OSError, match="No space left"):
        ckpt.wait()
    ckpt.close()
    assert not [n for n in os.listdir(tiny_fs) if n.endswith(".tmp")]


def test_numpy_save_makes_no_copy_of_the_array(tmp_path):
    np = pytest.importorskip("numpy", reason="numpy arrays are the large-state case")
    import tracemalloc

    arr = np.ones(40 << 20, dtype=np.uint8)  # 40 MiB
    ckpt = Checkpoint(tmp_path / "s.ckpt", progress=False)
    tracemalloc.start()
    try:
        ckpt.save({"w": arr})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ckpt.close()
    assert peak < 4 << 20, f"save allocated {peak} bytes for a 40 MiB array"
    assert os.path.getsize(ckpt.generations()[0]) > 40 << 20


def test_background_save_finishes_when_the_program_exits(tmp_path):
    path = tmp_path / "s.ckpt"
    code = (
        "import brined, sys\n"
        "c = brined.Checkpoint(sys.argv[1])\n"
        "c.save({'step': 5, 'blob': b'z' * 3_000_000}, background=True)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    ckpt = Checkpoint(path)
    (gen,) = ckpt.generations()
    assert verify(gen).pickle_length > 3_000_000
    assert ckpt.restore()["step"] == 5


plain_data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@settings(max_examples=25, deadline=None)
@given(states=st.lists(plain_data, min_size=1, max_size=4))
def test_any_plain_state_roundtrips_and_matches_stdlib_bytes(states):
    with tempfile.TemporaryDirectory() as folder:
        ckpt = Checkpoint(os.path.join(folder, "h.ckpt"), keep=2)
        paths = [ckpt.save(s) for s in states]
        ckpt.close()
        assert ckpt.restore() == states[-1]
        assert _pickle_region(paths[-1]) == pickle.dumps(states[-1], protocol=5)


def test_public_names_are_lazy_exports_of_brined():
    code = (
        "import sys, brined\n"
        "before = 'brined.checkpoint' in sys.modules\n"
        "from brined.checkpoint import Checkpoint, load_session, save_session\n"
        "print(before, brined.Checkpoint is Checkpoint,"
        " brined.save_session is save_session, brined.load_session is load_session,"
        " {'Checkpoint', 'save_session', 'load_session'} <= set(brined.__all__))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "True", "True", "True", "True"]
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        brined.Nope  # noqa: B018
