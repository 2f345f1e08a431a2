"""brined.cloud as loky's pickler under joblib.Parallel(n_jobs=2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import sys
from joblib import Parallel, delayed
from joblib.externals.loky.backend import reduction

import brined.cloud

def main():
    offset = 10
    def add_offset(x):
        return x + offset
    def make_counter():
        count = 0
        def bump(n):
            nonlocal count
            count += n
            return count
        return bump
    class Point:
        def __init__(self, x):
            self.x = x
        def norm(self):
            return abs(self.x)
    bump = make_counter()
    with Parallel(n_jobs=2, backend="loky") as parallel:
        squares = parallel(delayed(lambda v: v * v)(i) for i in range(6))
        shifted = parallel(delayed(add_offset)(i) for i in range(6))
        counted = parallel(delayed(bump)(i) for i in range(1, 4))
        norms = parallel(delayed(Point.norm)(Point(-i)) for i in range(4))
        points = parallel(delayed(Point)(i) for i in range(2))
    assert squares == [0, 1, 4, 9, 16, 25], squares
    assert shifted == list(range(10, 16)), shifted
    assert all(c >= 1 for c in counted), counted
    assert norms == [0, 1, 2, 3], norms
    assert [p.x for p in points] == [0, 1]
    pickler = reduction.get_loky_pickler()
    assert issubclass(pickler, brined.cloud.Pickler), pickler.__mro__
    print(reduction.get_loky_pickler_name())
    try:
        import loky
    except ImportError:
        return
    # The standalone loky package, set by its function rather than the env var.
    loky.set_loky_pickler("brined.cloud")
    executor = loky.get_reusable_executor(max_workers=2)
    assert list(executor.map(lambda v: v + offset, range(4))) == [10, 11, 12, 13]
    assert issubclass(loky.backend.reduction.get_loky_pickler(), brined.cloud.Pickler)
    executor.shutdown(wait=True)

if __name__ == "__main__":
    main()
"""


def test_joblib_parallel_with_brined_cloud_as_loky_pickler(tmp_path: Path) -> None:
    pytest.importorskip("joblib", reason="joblib runs the workers")
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, LOKY_PICKLER="brined.cloud")
    out = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "brined.cloud"
