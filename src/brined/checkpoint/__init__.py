"""Checkpoints that survive crashes, and sessions that come back.

`Checkpoint` keeps verified, atomically written generations of a program's
state; `save_session` / `load_session` save and restore a module's globals.
The file format (a pickle, then a trailer) is described in docs/checkpoint.md.
"""

from __future__ import annotations

from ._format import (
    CheckpointError,
    CorruptCheckpointError,
    NotACheckpointError,
    TrailerInfo,
)
from ._session import (
    SessionError,
    SessionReport,
    SessionWarning,
    Skipped,
    SkippedGlobal,
    load_session,
    save_session,
)
from ._store import Checkpoint, CheckpointLockedError, CheckpointWarning

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointLockedError",
    "CheckpointWarning",
    "CorruptCheckpointError",
    "NotACheckpointError",
    "SessionError",
    "SessionReport",
    "SessionWarning",
    "Skipped",
    "SkippedGlobal",
    "TrailerInfo",
    "load_session",
    "save_session",
    "verify",
]


def verify(path: str, key: bytes | str | None = None) -> TrailerInfo:
    """Verify the checkpoint (or session) file `path` without loading it.

    Returns its `TrailerInfo`; raises NotACheckpointError when the file has no
    trailer, CorruptCheckpointError when a check fails, OSError when unreadable.
    """
    from ._store import _as_key, read_verified

    return read_verified(path, _as_key(key))[1]
