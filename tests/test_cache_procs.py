"""brined.Cache across real processes: one computation per key, kill -9 at any time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from brined.cache import Cache, _entry

ROOT = Path(__file__).resolve().parent.parent


def _worker(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.cache_worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_concurrent_processes_compute_a_key_once(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    store = str(tmp_path / "c")
    env = {"CACHE_TEST_SLEEP": "1.0"}
    workers = [_worker("once", store, str(counter), "21", env=env) for _ in range(4)]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0] * 4
    assert [json.loads(out) for out in outputs] == [{"x": 21, "double": 42}] * 4
    assert len(_lines(counter)) == 1


def test_a_killed_lock_holder_does_not_block_the_others(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    store = str(tmp_path / "c")
    holder = _worker("once", store, str(counter), "5", env={"CACHE_TEST_SLEEP": "600"})
    while not _lines(counter):  # the holder is computing, lock held
        time.sleep(0.05)
    waiter = _worker("once", store, str(counter), "5")
    time.sleep(0.3)  # let it block on the lock (its result does not depend on this)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    out, _ = waiter.communicate(timeout=120)
    assert waiter.returncode == 0 and json.loads(out)["double"] == 10
    assert len(_lines(counter)) == 2


def _verify_all(store: Path) -> int:
    secret = b"t" * 32
    count = 0
    for path in (store / "entries").rglob("*"):
        if path.is_file():
            header, stream, buffers = _entry.open_entry(
                path.name, path.read_bytes(), secret
            )
            assert header["function"].endswith(".big")
            count += 1
    return count


def test_kill_9_while_writing_never_leaves_a_torn_entry(tmp_path: Path) -> None:
    store = tmp_path / "c"
    options = json.dumps({"max_size": 24 << 20})
    start = 0
    for round_ in range(4):
        writer = _worker(
            "write",
            str(store),
            str(tmp_path / "counter"),
            str(start),
            env={"CACHE_TEST_OPTIONS": options},
        )
        assert writer.stdout is not None
        for _ in range(1 + round_):  # a different moment in each round
            line = writer.stdout.readline()
            assert line
        start = int(line) + 100
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        assert _verify_all(store) >= 1
    # Leftover temporary files are invisible to readers and go at prune.
    cache = Cache(store, key="t" * 32)
    for leftover in (store / "tmp").iterdir():
        os.utime(leftover, (1, 1))
    cache.prune()
    assert list((store / "tmp").iterdir()) == []
    assert _verify_all(store) >= 1


def test_processes_started_with_multiprocessing_share_hits(tmp_path: Path) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        first = pool.apply(_call_in_child, (str(tmp_path),))
        second = pool.apply(_call_in_child, (str(tmp_path),))
    assert first == second == [3, 3]
    assert len(_lines(tmp_path / "counter")) == 1


def _call_in_child(root: str) -> Any:
    from tests import cache_worker

    os.environ["CACHE_TEST_COUNTER"] = os.path.join(root, "counter")
    cached = Cache(os.path.join(root, "c"), key="t" * 32)(cache_worker.slow)
    return [cached(1)["x"] * 3, cached(x=1)["x"] * 3]


@pytest.mark.slow
def test_soak_kill_9_at_random_moments(tmp_path: Path) -> None:
    import random

    store = tmp_path / "c"
    options = json.dumps({"max_size": 40 << 20})
    rng = random.Random(1234)
    start = 0
    for _ in range(30):
        writer = _worker(
            "write",
            str(store),
            str(tmp_path / "counter"),
            str(start),
            env={"CACHE_TEST_OPTIONS": options},
        )
        assert writer.stdout is not None
        writer.stdout.readline()
        time.sleep(rng.uniform(0, 0.3))  # somewhere inside a later write
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        start += 1000
        assert _verify_all(store) >= 1


@pytest.mark.slow
def test_soak_many_processes_many_keys_one_computation_each(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    store = str(tmp_path / "c")
    env = {"CACHE_TEST_SLEEP": "0.2"}
    workers = [
        _worker("once", store, str(counter), str(key % 5), env=env) for key in range(20)
    ]
    for w in workers:
        w.communicate(timeout=300)
        assert w.returncode == 0
    assert sorted(line.split()[-1] for line in _lines(counter)) == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]


def test_keys_of_sets_are_the_same_under_every_hash_seed(tmp_path: Path) -> None:
    code = (
        "from brined.cache import Cache\n"
        "from tests.cache_worker import slow\n"
        "f = Cache('/nonexistent/brined-seed-test')(slow)\n"
        "print(f.key({'alpha', 'beta', 'gamma', 'delta'}))\n"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(keys) == 1
