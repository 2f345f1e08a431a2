"""The dis, scan and show subcommands: exit codes, JSON, zips, stdin, colour."""

from __future__ import annotations

import io
import json
import pickle
import pickletools
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from brined._format import opcodes as op
from brined.analyze import scan
from brined.analyze.show import show
from brined.cli import main
from tests.hostile_scan.generate import CASES, su

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _torch_style_pickle() -> bytes:
    """What torch.save writes for a 3-float tensor, assembled by hand."""
    b = bytes
    storage = (
        b([op.MARK])
        + su("storage")
        + su("torch")
        + su("FloatStorage")
        + b([op.STACK_GLOBAL])
        + su("0")
        + su("cpu")
        + b([op.BININT1, 3, op.TUPLE, op.BINPERSID])
    )
    return (
        b([op.PROTO, 2])
        + b"ctorch._utils\n_rebuild_tensor_v2\n"
        + b([op.MARK])
        + storage
        + b([op.BININT1, 0, op.BININT1, 3, op.TUPLE1, op.BININT1, 1, op.TUPLE1])
        + b([op.NEWFALSE])
        + b"ccollections\nOrderedDict\n)R"
        + b([op.TUPLE, op.REDUCE, op.STOP])
    )


def _torch_zip(tmp_path: Path) -> str:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", _torch_style_pickle())
        z.writestr("archive/data/0", struct.pack("<3f", 1, 2, 3))
        z.writestr("archive/version", "3\n")
    return str(path)


def test_scan_exit_codes_are_0_clean_1_unsafe_2_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = _write(tmp_path, "clean.pkl", pickle.dumps([1, 2]))
    unsafe = _write(tmp_path, "unsafe.pkl", CASES["os-system-global"][0])
    invalid = _write(tmp_path, "invalid.pkl", b"\xff")
    assert main(["scan", clean]) == 0
    assert main(["scan", invalid]) == 2
    assert main(["scan", unsafe]) == 1
    assert main(["scan", clean, invalid, unsafe]) == 1
    capsys.readouterr()


def test_scan_json_lists_globals_calls_and_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "x.pkl", CASES["payload-then-garbage"][0])
    assert main(["scan", "--json", path]) == 1
    (report,) = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "unsafe" and report["exit_code"] == 1
    assert report["globals"][0]["module"] == "os"
    assert report["calls"][0]["opcode"] == "REDUCE"


def test_allow_and_policy_file_lift_a_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "u.pkl", CASES["plain-class-allowed"][0])
    toml = tmp_path / "policy.toml"
    toml.write_text('allow = ["email.message.Message"]\n')
    js = tmp_path / "policy.json"
    js.write_text('{"allow": ["email.*"]}')
    assert main(["scan", path]) == 1
    assert main(["scan", "--allow", "email.message.Message", path]) == 0
    assert main(["scan", "--policy", str(toml), path]) == 0
    assert main(["scan", "--policy", str(js), path]) == 0
    capsys.readouterr()


def test_torch_zip_reports_globals_and_persistent_ids_without_torch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _torch_zip(tmp_path)
    assert main(["scan", "--json", path]) == 1
    (report,) = json.loads(capsys.readouterr().out)
    assert report["name"].endswith(":archive/data.pkl")
    names = {f"{g['module']}.{g['name']}" for g in report["globals"]}
    assert {"torch._utils._rebuild_tensor_v2", "torch.FloatStorage"} <= names
    pids = [c for c in report["calls"] if c["how"] == "persistent_load"]
    assert (
        pids[0]["text"]
        == "persistent_load(('storage', torch.FloatStorage, '0', 'cpu', 3))"
    )
    assert "torch" not in sys.modules


def test_dis_of_stdin_matches_pickletools(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = pickle.dumps({"a": [1, 2]}, 2)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["dis", "-"]) == 0
    expected = io.StringIO()
    pickletools.dis(data, expected)
    assert capsys.readouterr().out == expected.getvalue()


def test_show_marks_what_would_be_called(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "x.pkl", CASES["os-system-stack-global"][0])
    assert main(["show", path]) == 1
    out = capsys.readouterr().out
    assert "<<would call os.system('touch BRINED_CANARY_FIRED')>>" in out


