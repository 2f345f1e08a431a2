"""Sessions: a module's globals saved and restored, in fresh interpreters."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import types
from pathlib import Path

import pytest

import brined

pytest.importorskip("brined.cloud", reason="sessions pickle functions by value")

from brined.checkpoint import (  # noqa: E402  (after the skip above)
    CheckpointError,
    CorruptCheckpointError,
    SessionError,
    SessionWarning,
    load_session,
    save_session,
    verify,
)


def _python(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _module(name: str, **values: object) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__dict__.update(values)
    return mod


SAVE_SCRIPT = """
import sys, collections, os
import brined
x = 10
data = {"a": [1, 2, 3], "t": (1.5, None)}
square = lambda v: v * v
def f(y):
    return x * y + square(y)
class Counter:
    start = 3
    def bump(self):
        self.start += x
        return self.start
P = collections.namedtuple("P", "a b")
obj = Counter()
report = brined.save_session(sys.argv[1])
print(len(report.skipped))
"""

LOAD_SCRIPT = """
import json, sys, os
import brined
report = brined.load_session(sys.argv[1])
out = {
    "saved": report.saved,
    "x": x, "data": data, "f2": f(2), "square": square(4),
    "bump": Counter().bump(), "obj": obj.bump(), "P": list(P(1, 2)),
    "os_is_module": os is sys.modules["os"],
}
x = 100
out["f2_after"] = f(2)
print(json.dumps(out))
"""


def test_fresh_interpreter_gets_variables_and_working_functions(tmp_path):
    path = str(tmp_path / "s.session")
    assert _python(SAVE_SCRIPT, path).strip() == "0"
    out = json.loads(_python(LOAD_SCRIPT, path))
    assert out["x"] == 10
    assert out["data"] == {"a": [1, 2, 3], "t": [1.5, None]}
    assert out["f2"] == 24 and out["square"] == 16
    assert out["bump"] == 13 and out["obj"] == 13
    assert out["P"] == [1, 2]
    assert out["os_is_module"], "an imported module must come back by reference"
    assert out["f2_after"] == 204, "functions must see the module's later globals"
    assert "os" in out["saved"] and "report" not in out["saved"]


def test_python_dash_c_session_roundtrip(tmp_path):
    path = str(tmp_path / "c.session")
    _python(
        "import brined, sys; n = 41; inc = lambda v: v + 1; "
        "brined.save_session(sys.argv[1])",
        path,
    )
    out = _python(
        "import brined, sys; brined.load_session(sys.argv[1]); print(inc(n))", path
    )
    assert out.strip() == "42"


def test_unpicklable_globals_are_skipped_and_the_rest_saved(tmp_path):
    sock = socket.socket()
    db = sqlite3.connect(":memory:")
    mod = _module(
        "sess_mixed",
        keep=[1, 2],
        lock=threading.Lock(),
        sock=sock,
        gen=(i for i in range(3)),
        db=db,
        nested={"ok": 1, "inner": {"lock": threading.RLock()}},
        after="still here",
    )
    try:
        with pytest.warns(SessionWarning, match="lock"):
            report = save_session(tmp_path / "m.session", mod)
    finally:
        sock.close()
        db.close()
    skipped = {s.name: s for s in report.skipped}
    assert set(skipped) == {"lock", "sock", "gen", "db", "nested"}
    assert report.saved == ["after", "keep"]
    assert skipped["sock"].type == "socket.socket"
    assert skipped["gen"].type == "builtins.generator"
    assert skipped["db"].type == "sqlite3.Connection"
    assert skipped["nested"].path.startswith("nested['inner']")
    assert "pickle" in skipped["lock"].reason
    target = _module("sess_mixed_back")
    back = load_session(tmp_path / "m.session", target)
    assert target.keep == [1, 2] and target.after == "still here"
    assert [s.name for s in back.skipped] == [s.name for s in report.skipped]


def test_path_inside_comes_from_explain_when_available(tmp_path):
    if not hasattr(brined, "explain"):
        pytest.skip("brined.explain is not in this build")
    mod = _module("sess_explain", cfg={"a": [1, {"lk": threading.Lock()}]})
    with pytest.warns(SessionWarning):
        report = save_session(tmp_path / "e.session", mod)
    (item,) = report.skipped
    (first, *_) = brined.explain(mod.cfg)
    assert item.reason == str(first.reason)
    assert "lk" in item.path


def test_strict_raises_and_writes_nothing(tmp_path):
    path = tmp_path / "strict.session"
    save_session(path, _module("sess_strict", v=1))
    before = path.read_bytes()
    mod = _module("sess_strict", v=2, lock=threading.Lock())
    with pytest.raises(SessionError) as caught:
        save_session(path, mod, strict=True)
    assert [s.name for s in caught.value.report.skipped] == ["lock"]
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.tmp"))


def test_session_file_is_a_verified_checkpoint_file(tmp_path):
    path = tmp_path / "v.session"
    save_session(path, _module("sess_v", v=1), key="k")
    info = verify(str(path), "k")
    assert info.info["kind"] == "session" and info.hmac_checked


CANARY: list[str] = []


def canary() -> None:
    CANARY.append("ran")


class _Trap:
    def __reduce__(self) -> tuple[object, tuple[()]]:
        return canary, ()


def test_corrupt_session_is_refused_before_any_opcode_runs(tmp_path):
    path = tmp_path / "c.session"
    save_session(path, _module("sess_c", trap=_Trap(), pad="p" * 40))
    data = bytearray(path.read_bytes())
    data[data.index(b"pppp")] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptCheckpointError, match="CRC-32 of the pickle"):
        load_session(path, _module("sess_c_back"))
    assert CANARY == []


def test_checkpoint_generation_is_not_a_session(tmp_path):
    ckpt = brined.Checkpoint(tmp_path / "state.ckpt")
    gen = ckpt.save({"step": 1})
    ckpt.close()
    with pytest.raises(CheckpointError, match="not a session"):
        load_session(gen)


def test_unknown_module_name_gets_a_new_module(tmp_path):
    path = tmp_path / "n.session"
    save_session(path, _module("sess_named", v=5))
    report = load_session(path, "sess_not_importable_anywhere")
    assert sys.modules["sess_not_importable_anywhere"].v == 5
    assert report.module == "sess_not_importable_anywhere"
    del sys.modules["sess_not_importable_anywhere"]


def test_lambda_and_class_go_by_value(tmp_path):
    path = str(tmp_path / "bv.session")
    _python(
        """
        import sys, brined
        class Point:
            def __init__(self, x): self.x = x
            def norm(self): return abs(self.x)
        g = lambda p: p.norm() * 2
        brined.save_session(sys.argv[1])
        """,
        path,
    )
    # The loading process has no definition of Point or g anywhere.
    out = _python(
        "import sys, brined; brined.load_session(sys.argv[1]); "
        "print(g(Point(-4)), Point.__module__)",
        path,
    )
    assert out.split() == ["8", "__main__"]
    assert Path(path).exists()


def test_function_using_a_skipped_global_is_kept(tmp_path):
    path = str(tmp_path / "db.session")
    out = _python(
        """
        import sqlite3, sys, warnings, brined
        conn = sqlite3.connect(":memory:")
        def query(q):
            return conn.execute(q).fetchall()
        held = [conn, 5]
        warnings.simplefilter("ignore")
        r = brined.save_session(sys.argv[1])
        print(*sorted(s.name for s in r.skipped))
        """,
        path,
    )
    assert out.split() == ["conn"]
    out = _python(
        """
        import sqlite3, sys, brined
        brined.load_session(sys.argv[1])
        print("conn" in globals(), held)
        conn = sqlite3.connect(":memory:")  # the program recreates it
        print(query("select 40 + 2"))
        """,
        path,
    )
    assert out.splitlines() == [
        "False [<skipped by save_session: conn>, 5]",
        "[(42,)]",
    ]


def test_aliased_unpicklable_global_is_skipped_under_both_names(tmp_path):
    lock = threading.Lock()
    mod = _module("sess_alias", a=lock, b=lock, c=1)
    with pytest.warns(SessionWarning):
        report = save_session(tmp_path / "a.session", mod)
    assert sorted(s.name for s in report.skipped) == ["a", "b"]
    assert report.saved == ["c"]


def test_importable_module_is_saved_by_value(tmp_path):
    pkg = tmp_path / "lib"
    pkg.mkdir()
    (pkg / "ckmod.py").write_text("def answer():\n    return 1\n")
    path = str(tmp_path / "mod.session")
    _python(
        """
        import sys, brined
        sys.path.insert(0, sys.argv[2])
        import ckmod
        exec("def answer():\\n    return 2", ckmod.__dict__)  # changed at run time
        ckmod.state = [1, 2]
        brined.save_session(sys.argv[1], "ckmod")
        """,
        path,
        str(pkg),
    )
    out = _python(
        """
        import sys, brined
        sys.path.insert(0, sys.argv[2])
        brined.load_session(sys.argv[1])
        import ckmod
        print(ckmod.answer(), ckmod.state)
        """,
        path,
        str(pkg),
    )
    assert out.strip() == "2 [1, 2]"
