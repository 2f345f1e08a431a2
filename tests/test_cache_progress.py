"""Progress bars for large entries: on a terminal with tqdm or rich, off otherwise."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
import textwrap
from pathlib import Path
from typing import Any

import pytest

from brined.cache._progress import progress


def _terminal() -> tuple[Any, int]:
    """A text stream whose isatty() is True (a real pty), and the reading end."""
    parent, child = pty.openpty()
    return os.fdopen(child, "w", buffering=1), parent


def _drain(fd: int) -> str:
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_no_bar_when_the_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    with progress(10**9, "x", threshold=1, stream=stream) as tick:
        tick(10**9)
    assert stream.getvalue() == ""


def test_no_bar_below_the_threshold() -> None:
    term, reader = _terminal()
    try:
        with progress(10, "x", threshold=100, stream=term) as tick:
            tick(10)
        term.flush()
        assert _drain(reader) == ""
    finally:
        term.close()
        os.close(reader)


def _run_on_a_terminal(tmp_path: Path, code: str) -> str:
    parent, child = pty.openpty()
    # A new pty is 0 columns wide, and tqdm draws nothing in 0 columns.
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "c")],
            stderr=child,
            stdout=subprocess.PIPE,
            text=True,
            timeout=120,
        )
        os.close(child)
        child = -1
        assert done.returncode == 0
        return _drain(parent)
    finally:
        if child >= 0:
            os.close(child)
        os.close(parent)


def test_tqdm_bar_when_stderr_is_a_terminal(tmp_path: Path) -> None:
    pytest.importorskip("tqdm", reason="the progress extra")
    pytest.importorskip("numpy", reason="a large value")
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from brined.cache import Cache

        def ones(n):
            return np.ones(n)

        f = Cache(sys.argv[1], progress_threshold=1 << 20)(ones)
        f(10)
        sys.stderr.write("SMALL-DONE\\n")
        f(1 << 18)
        sys.stderr.write("STORE-DONE\\n")
        f(1 << 18)
        """
    )
    out = _run_on_a_terminal(tmp_path, code)
    small, rest = out.split("SMALL-DONE")
    store, load = rest.split("STORE-DONE")
    assert "brined.cache" not in small
    assert "brined.cache store" in store and "brined.cache load" in load


def test_no_bar_when_stderr_is_a_pipe(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from brined.cache import Cache;"
            "f = Cache(sys.argv[1], progress_threshold=1)(lambda n: bytes(n));"
            "f(1 << 20); f(1 << 20)",
            str(tmp_path / "c"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stderr == ""


def test_rich_bar_when_tqdm_is_missing(monkeypatch: Any) -> None:
    pytest.importorskip("rich", reason="the progress extra")
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now fails
    term, reader = _terminal()
    try:
        with progress(1000, "richbar", threshold=1, stream=term) as tick:
            tick(500)
            tick(500)
        term.flush()
        out = _drain(reader)
    finally:
        term.close()
        os.close(reader)
    assert "richbar" in out
