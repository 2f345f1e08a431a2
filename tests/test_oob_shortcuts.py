"""The safe loader's round-6 shortcuts answer as the checks they stand in for.

Each shortcut skips work on the out-of-band numpy path (a loaded array is two
globals, two checked calls and a BUILD of its dtype); each test here compares
the shortcut with the full check it replaces, or shows that what the full
check refuses is still refused once the shortcut has been primed.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

_SWAPPED_OBJECT_DTYPE = """
import pickle, sys
import numpy as np
import brined

class Forged:
    def __reduce__(self):
        state = (3, ">", None, None, None, -1, -1, 63)
        return (np.dtype, ("O", False, True), state)

for proto in range(2, 6):
    try:
        brined.loads(pickle.dumps(Forged(), proto))
    except brined.UnsafeOperationError as exc:
        print(exc.rule)
"""


def test_an_object_dtype_given_a_byte_order_is_refused_not_compared() -> None:
    # numpy crashes comparing such a dtype with its own object dtype (a
    # segfault in round 5's check): in a child process, so that a crash is
    # a failure here and not the end of the test run.
    pytest.importorskip("numpy", reason="numpy's dtypes")
    done = subprocess.run(
        [sys.executable, "-c", _SWAPPED_OBJECT_DTYPE],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["build-state"] * 4
