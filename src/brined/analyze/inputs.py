"""Where the pickles to analyze come from: files, stdin, torch-style zips.

A zip archive (``PK\\x03\\x04``) is opened as ``torch.save`` writes it: every
member whose name ends in ``.pkl`` (``archive/data.pkl``) is one pickle; the
tensor bytes beside it (``archive/data/0``...) are never read.  torch itself
is not needed or imported.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["Input", "open_inputs"]

_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Input:
    """One pickle to analyze: a display name, an opener, and its size if known."""

    name: str
    open: Callable[[], BinaryIO]
    size: int | None = None


def _zip_inputs(path: str) -> list[Input] | None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return None
    found = []
    for info in archive.infolist():
        if info.filename.endswith(".pkl") and not info.is_dir():

            def opener(info: zipfile.ZipInfo = info) -> BinaryIO:
                member: BinaryIO = archive.open(info)  # type: ignore[assignment]
                return member

            found.append(Input(f"{path}:{info.filename}", opener, info.file_size))
    return found


def open_inputs(arg: str, stdin: BinaryIO | None = None) -> list[Input]:
    """The pickles named by one command-line argument (``-`` is stdin).

    A zip gives one `Input` per ``*.pkl`` member (possibly none); anything else
    is one pickle.  Raises OSError when the file cannot be read.
    """
    if arg == "-":
        data = (stdin if stdin is not None else sys.stdin.buffer).read()
        if data.startswith(_ZIP_MAGIC):
            raise OSError("a zip archive on stdin is not supported: pass a path")
        return [Input("<stdin>", lambda: io.BytesIO(data), len(data))]
    with open(arg, "rb") as f:
        magic = f.read(4)
    if magic == _ZIP_MAGIC:
        members = _zip_inputs(arg)
        if members is not None:
            return members

    def opener() -> BinaryIO:
        return open(arg, "rb")

    return [Input(arg, opener)]
