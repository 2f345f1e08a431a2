"""``brined verify`` and ``brined show`` on checkpoint files."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from brined.checkpoint import Checkpoint
from brined.cli import main

GOLDEN = Path(__file__).parent / "checkpoint_golden"


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


@pytest.mark.parametrize("version,checksum", [(1, "sha256"), (2, "crc32")])
def test_verify_good_file_exits_0(capsys, version, checksum):
    code, out = _run(capsys, "verify", str(GOLDEN / f"v{version}.ckpt"))
    assert code == 0
    assert f"OK: checkpoint format {version}" in out and "no HMAC" in out
    assert f", {checksum} " in out


@pytest.mark.parametrize("version,label", [(1, "SHA-256"), (2, "CRC-32")])
def test_verify_damaged_file_exits_1_with_the_reason(tmp_path, capsys, version, label):
    data = bytearray((GOLDEN / f"v{version}.ckpt").read_bytes())
    data[20] ^= 0xFF
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(bytes(data))
    code, out = _run(capsys, "verify", str(bad))
    assert code == 1
    assert f"BAD: {label} of the pickle mismatch" in out


def test_verify_plain_pickle_exits_2(tmp_path, capsys):
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps([1, 2, 3]))
    code, out = _run(capsys, "verify", str(plain))
    assert code == 2
    assert "NOT A CHECKPOINT" in out


def test_verify_damaged_wins_over_not_a_checkpoint(tmp_path, capsys):
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps([1]))
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes((GOLDEN / "v1.ckpt").read_bytes()[:-3])
    code, _ = _run(capsys, "verify", str(plain), str(cut))
    assert code == 1


@pytest.mark.parametrize("name", ["v1-hmac.ckpt", "v2-hmac.ckpt"])
def test_verify_checks_the_hmac_with_the_key(monkeypatch, capsys, name):
    monkeypatch.setenv("CKPT_KEY", "golden-key")
    code, out = _run(capsys, "verify", "--key-env", "CKPT_KEY", str(GOLDEN / name))
    assert code == 0 and "HMAC verified" in out
    monkeypatch.setenv("CKPT_KEY", "not-the-key")
    code, out = _run(capsys, "verify", "--key-env", "CKPT_KEY", str(GOLDEN / name))
    assert code == 1 and "HMAC mismatch" in out


def test_verify_json_reports_the_pickle_digest_of_format_1(capsys):
    path = GOLDEN / "v1.ckpt"
    code, out = _run(capsys, "verify", "--json", str(path))
    (result,) = json.loads(out)
    n = result["trailer"]["pickle_length"]
    sha = hashlib.sha256(path.read_bytes()[:n]).hexdigest()
    assert code == 0 and result["verdict"] == "ok"
    assert result["trailer"]["checksum"] == "sha256"
    assert result["trailer"]["sha256"] == result["trailer"]["digest"] == sha


def test_verify_json_reports_the_pickle_crc32_of_format_2(capsys):
    path = GOLDEN / "v2.ckpt"
    code, out = _run(capsys, "verify", "--json", str(path))
    (result,) = json.loads(out)
    n = result["trailer"]["pickle_length"]
    assert code == 0 and result["trailer"]["format_version"] == 2
    assert result["trailer"]["checksum"] == "crc32"
    assert result["trailer"]["digest"] == f"{zlib.crc32(path.read_bytes()[:n]):08x}"
    assert "sha256" not in result["trailer"]


def test_verify_of_a_checkpoint_path_checks_every_generation(tmp_path, capsys):
    ckpt = Checkpoint(tmp_path / "run.ckpt", keep=3)
    for step in range(3):
        ckpt.save({"step": step})
    ckpt.close()
    code, out = _run(capsys, "verify", str(tmp_path / "run.ckpt"))
    assert code == 0
    assert out.count(": OK: ") == 3


def test_show_prints_the_tree_and_the_trailer(capsys):
    code, out = _run(capsys, "show", str(GOLDEN / "v1.ckpt"))
    assert code == 0
    assert "'name': 'golden'" in out
    assert out.splitlines()[-1].startswith("# checkpoint trailer: checkpoint format 1")


def test_show_of_a_plain_pickle_has_no_trailer_line(tmp_path, capsys):
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"a": 1}))
    code, out = _run(capsys, "show", str(plain))
    assert code == 0 and "trailer" not in out


def test_verify_command_runs_as_a_process():
    done = subprocess.run(
        [sys.executable, "-m", "brined", "verify", str(GOLDEN / "v1.ckpt")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout


@pytest.mark.parametrize("size", [0, 5, 100])
def test_verify_tiny_files_are_not_checkpoints(tmp_path, capsys, size):
    f = tmp_path / "tiny"
    f.write_bytes(b"\x80" * size)
    code, _ = _run(capsys, "verify", str(f))
    assert code == 2


def test_verify_names_a_session_and_its_module(tmp_path, capsys):
    pytest.importorskip("brined.cloud", reason="sessions pickle functions by value")
    import types

    from brined.checkpoint import save_session

    mod = types.ModuleType("cli_sess")
    mod.v = 1
    save_session(tmp_path / "s.session", mod)
    code, out = _run(capsys, "verify", str(tmp_path / "s.session"))
    assert code == 0 and "OK: session format 2, module cli_sess" in out
