"""Crash test: a child saves a growing state in a loop and is killed with SIGKILL.

Every restore must return a complete state, no older than the last save the
child reported as finished (and at most one newer: a save can finish before
its report is printed); the next save removes any temporary file.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import warnings

import pytest

from brined.checkpoint import Checkpoint

CHILD = """
import sys
import brined

BASE = int(sys.argv[2])

def make(step):
    return {
        "step": step,
        "data": list(range(step * 40)),
        "blob": bytes([step % 251]) * (BASE + step * 7919 % 400_000),
    }

ckpt = brined.Checkpoint(sys.argv[1], keep=2)
state = ckpt.restore(default=make(0))
assert state == make(state["step"]), "restored an incomplete state"
print("start", state["step"], flush=True)
while True:
    state = make(state["step"] + 1)
    ckpt.save(state)
    print("saved", state["step"], flush=True)
"""


SAVED = re.compile(r"saved \d+")
# A blob this large is checksummed by the helper thread, beside the write and
# a first fsync (see checkpoint._store._Sink): kills land in that window too.
LARGE = 1_200_000


def expected(step: int, base: int = 0) -> dict[str, object]:
    return {
        "step": step,
        "data": list(range(step * 40)),
        "blob": bytes([step % 251]) * (base + step * 7919 % 400_000),
    }


def _kill_loop(tmp_path, kills: int, seed: int, base: int = 0) -> None:
    rng = random.Random(seed)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    path = str(tmp_path / "state.ckpt")
    restored_step = 0
    mid_save = 0  # kills that left a temporary file: they hit a save
    for kill in range(kills):
        child = subprocess.Popen(
            [sys.executable, str(script), path, str(base)],
            stdout=subprocess.PIPE,
            text=True,
        )
        first = child.stdout.readline().split()
        assert first[:1] == ["start"], f"kill {kill} (seed {seed}): child said {first}"
        assert int(first[1]) == restored_step
        # A random moment: before, during or between saves.
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=rng.uniform(0.0, 0.25))
        os.kill(child.pid, signal.SIGKILL)
        out = child.stdout.read().splitlines()
        child.stdout.close()
        assert child.wait() == -signal.SIGKILL, "the child stopped by itself"
        # The kill may cut the last line short: count whole lines only.
        reported = [int(line[6:]) for line in out if SAVED.fullmatch(line)]
        finished = max(reported, default=restored_step)
        with warnings.catch_warnings():
            # Atomic renames: a damaged generation never becomes visible.
            warnings.simplefilter("error")
            state = Checkpoint(path).restore(default=expected(0, base))
        step = state["step"]
        assert state == expected(step, base), f"kill {kill} (seed {seed}): incomplete"
        assert finished <= step <= finished + 1, (
            f"kill {kill} (seed {seed}): restored step {step}, "
            f"last reported save {finished}"
        )
        temps = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        assert len(temps) <= 1, temps
        mid_save += len(temps)
        restored_step = step
    print(f"seed {seed}: {kills} kills, {mid_save} in the middle of a save")
    final = Checkpoint(path, keep=2)
    final.save(expected(restored_step + 1, base))
    final.close()
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert final.restore() == expected(restored_step + 1, base)


def test_twenty_sigkills_always_leave_the_newest_complete_generation(tmp_path):
    _kill_loop(tmp_path, kills=20, seed=random.randrange(1 << 30))


@pytest.mark.slow
def test_two_hundred_sigkills_always_leave_the_newest_complete_generation(tmp_path):
    _kill_loop(tmp_path, kills=200, seed=random.randrange(1 << 30))


def test_ten_sigkills_during_large_saves_leave_the_newest_complete_generation(
    tmp_path,
):
    _kill_loop(tmp_path, kills=10, seed=random.randrange(1 << 30), base=LARGE)


@pytest.mark.slow
def test_hundred_sigkills_during_large_saves_leave_the_newest_complete_generation(
    tmp_path,
):
    _kill_loop(tmp_path, kills=100, seed=random.randrange(1 << 30), base=LARGE)
