"""A progress bar for large entries: tqdm or rich when installed, on a terminal only."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

__all__ = ["progress"]


def _ignore(n: int) -> None:
    del n


def _backend() -> str | None:
    for name in ("tqdm", "rich"):
        try:
            __import__(name)
        except ImportError:
            continue
        return name
    return None


@contextlib.contextmanager
def progress(
    total: int, desc: str, threshold: int, stream: TextIO | None = None
) -> Iterator[Callable[[int], Any]]:
    """Yield a function to call with each chunk's size; it draws a bar when the
    entry is at least `threshold` bytes, `stream` (default stderr) is a terminal
    and tqdm or rich is importable, and does nothing otherwise."""
    out = sys.stderr if stream is None else stream
    isatty = getattr(out, "isatty", None)
    backend = _backend() if total >= threshold and isatty and isatty() else None
    if backend == "tqdm":
        from tqdm import tqdm  # type: ignore[import-untyped,import-not-found,unused-ignore]

        with tqdm(
            total=total, desc=desc, unit="B", unit_scale=True, file=out, leave=False
        ) as bar:
            yield bar.update
        out.flush()
    elif backend == "rich":
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(file=out), transient=True) as bar:
            task = bar.add_task(desc, total=total)

            def advance(n: int) -> None:
                bar.update(task, advance=n)

            yield advance
    else:
        yield _ignore
