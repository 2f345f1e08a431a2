"""brined cache info|ls|prune|clear and brined demo cache: output, JSON, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from brined.cache import Cache
from brined.cli import main


def _fill(root: Path) -> Any:
    cache = Cache(root)

    @cache
    def f(x: int) -> bytes:
        return b"x" * (1000 * x)

    @cache(ttl=0.01)
    def g(x: int) -> int:
        return x

    f(1), f(2), f(2), g(1)
    cache._flush_stats()
    return f


def _json(capsys: Any, argv: list[str]) -> Any:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_info_counts_entries_hits_and_misses_per_function(
    tmp_path: Path, capsys: Any
) -> None:
    f = _fill(tmp_path)
    info = _json(capsys, ["cache", "info", str(tmp_path), "--json"])
    assert (info["entries"], info["hits"], info["misses"]) == (3, 1, 3)
    assert info["functions"][f._folder]["entries"] == 2
    assert main(["cache", "info", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "entries 3" in text and f._folder in text


def test_ls_lists_each_entry_and_marks_damage(tmp_path: Path, capsys: Any) -> None:
    _fill(tmp_path)
    rows = _json(capsys, ["cache", "ls", str(tmp_path), "--json"])
    assert len(rows) == 3 and all(row["readable"] for row in rows)
    path = next((tmp_path / "entries").rglob("*"))
    while not path.is_file():
        path = next(path.iterdir())
    path.write_bytes(b"garbage")
    rows = _json(capsys, ["cache", "ls", str(tmp_path), "--json"])
    assert [row["readable"] for row in rows].count(False) == 1
    assert main(["cache", "ls", str(tmp_path)]) == 0
    assert "DAMAGED" in capsys.readouterr().out


def test_prune_removes_expired_and_damaged_then_evicts(
    tmp_path: Path, capsys: Any
) -> None:
    import time

    _fill(tmp_path)
    time.sleep(0.05)  # g's ttl is 10 ms
    assert _json(capsys, ["cache", "prune", str(tmp_path), "--json"]) == {"removed": 1}
    out = _json(capsys, ["cache", "prune", str(tmp_path), "--json", "--max-size", "1"])
    assert out == {"removed": 2}
    assert main(["cache", "prune", str(tmp_path), "--max-size", "lots"]) == 2


def test_clear_removes_every_entry_but_keeps_the_key(
    tmp_path: Path, capsys: Any
) -> None:
    _fill(tmp_path)
    assert _json(capsys, ["cache", "clear", str(tmp_path), "--json"]) == {"removed": 3}
    assert (tmp_path / "key").exists()
    assert _json(capsys, ["cache", "ls", str(tmp_path), "--json"]) == []


@pytest.mark.parametrize("action", ["info", "ls", "prune", "clear"])
def test_a_folder_that_is_not_a_cache_exits_2(
    tmp_path: Path, capsys: Any, action: str
) -> None:
    (tmp_path / "other.txt").write_text("x")
    assert main(["cache", action, str(tmp_path)]) == 2
    assert "not a brined cache" in capsys.readouterr().err
    assert main(["cache", action, str(tmp_path / "missing")]) == 2


def test_demo_cache_shows_miss_hit_offline_and_tampering(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "brined", "demo", "cache"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    for text in ("a miss", "a hit", "CacheMiss", "bad signature", "-> False"):
        assert text in done.stdout
    assert list(tmp_path.iterdir()) == []  # the demo wrote only in its temp dir


def test_info_on_a_remote_store(capsys: Any) -> None:
    pytest.importorskip("fsspec", reason="remote stores need the cache extra")
    cache = Cache("memory://brined-cli-test", key="m" * 32)

    @cache
    def f(x: int) -> int:
        return x

    f(1), f(1)
    cache._flush_stats()
    info = _json(capsys, ["cache", "info", "memory://brined-cli-test", "--json"])
    assert (info["entries"], info["hits"], info["misses"]) == (1, 1, 1)
    rows = _json(capsys, ["cache", "ls", "memory://brined-cli-test", "--json"])
    assert [row["function"] for row in rows] == [f._name]
