"""brined.cloud: safe loading, version safety, determinism and error paths."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import threading
import typing
from pathlib import Path

import pytest

import brined
import brined.cloud as cloud
from brined.cloud import PythonVersionMismatchError

GOLDEN = Path(__file__).parent / "golden"


def train() -> typing.Callable[[int], int]:
    def step(x: int) -> int:
        return x + 1

    return step


# -- safe by default ---------------------------------------------------------------


def test_safe_loads_refuses_a_function_by_value() -> None:
    data = cloud.dumps(train())
    with pytest.raises(brined.UnsafeGlobalError) as info:
        brined.loads(data)
    message = str(info.value)
    assert "a function defined by value" in message
    assert "brined.cloud.loads" in message and "trusted=True" in message
    assert info.value.module == "brined.cloud._reconstruct"


def test_safe_loads_refuses_a_class_by_value() -> None:
    class Local:
        pass

    with pytest.raises(brined.UnsafeGlobalError, match="a class defined by value"):
        brined.loads(cloud.dumps(Local))


def test_safe_loads_names_cloudpickles_by_value_code_too() -> None:
    cloudpickle = pytest.importorskip("cloudpickle", reason="writes the pickle")
    with pytest.raises(brined.UnsafeGlobalError, match="a function defined by value"):
        brined.loads(cloudpickle.dumps(train()))


def test_allow_cannot_lift_the_reconstructors() -> None:
    with pytest.raises(brined.UnsafeGlobalError):
        brined.loads(cloud.dumps(train()), allow=["brined.cloud.*"])


def test_trusted_loads_run_it() -> None:
    data = cloud.dumps(train())
    assert cloud.loads(data)(1) == 2
    assert brined.loads(data, trusted=True)(1) == 2


def test_safe_loads_still_loads_plain_data_from_cloud_dumps() -> None:
    obj = {"a": [1, 2.0, "x"], "b": (None, True)}
    assert brined.loads(cloud.dumps(obj)) == obj


# -- version safety ------------------------------------------------------------------

THIS = f"{sys.version_info[0]}.{sys.version_info[1]}"
OTHER = "3.10" if THIS != "3.10" else "3.12"


@pytest.mark.parametrize("loader", [cloud.loads, pickle.loads])
def test_code_from_another_minor_version_is_refused(
    loader: typing.Callable[[bytes], object],
) -> None:
    data = cloud.dumps(train())
    marker = b"\x8c\x04" + THIS.encode()  # SHORT_BINUNICODE of the version
    assert data.count(marker) == 1
    forged = data.replace(marker, b"\x8c\x04" + OTHER.encode())
    with pytest.raises(PythonVersionMismatchError) as info:
        loader(forged)
    assert f"Python {OTHER}" in str(info.value) and f"Python {THIS}" in str(info.value)
    assert (info.value.written, info.value.running) == (OTHER, THIS)
    assert isinstance(info.value, pickle.UnpicklingError)


# -- determinism -----------------------------------------------------------------------

SCRIPT = """
import enum, hashlib, sys
import brined.cloud as cloud
if sys.argv[1] == "imports":
    import json, decimal, email.message, xml.dom.minidom, dataclasses  # noqa

TAGS = frozenset({"alpha", "beta", "gamma", "delta", "epsilon"})

def make():
    def outer(a):
        def inner(b):
            return a + b + len(TAGS)
        return inner
    return outer

class Config:
    names = {"x", "y", "z", "w", "v", "u"}
    frozen = frozenset({"p", "q", "r", "s"})
    def method(self):
        return sorted(self.names)

class Color(enum.Enum):
    RED = "r"
    GREEN = "g"

objs = [make(), make()(1), Config, Config(), Color, Color.GREEN, lambda: TAGS]
for protocol in (2, 5):
    print(hashlib.sha256(cloud.dumps(objs, protocol=protocol)).hexdigest())

def with_mutable_set():
    seen = {"k1", "k2", "k3", "k4", "k5", "k6"}
    def add(x):
        seen.add(x)
        return seen
    return add

