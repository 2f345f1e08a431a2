"""brined.parallel: the stdlib's pools with code by value, in real worker processes.

Oracles: the stdlib's pools refuse what these accept; results equal what the
same call gives in this process; shared memory is checked by what the result's
buffer is (a mapping) and by /dev/shm being left as it was.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from brined import parallel

pytestmark = pytest.mark.timeout(120)

METHODS = [
    m
    for m in ("fork", "spawn", "forkserver")
    if m in multiprocessing.get_all_start_methods()
]
SHM_DIR = Path("/dev/shm")


def shm_names() -> set[str]:
    return {p.name for p in SHM_DIR.glob("psm_*")} if SHM_DIR.exists() else set()


@pytest.fixture(scope="module", params=METHODS)
def executor(request):  # type: ignore[no-untyped-def]
    ctx = parallel.get_context(request.param)
    with ctx.ProcessPoolExecutor(2) as ex:
        yield ex


@pytest.fixture(scope="module", params=METHODS)
def pool(request):  # type: ignore[no-untyped-def]
    with parallel.get_context(request.param).Pool(2) as p:
        yield p
        p.close()
        p.join()


def make_adder(k: int):  # type: ignore[no-untyped-def]
    def add(x: int) -> int:
        return x + k

    return add


def test_the_stdlib_pool_refuses_a_lambda() -> None:
    # The problem these pools solve (and proof the tests below can fail).
    with (
        concurrent.futures.ProcessPoolExecutor(1) as ex,
        pytest.raises((pickle.PicklingError, AttributeError, TypeError)),
    ):
        ex.submit(lambda: 1).result(timeout=60)


def test_executor_runs_lambdas_and_closures(executor) -> None:  # type: ignore[no-untyped-def]
    k = 7
    assert executor.submit(lambda x, y=0: x * k + y, 3, y=1).result() == 22
    assert executor.submit(make_adder(5), 1).result() == 6


def test_executor_map_ships_the_function_once(executor) -> None:  # type: ignore[no-untyped-def]
    k = 3
    assert list(executor.map(lambda x: x**k, range(20), chunksize=4)) == [
        x**3 for x in range(20)
    ]


def test_executor_results_come_back_by_value(executor) -> None:  # type: ignore[no-untyped-def]
    fn = executor.submit(lambda: make_adder(10)).result()
    assert fn(1) == 11


def test_executor_runs_in_another_process(executor) -> None:  # type: ignore[no-untyped-def]
    assert executor.submit(os.getpid).result() != os.getpid()


def test_worker_exception_keeps_its_class_and_traceback_text(executor) -> None:  # type: ignore[no-untyped-def]
    class LocalError(Exception):
        pass

    def fails(x: int) -> None:
        raise LocalError(f"bad {x}")

    with pytest.raises(LocalError, match="bad 4") as info:
        executor.submit(fails, 4).result()
    cause = str(info.value.__cause__)
    assert "in fails" in cause and "LocalError: bad 4" in cause


def test_pool_map_apply_starmap_imap(pool) -> None:  # type: ignore[no-untyped-def]
    k = 2
    assert pool.map(lambda x: x * k, range(10)) == [x * 2 for x in range(10)]
    assert pool.apply(lambda a, b=1: a - b + k, (5,), {"b": 3}) == 4
    assert pool.starmap(lambda a, b: a * b + k, [(1, 2), (3, 4)]) == [4, 14]
    assert list(pool.imap(make_adder(1), range(5))) == [1, 2, 3, 4, 5]
    assert sorted(pool.imap_unordered(make_adder(1), range(5), 2)) == [1, 2, 3, 4, 5]
    assert pool.map_async(lambda x: -x, [1, 2]).get(60) == [-1, -2]


def test_pool_map_async_callback_sees_the_flat_list(pool) -> None:  # type: ignore[no-untyped-def]
    got: list[object] = []
    result = pool.map_async(lambda x: x + 1, range(7), chunksize=3, callback=got.append)
    assert result.get(60) == list(range(1, 8))
    assert result.ready() and result.successful()
    assert got == [list(range(1, 8))]
    assert pool.map(lambda x: x, []) == [] and pool.starmap(lambda x: x, []) == []


def test_pool_map_error_reaches_error_callback(pool) -> None:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []
    result = pool.map_async(lambda x: 1 // x, [1, 0], error_callback=errors.append)
    with pytest.raises(ZeroDivisionError):
        result.get(60)
    assert isinstance(errors[0], ZeroDivisionError)


def test_pool_arguments_travel_by_value(pool) -> None:  # type: ignore[no-untyped-def]
    fns = [make_adder(i) for i in range(3)]
    assert pool.map(lambda f: f(10), fns) == [10, 11, 12]


def test_pool_worker_exception_has_traceback_text(pool) -> None:  # type: ignore[no-untyped-def]
    def fails() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError) as info:
        pool.apply(fails)
    assert "in fails" in str(info.value.__cause__)


def test_initializer_may_be_a_lambda(tmp_path: Path) -> None:
    marker = tmp_path / "init"
    with parallel.ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=lambda p: Path(p).write_text("ran"),
        initargs=(str(marker),),
    ) as ex:
        assert ex.submit(lambda: 1).result() == 1
    assert marker.read_text() == "ran"


# -- arrays: protocol 5 buffers, shared memory ---------------------------------


def _buffer_owner(array):  # type: ignore[no-untyped-def]
    base = array
    while getattr(base, "base", None) is not None:
        base = base.base
    return base.obj if isinstance(base, memoryview) else base


def test_large_array_round_trips_through_shared_memory(executor) -> None:  # type: ignore[no-untyped-def]
    np = pytest.importorskip("numpy", reason="needs numpy")
    import mmap

    before = shm_names()
    a = np.arange(2_000_000, dtype=np.float64)
    out = executor.submit(lambda x: x * 2, a).result()
    np.testing.assert_array_equal(out, a * 2)
    # Built on the shared mapping, not copied out of a pipe.
    assert isinstance(_buffer_owner(out), mmap.mmap)
    assert out.flags.writeable
    assert shm_names() <= before  # every segment unlinked


def test_small_array_stays_in_band(executor) -> None:  # type: ignore[no-untyped-def]
    np = pytest.importorskip("numpy", reason="needs numpy")
    a = np.arange(100)
    out = executor.submit(lambda x: x + 1, a).result()
    np.testing.assert_array_equal(out, a + 1)
    import mmap

    assert not isinstance(_buffer_owner(out), mmap.mmap)


def test_shared_memory_off_sends_everything_through_the_pipe() -> None:
    np = pytest.importorskip("numpy", reason="needs numpy")
    import mmap

    with parallel.ProcessPoolExecutor(1, shm_threshold=None) as ex:
        out = ex.submit(lambda x: x[::-1].copy(), np.arange(500_000)).result()
    assert out[0] == 499_999
    assert not isinstance(_buffer_owner(out), mmap.mmap)


def test_cancelled_task_leaves_no_segment() -> None:
    np = pytest.importorskip("numpy", reason="needs numpy")
    before = shm_names()
    with parallel.ProcessPoolExecutor(1, shm_threshold=1024) as ex:
        busy = ex.submit(time.sleep, 1.0)
        queued = [ex.submit(lambda a: a.sum(), np.ones(10_000)) for _ in range(5)]
        cancelled = [f for f in queued if f.cancel()]
        busy.result()
        for f in queued:
            if not f.cancelled():
                assert f.result() == 10_000
    assert cancelled  # at least the last ones never left this process
    assert shm_names() <= before


def test_pool_map_of_arrays_through_shared_memory(pool) -> None:  # type: ignore[no-untyped-def]
    np = pytest.importorskip("numpy", reason="needs numpy")
    before = shm_names()
    arrays = [np.full(300_000, i, dtype=np.int64) for i in range(4)]
    sums = pool.map(lambda a: int(a.sum()), arrays)
    assert sums == [i * 300_000 for i in range(4)]
    assert shm_names() <= before


# -- __main__ functions under every start method -------------------------------

MAIN_SCRIPT = """
import sys
from brined import parallel

