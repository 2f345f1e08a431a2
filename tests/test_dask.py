"""brined.dask: the "brined" serialization family on a real LocalCluster.

Oracles: a client that can only deserialize "brined" and "msgpack" (so every
result it gets went through the family), results computed locally, memory
sharing for the no-copy claim, and a marker file a hostile payload would create.
"""

from __future__ import annotations

import copyreg
import importlib
import importlib.util
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

if importlib.util.find_spec("distributed") is None:
    pytest.skip("needs dask[distributed] (extra: dask)", allow_module_level=True)
np = pytest.importorskip("numpy", reason="needs numpy")

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def dk():  # type: ignore[no-untyped-def]
    """distributed, imported only while this module runs.

    Importing distributed installs tblib's exception reducers in copyreg for the
    whole process, which changes how every exception pickles; the other test
    modules must not see that, so it is imported here (not at collection) and
    copyreg's table is put back afterwards.
    """
    saved = dict(copyreg.dispatch_table)
    distributed = importlib.import_module("distributed")
    serialize_module = importlib.import_module("distributed.protocol.serialize")
    yield SimpleNamespace(
        Client=distributed.Client,
        LocalCluster=distributed.LocalCluster,
        serialize=serialize_module.serialize,
        deserialize=serialize_module.deserialize,
        brined_dask=importlib.import_module("brined.dask"),
    )
    copyreg.dispatch_table.clear()
    copyreg.dispatch_table.update(saved)


ONLY_BRINED = {
    "serializers": ["brined", "msgpack"],
    "deserializers": ["brined", "msgpack"],
}


def _cluster(dk, **kwargs):  # type: ignore[no-untyped-def]
    return dk.LocalCluster(
        n_workers=kwargs.pop("n_workers", 2),
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        preload=["brined.dask"],
        **kwargs,
    )


@pytest.fixture(scope="module")
def cluster(dk):  # type: ignore[no-untyped-def]
    with _cluster(dk) as c:
        yield c


@pytest.fixture(scope="module")
def client(dk, cluster):  # type: ignore[no-untyped-def]
    with dk.Client(cluster, **ONLY_BRINED) as c:
        yield c


def test_array_buffers_are_frames_not_copies(dk) -> None:  # type: ignore[no-untyped-def]
    a = np.arange(1_000_000, dtype=np.float64)
    header, frames = dk.serialize(a, serializers=["brined"])
    assert header["serializer"] == "brined"
    # The array's memory is a frame as it is...
    assert any(
        np.shares_memory(np.frombuffer(f, dtype=np.float64), a)
        for f in frames[1:]
        if memoryview(f).nbytes == a.nbytes
    )
    # ... and what is loaded from the frames is built on them.
    out = dk.deserialize(header, frames, deserializers=["brined"])
    np.testing.assert_array_equal(out, a)
    assert np.shares_memory(out, a)


def test_lambda_and_closure_tasks_run_on_workers(client) -> None:  # type: ignore[no-untyped-def]
    k = 6

    def make(n):  # type: ignore[no-untyped-def]
        return lambda x: x * n + k

    futures = client.map(make(3), range(10))
    assert client.gather(futures) == [x * 3 + 6 for x in range(10)]
    pids = set(client.run(os.getpid).values())
    assert os.getpid() not in pids and len(pids) == 2


def test_functions_travel_as_data_through_the_family(client) -> None:  # type: ignore[no-untyped-def]
    k = 2
    [fut] = client.scatter([lambda x: x**k], hash=False)
    assert client.submit(lambda f: f(9), fut).result() == 81
    assert client.submit(lambda: lambda y: y - k).result()(5) == 3


def test_numpy_array_round_trip(client) -> None:  # type: ignore[no-untyped-def]
    a = np.random.default_rng(0).standard_normal((500, 400))
    [fa] = client.scatter([a], hash=False)
    out = client.submit(lambda m: m.T @ m, fa).result()
    np.testing.assert_allclose(out, a.T @ a)
    assert out.flags.writeable


def test_pandas_dataframe_round_trip(client) -> None:  # type: ignore[no-untyped-def]
    pd = pytest.importorskip("pandas", reason="needs pandas")
    df = pd.DataFrame(
        {"a": np.arange(1000), "b": np.linspace(0, 1, 1000), "c": ["x", "y"] * 500}
    )
    [fd] = client.scatter([df], hash=False)
    out = client.submit(lambda d: d.assign(d=d.a * 2), fd).result()
    pd.testing.assert_frame_equal(out, df.assign(d=df.a * 2))


# -- the safe side ---------------------------------------------------------------


class Boom:
    """Unpickling this runs `os.system` under a trusting loader."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


# Last in this module: it turns the module's workers safe for good (one cluster
# start saved).


def test_safe_worker_refuses_a_hostile_client(
    dk, cluster, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    admin = client
    plugin = dk.brined_dask.BrinedPlugin(trusted=False, allow=["numpy"])
    admin.register_plugin(plugin)
    marker = tmp_path / "ran"
    for family in ("brined", "pickle"):
        # A second client, as an attacker would connect: over TCP to the
        # scheduler; the data goes on to the worker process, which refuses it.
        with (
            dk.Client(
                cluster.scheduler_address,
                serializers=[family, "msgpack"],
                deserializers=[family, "msgpack"],
            ) as hostile,
            pytest.raises(Exception, match="UnsafeGlobalError.*posix.system"),
        ):
            hostile.scatter([Boom(marker)], hash=False)
    assert not marker.exists()
    # The worker keeps serving: tasks, and data its allowlist admits.
    assert admin.submit(lambda x: x + 1, 41).result() == 42
    [fa] = admin.scatter([np.arange(10)], hash=False)
    assert admin.submit(lambda a: int(a.sum()), fa).result() == 45