data = cloud.dumps(with_mutable_set(), deterministic=True)
print(hashlib.sha256(data).hexdigest())
"""


def _run(script: Path, seed: str, mode: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    out = subprocess.run(
        [sys.executable, str(script), mode],
        env=env,
        capture_output=True,
        check=True,
        text=True,
        cwd=script.parent,
    )
    return out.stdout


def test_same_bytes_across_processes_hash_seeds_and_imports(tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    runs = {
        _run(script, "1", "plain"),
        _run(script, "2", "imports"),
        _run(script, "12345", "plain"),
    }
    assert len(runs) == 1, runs
    assert len(next(iter(runs)).split()) == 3


def test_same_bytes_after_a_reload_in_another_process(tmp_path: Path) -> None:
    # Chained: a worker loads a class and pickles it again.
    class Shape:
        sides = {"a", "b", "c"}

        def area(self) -> int:
            return 0

    data = cloud.dumps(Shape)
    code = (
        "import sys, brined.cloud as c; "
        "sys.stdout.buffer.write(c.dumps(c.loads(sys.stdin.buffer.read())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=data,
        capture_output=True,
        check=True,
        env=dict(os.environ, PYTHONHASHSEED="7"),
    ).stdout
    assert out == data


# -- diagnosable errors ---------------------------------------------------------


class Client:
    def __init__(self) -> None:
        self._lock = threading.Lock()


def test_error_names_the_path_through_a_closure() -> None:
    client = Client()

    def step() -> Client:
        return client

    with pytest.raises(TypeError) as info:
        cloud.dumps(step)
    notes = getattr(info.value, "__notes__", [])
    assert any(
        "step.__closure__[0] -> client._lock" in n and "_thread.lock" in n
        for n in notes
    ), notes


def test_error_names_the_path_through_a_class_attribute() -> None:
    class Service:
        backend = Client()

    with pytest.raises(TypeError) as info:
        cloud.dumps(Service)
    notes = getattr(info.value, "__notes__", [])
    assert any("Service.backend._lock" in n for n in notes), notes


def test_error_names_the_path_through_globals() -> None:
    ns = {"client": Client()}
    exec("def job():\n    return client\n", ns)
    with pytest.raises(TypeError) as info:
        cloud.dumps(ns["job"])
    notes = getattr(info.value, "__notes__", [])
    assert any("job.__globals__['client'] -> client._lock" in n for n in notes), notes


# -- the format on disk ---------------------------------------------------------------

GOLDEN_SOURCE = '''
import enum

SCALE = 3

def scaled(x, *, by=SCALE):
    """Scale x."""
    return x * by

class Shape:
    kinds = {"square", "circle"}

    def __init__(self, side):
        self.side = side

    @property
    def area(self):
        return scaled(self.side * self.side, by=1)

class Mood(enum.Enum):
    HAPPY = 1
    SAD = 2
'''


def golden_objects() -> list[object]:
    ns: dict[str, object] = {"__name__": "brined_golden"}
    exec(compile(GOLDEN_SOURCE, "<brined-golden>", "exec"), ns)
    shape = ns["Shape"]
    return [ns["scaled"], shape, shape(2), ns["Mood"]]  # type: ignore[operator]


GOLDEN_FILE = GOLDEN / "by_value_py311_p5.pickle"


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="bytecode of 3.11")
def test_golden_bytes_are_stable() -> None:
    data = cloud.dumps(golden_objects(), protocol=5)
    assert data == GOLDEN_FILE.read_bytes(), (
        "the by-value format changed: reconstructor names and arguments are an "
        "on-disk format (regenerate only on purpose: python -m tests.cloud.test_safety)"
    )


def test_golden_file_loads() -> None:
    data = GOLDEN_FILE.read_bytes()
    if sys.version_info[:2] != (3, 11):
        with pytest.raises(PythonVersionMismatchError):
            cloud.loads(data)
        return
    scaled, shape, square, mood = cloud.loads(data)
    assert scaled(2) == 6
    assert square.area == 4 and isinstance(square, shape)
    assert shape.kinds == {"square", "circle"}
    assert [m.name for m in mood] == ["HAPPY", "SAD"]
    assert hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    GOLDEN_FILE.write_bytes(cloud.dumps(golden_objects(), protocol=5))