def square(x):
    return x * x

class Box:
    def __init__(self, v):
        self.v = v

if __name__ == "__main__":
    for method in sys.argv[1:]:
        ctx = parallel.get_context(method)
        with ctx.ProcessPoolExecutor(1) as ex:
            a = list(ex.map(square, range(4)))
            b = ex.submit(lambda: Box(5)).result().v
        with ctx.Pool(1) as p:
            c = p.map(square, range(3))
        print(method, a, b, c, flush=True)
"""


def test_main_module_functions_run_under_every_start_method(tmp_path: Path) -> None:
    script = tmp_path / "main_script.py"
    script.write_text(textwrap.dedent(MAIN_SCRIPT))
    out = subprocess.run(
        [sys.executable, str(script), *METHODS],
        capture_output=True,
        text=True,
        timeout=100,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"{m} [0, 1, 4, 9] 5 [0, 1, 4]" for m in METHODS]
    assert "leaked" not in out.stderr and "Traceback" not in out.stderr


# -- loky and joblib, by the recipe in docs/parallel.md -----------------------


def test_loky_with_brined_cloud_runs_lambdas() -> None:
    loky = pytest.importorskip("loky", reason="needs loky (extra: parallel)")
    from loky.backend import reduction

    import brined.cloud

    loky.set_loky_pickler("brined.cloud")
    try:
        assert issubclass(reduction._LokyPickler, brined.cloud.Pickler)
        k = 4
        ex = loky.get_reusable_executor(max_workers=2)
        assert list(ex.map(lambda x: x + k, range(6))) == [4, 5, 6, 7, 8, 9]
    finally:
        loky.set_loky_pickler()


def test_joblib_parallel_with_brined_cloud_runs_lambdas() -> None:
    joblib = pytest.importorskip("joblib", reason="needs joblib (extra: parallel)")
    from joblib.externals import loky
    from joblib.externals.loky.backend import reduction

    import brined.cloud

    loky.set_loky_pickler("brined.cloud")
    try:
        assert issubclass(reduction._LokyPickler, brined.cloud.Pickler)
        k = 10
        out = joblib.Parallel(n_jobs=2)(
            joblib.delayed(lambda x: (x * k, os.getpid()))(i) for i in range(8)
        )
        assert [v for v, _ in out] == [i * 10 for i in range(8)]
        assert all(pid != os.getpid() for _, pid in out)
    finally:
        loky.set_loky_pickler()
