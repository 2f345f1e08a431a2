"""brined.Cache on remote stores: a real moto S3 server on loopback, memory://."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brined.cache import Cache, CacheWarning

pytest.importorskip("fsspec", reason="remote stores need the cache extra")
pytest.importorskip("s3fs", reason="S3 stores need the cache extra")
pytest.importorskip("moto.server", reason="the S3 tests need moto[server]")

ROOT = Path(__file__).resolve().parent.parent
KEY = "t" * 32
_RUN_WORKER = (
    "import sys; from tests.cache_worker import main; sys.exit(main(sys.argv[1:]))"
)
_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **_CREDENTIALS},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the moto server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: Any, request: Any) -> dict[str, Any]:
    for name, value in _CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    import s3fs

    options = {"client_kwargs": {"endpoint_url": s3_endpoint}}
    fs = s3fs.S3FileSystem(**options)
    name = "brined-" + request.node.name.replace("_", "-")[:40].lower()
    fs.mkdir(name)
    fs.invalidate_cache()
    return {"url": f"s3://{name}/cache", "options": options, "fs": fs, "name": name}


def test_s3_miss_then_hit(bucket: dict[str, Any]) -> None:
    cache = Cache(bucket["url"], key=KEY, storage_options=bucket["options"])
    calls: list[int] = []

    @cache
    def f(x: int) -> list[int]:
        calls.append(x)
        return [x] * 3

    assert f(2) == f(x=2) == [2, 2, 2] and calls == [2]
    objects = bucket["fs"].find(bucket["name"])
    assert any("/entries/" in path for path in objects)
    stats = cache.stats()
    assert (stats["entries"], stats["hits"], stats["misses"]) == (1, 1, 1)


def test_s3_tampered_object_is_a_miss(bucket: dict[str, Any]) -> None:
    cache = Cache(bucket["url"], key=KEY, storage_options=bucket["options"])

    @cache
    def f(x: int) -> int:
        return x + 1

    f(1)
    fs = bucket["fs"]
    (path,) = [p for p in fs.find(bucket["name"]) if "/entries/" in p]
    data = bytearray(fs.cat_file(path))
    data[-5] ^= 0xFF
    fs.pipe_file(path, bytes(data))
    with pytest.warns(CacheWarning, match="bad signature"):
        assert not f.cached(1)


def _worker(bucket: dict[str, Any], counter: Path, x: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        **_CREDENTIALS,
        "CACHE_TEST_SLEEP": "0.5",
        "CACHE_TEST_OPTIONS": json.dumps({"storage_options": bucket["options"]}),
    }
    return subprocess.Popen(
        # Imported, not run as __main__: the function is tests.cache_worker.slow,
        # the same function this test process can look up.
        [sys.executable, "-c", _RUN_WORKER, "once", bucket["url"], str(counter), x],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_two_processes_share_the_bucket(
    bucket: dict[str, Any], tmp_path: Path, monkeypatch: Any
) -> None:
    counter = tmp_path / "counter"
    both = [_worker(bucket, counter, "7") for _ in range(2)]
    results = [json.loads(w.communicate(timeout=120)[0]) for w in both]
    assert results == [{"x": 7, "double": 14}] * 2
    computed = len(counter.read_text().splitlines())
    assert 1 <= computed <= 2  # no lock on object stores: at most once per process
    from tests import cache_worker

    here = Cache(bucket["url"], key=KEY, storage_options=bucket["options"])
    monkeypatch.setenv("CACHE_TEST_COUNTER", str(counter))
    assert here(cache_worker.slow)(7) == {"x": 7, "double": 14}
    assert len(counter.read_text().splitlines()) == computed  # a hit


def test_an_unreachable_store_still_returns_results(monkeypatch: Any) -> None:
    for name, value in _CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    options = {
        "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{_free_port()}"},
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
    }
    cache = Cache("s3://nowhere/cache", key=KEY, storage_options=options)

    @cache
    def f(x: int) -> int:
        return x * 5

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert f(1) == 5 and f(2) == 10
    assert len([w for w in seen if w.category is CacheWarning]) == 1