def test_show_elides_large_containers_with_counts() -> None:
    _, text = show(pickle.dumps({"big": list(range(5000))}, 4), max_items=3)
    assert text.splitlines() == [
        "dict of 1 items:",
        "  'big': list of 5000 items:",
        "    [0] 0",
        "    [1] 1",
        "    [2] 2",
        "    ... 4997 more items",
    ]


def test_no_colour_unless_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "x.pkl", CASES["os-system-global"][0])
    main(["scan", path])
    assert "\x1b[" not in capsys.readouterr().out


def test_python_dash_m_brined_scan_runs(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.pkl", pickle.dumps([1]))
    done = subprocess.run(
        [sys.executable, "-m", "brined", "scan", path], capture_output=True, text=True
    )
    assert done.returncode == 0 and "CLEAN" in done.stdout


def test_scan_of_a_file_object_and_bytes_agree() -> None:
    data = CASES["names-from-memo"][0]
    assert scan(io.BytesIO(data)).verdict == scan(data).verdict == "unsafe"


PY2_LATIN1 = b"\x80\x02U\x03\xe9t\xe9q\x00."  # Python 2 str 'été' (latin-1 bytes)


@pytest.mark.parametrize(
    ("options", "code", "loads_options"),
    [
        ([], 2, {}),
        (["--encoding", "latin1"], 0, {"encoding": "latin1"}),
        (["--encoding", "bytes"], 0, {"encoding": "bytes"}),
        (["--encoding", "utf-8"], 2, {"encoding": "utf-8"}),
        (
            ["--encoding", "utf-8", "--errors", "replace"],
            0,
            {"encoding": "utf-8", "errors": "replace"},
        ),
    ],
)
def test_scan_and_show_take_loads_encoding_options(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    code: int,
    loads_options: dict[str, str],
) -> None:
    import brined

    path = _write(tmp_path, "py2.pkl", PY2_LATIN1)
    try:
        brined.loads(PY2_LATIN1, **loads_options)  # type: ignore[arg-type]
        loaded = 0
    except brined.UnpicklingError:
        loaded = 2
    assert main(["scan", *options, path]) == code == loaded
    assert main(["show", *options, path]) == code
    capsys.readouterr()


def test_no_fix_imports_keeps_python2_module_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "set.pkl", b"c__builtin__\nset\n((lI1\natR.")
    assert main(["scan", path]) == 0
    assert main(["scan", "--fix-imports", path]) == 0
    capsys.readouterr()
    assert main(["scan", "--no-fix-imports", "--json", path]) == 1
    (report,) = json.loads(capsys.readouterr().out)
    assert [(g["module"], g["name"]) for g in report["globals"]] == [
        ("__builtin__", "set")
    ]


def test_scan_says_how_many_out_of_band_buffers_are_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(
        [pickle.PickleBuffer(b"a"), pickle.PickleBuffer(bytearray(2))],
        5,
        buffer_callback=buffers.append,
    )
    path = _write(tmp_path, "oob.pkl", data)
    assert main(["scan", path]) == 0
    assert "needs 2 out-of-band buffers" in capsys.readouterr().out
    assert main(["scan", "--json", path]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert (report["verdict"], report["buffers"]) == ("clean", len(buffers))


def test_dis_prints_pickletools_text_when_bytes_follow_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = pickle.dumps({"a": [1, 2]}, 4) + b"\x00trailing"
    path = _write(tmp_path, "t.pkl", data)
    assert main(["dis", path]) == 0
    expected = io.StringIO()
    pickletools.dis(data, expected)
    captured = capsys.readouterr()
    assert captured.out == expected.getvalue()
    assert "9 bytes after STOP" in captured.err


def test_output_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    # `brined dis big.pkl | head -1`: the reader leaves after one line; the
    # tool stops with status 1 and no traceback (it used to print two).
    path = tmp_path / "big.pkl"
    path.write_bytes(pickle.dumps(list(range(50_000)), protocol=0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "brined", "dis", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert first.strip()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
