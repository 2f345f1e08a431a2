"""A session saved in a real IPython kernel comes back after a kernel restart."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("brined.cloud", reason="sessions pickle functions by value")
pytest.importorskip("jupyter_client", reason="install the 'jupyter' extra")
pytest.importorskip("ipykernel", reason="install the 'jupyter' extra")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")


class Kernel:
    """A kernel of this interpreter on loopback; `run` returns a cell's stdout."""

    def __init__(self, tmp_path: Path) -> None:
        spec_dir = tmp_path / "kernels" / "brined-test"
        spec_dir.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        spec = {"argv": argv, "display_name": "brined test", "language": "python"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
        self.km = KernelManager(
            kernel_name="brined-test", kernel_spec_manager=specs, ip="127.0.0.1"
        )
        env = {**os.environ, "PYTHONPATH": SRC}
        self.km.start_kernel(env=env, cwd=str(tmp_path))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str) -> str:
        out: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        reply = self.kc.execute_interactive(code, timeout=60, output_hook=hook)
        assert reply["content"]["status"] == "ok", "".join(out)
        return "".join(out)

    def restart(self) -> None:
        self.km.restart_kernel(now=True)
        self.kc.wait_for_ready(timeout=60)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(tmp_path):
    k = Kernel(tmp_path)
    yield k
    k.close()


def test_notebook_session_survives_a_kernel_restart(kernel, tmp_path):
    path = str(tmp_path / "nb.session")
    kernel.run("x = 41\nnames = ['a', 'b']")
    kernel.run("inc = lambda v: v + 1")
    kernel.run(
        "class Box:\n"
        "    def __init__(self, v):\n"
        "        self.v = v\n"
        "    def twice(self):\n"
        "        return self.v * 2 + x - 41"
    )
    kernel.run("b = Box(inc(x))\nimport threading\nlk = threading.Lock()")
    out = kernel.run(
        "import brined, warnings\n"
        "warnings.simplefilter('ignore')\n"
        f"r = brined.save_session({path!r})\n"
        "print(sorted(s.name for s in r.skipped))"
    )
    assert out.strip() == "['lk']"

    kernel.restart()
    assert kernel.run("print('x' in dir(), 'Box' in dir())").strip() == "False False"

    out = kernel.run(
        "import brined\n"
        f"r = brined.load_session({path!r})\n"
        "print(x, names, inc(x), b.twice(), Box(5).twice(), type(b) is Box)\n"
        "x = 51\n"
        "print(b.twice())"
    )
    assert out.splitlines() == ["41 ['a', 'b'] 42 84 10 True", "94"]
