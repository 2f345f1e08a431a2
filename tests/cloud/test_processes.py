"""brined.cloud across processes: one class per loading process, modules by value."""

from __future__ import annotations

import enum
import importlib
import subprocess
import sys
from pathlib import Path

import brined.cloud as cloud

LOADER = """
import sys, brined.cloud as cloud
blobs = sys.stdin.buffer.read().split(b"--SEP--")
objs = [cloud.loads(b) for b in blobs]
{check}
print("ok")
"""


def _load_elsewhere(blobs: list[bytes], check: str, cwd: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", LOADER.format(check=check)],
        input=b"--SEP--".join(blobs),
        capture_output=True,
        cwd=cwd,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.decode().strip()


def test_class_pickled_in_separate_pickles_loads_as_one_class(tmp_path: Path) -> None:
    class Job:
        def __init__(self, n: int) -> None:
            self.n = n

    class Phase(enum.Enum):
        START = 1
        STOP = 2

    blobs = [
        cloud.dumps(Job),
        cloud.dumps(Job(1)),
        cloud.dumps([Job(2), Phase.START]),
        cloud.dumps(Phase),
        cloud.dumps(Phase.START),
    ]
    check = (
        "cls, one, (two, start), phase, start2 = objs\n"
        "assert type(one) is cls and type(two) is cls and two.n == 2\n"
        "assert start is phase.START is start2\n"
        "assert isinstance(one, cls)"
    )
    assert _load_elsewhere(blobs, check, tmp_path) == "ok"


def test_registered_module_is_pickled_by_value(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "brined_byvalue_mod.py").write_text(
        "RATE = 3\n"
        "class Meter:\n"
        "    def __init__(self, v):\n"
        "        self.v = v\n"
        "def scaled(m):\n"
        "    return m.v * RATE\n"
    )
    sys.path.insert(0, str(source))
    try:
        module = importlib.import_module("brined_byvalue_mod")
        by_name = cloud.dumps(module.scaled)
        cloud.register_pickle_by_value(module)
        try:
            blob = cloud.dumps((module.scaled, module.Meter(5)))
        finally:
            cloud.unregister_pickle_by_value(module)
        assert cloud.dumps(module.scaled) == by_name  # by name again
    finally:
        sys.path.remove(str(source))
        sys.modules.pop("brined_byvalue_mod", None)
    assert len(by_name) < 100 and len(blob) > len(by_name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check = (
        "scaled, meter = objs[0]\n"
        "assert scaled(meter) == 15\n"
        "assert 'brined_byvalue_mod' not in sys.modules"
    )
    assert _load_elsewhere([blob], check, elsewhere) == "ok"
