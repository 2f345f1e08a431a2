"""What the cache's modules share: exceptions, ttl and size parsing, a found entry."""

from __future__ import annotations

import datetime
import re
import time
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CacheMiss",
    "CacheWarning",
    "Found",
    "folder_name",
    "parse_size",
    "parse_ttl",
]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZES = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class CacheMiss(LookupError):
    """An offline cache was asked for a value it does not hold.

    `function` is the function's qualified name, `key` the entry's key.
    """

    def __init__(self, message: str, *, function: str, key: str) -> None:
        super().__init__(message)
        self.function = function
        self.key = key


class CacheWarning(UserWarning):
    """Something the cache could not do; the call's result is unaffected."""


def parse_ttl(ttl: float | str | datetime.timedelta | None) -> float | None:
    """Seconds from a number, a timedelta or text such as "90s", "15m", "1d", "2w"."""
    if ttl is None:
        return None
    if isinstance(ttl, datetime.timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        seconds = float(ttl)
    elif isinstance(ttl, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smhdw]?)\s*", ttl.lower())
        if not match:
            raise ValueError(f"bad ttl {ttl!r}: expected e.g. '30s', '15m', '1d', '2w'")
        seconds = float(match[1]) * _UNITS[match[2] or "s"]
    else:
        raise TypeError(f"ttl must be seconds, a timedelta or text, not {ttl!r}")
    if seconds <= 0:
        raise ValueError(f"ttl must be positive, got {ttl!r}")
    return seconds


def parse_size(size: int | str | None) -> int | None:
    """Bytes from a number or text such as "500MB", "2G"."""
    if size is None:
        return None
    if isinstance(size, int) and not isinstance(size, bool):
        value = size
    elif isinstance(size, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)i?b?\s*", size.lower())
        if not match:
            raise ValueError(f"bad size {size!r}: expected e.g. '500MB' or '2G'")
        value = int(float(match[1]) * _SIZES[match[2]])
    else:
        raise TypeError(f"max_size must be bytes or text, not {size!r}")
    if value <= 0:
        raise ValueError(f"max_size must be positive, got {size!r}")
    return value


def folder_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:150]


@dataclass
class Found:
    header: dict[str, Any]
    stream: bytes
    buffers: list[Any]

    def expired(self, ttl: float | None) -> bool:
        """Past the expiry written with it, or older than `ttl` (the reader's)."""
        now = time.time()
        expires = self.header.get("expires")
        if expires is not None and now > expires:
            return True
        return ttl is not None and now - float(self.header.get("created", 0)) > ttl
