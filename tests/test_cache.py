"""brined.Cache in one process: keys, fingerprints, entries, integrity, offline."""

from __future__ import annotations

import asyncio
import functools
import os
import pickle
import stat
import sys
import textwrap
import threading
import types
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brined
from brined.cache import Cache, CacheMiss, CacheWarning, _entry
from brined.cache._keys import code_fingerprint


def _module(name: str, source: str) -> types.ModuleType:
    """A module `name` made from `source`, registered in sys.modules."""
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(textwrap.dedent(source), f"<{name}>", "exec"), module.__dict__)
    return module


def _entries(root: Path) -> list[Path]:
    return sorted(p for p in (root / "entries").rglob("*") if p.is_file())


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "c")


# -- keys -------------------------------------------------------------------


def test_positional_keyword_and_default_calls_share_one_entry(cache: Cache) -> None:
    calls: list[int] = []

    @cache
    def f(x: int, y: int = 3) -> int:
        calls.append(x)
        return x + y

    assert [f(1), f(x=1), f(1, 3), f(1, y=3), f(y=3, x=1)] == [4] * 5
    assert calls == [1]
    assert f(2) == 5 and calls == [1, 2]


def test_keyword_only_varargs_and_kwargs_bind_in_one_order(cache: Cache) -> None:
    calls: list[Any] = []

    @cache
    def f(a: int, *rest: int, k: int = 0, **extra: int) -> int:
        calls.append(a)
        return a + sum(rest) + k + sum(extra.values())

    assert f(1, 2, k=1, p=1, q=2) == f(1, 2, q=2, p=1, k=1) == 7
    assert len(calls) == 1


def test_ignore_drops_an_argument_and_version_busts(cache: Cache) -> None:
    calls: list[int] = []

    def g(x: int, verbose: bool = False) -> int:
        calls.append(x)
        return x

    f1 = cache(ignore=["verbose"])(g)
    assert f1(1, verbose=True) == f1(1) == 1
    assert calls == [1]
    f2 = cache(ignore=["verbose"], version=2)(g)
    f2(1)
    assert calls == [1, 1]


def test_unknown_ignore_name_fails_at_decoration(cache: Cache) -> None:
    with pytest.raises(TypeError, match="no argument 'nope'"):

        @cache(ignore=["nope"])
        def f(x: int) -> int:
            return x


def test_generator_function_fails_at_decoration(cache: Cache) -> None:
    with pytest.raises(TypeError, match="generator function"):

        @cache
        def gen(n: int) -> Any:
            yield n


def test_unhashable_argument_fails_at_call_naming_it(cache: Cache) -> None:
    @cache
    def f(x: int, lock: Any) -> int:
        return x

    with pytest.raises(TypeError, match="argument 'lock' .*cannot be hashed"):
        f(1, threading.Lock())


def test_bad_arguments_raise_like_the_function(cache: Cache) -> None:
    @cache
    def f(x: int) -> int:
        return x

    with pytest.raises(TypeError):
        f(1, 2)


# -- code fingerprints ------------------------------------------------------

_BASE = """
def helper(x):
    return x * 2

def f(x):
    '''Docstring one.'''
    return helper(x) + 1
"""


def test_fingerprint_ignores_comments_docstrings_and_line_moves() -> None:
    a = _module("fpa_one.mod", _BASE).f
    moved = "\n\n# a comment\n" + _BASE.replace("Docstring one.", "Another doc.")
    moved = moved.replace("return x * 2", "return x * 2  # twice")
    b = _module("fpa_one.mod", moved).f
    assert a.__code__.co_firstlineno != b.__code__.co_firstlineno
    assert code_fingerprint(a) == code_fingerprint(b)


def test_fingerprint_changes_with_the_code() -> None:
    a = _module("fpb_one.mod", _BASE).f
    b = _module("fpb_one.mod", _BASE.replace("+ 1", "+ 2")).f
    assert code_fingerprint(a) != code_fingerprint(b)


def test_fingerprint_follows_helpers_transitively_within_the_package() -> None:
    source = """
    def deepest(x):
        return x - 1

    def helper(x):
        return deepest(x) * 2

    def f(x):
        return helper(x)
    """
    a = _module("fpc_one.mod", source).f
    b = _module("fpc_one.mod", source.replace("x - 1", "x - 2")).f
    assert code_fingerprint(a) != code_fingerprint(b)


_USES_HELPERS = """
import sys
helpers = sys.modules["fpd_pkg.helpers"]
def f(x):
    return helpers.scale(x)
"""


def test_fingerprint_follows_a_helper_in_another_module_of_the_package() -> None:
    _module("fpd_pkg.helpers", "def scale(x):\n    return x * 3\n")
    a = _module(
        "fpd_pkg.main",
        _USES_HELPERS,
    ).f
    first = code_fingerprint(a)
    _module("fpd_pkg.helpers", "def scale(x):\n    return x * 4\n")
    b = _module(
        "fpd_pkg.main",
        _USES_HELPERS,
    ).f
    assert code_fingerprint(b) != first


def test_fingerprint_includes_module_constants_and_closures() -> None:
    a = _module("fpe_one.mod", "SCALE = 2\ndef f(x):\n    return x * SCALE\n").f
    b = _module("fpe_one.mod", "SCALE = 3\ndef f(x):\n    return x * SCALE\n").f
    assert code_fingerprint(a) != code_fingerprint(b)

    def make(n: int) -> Any:
        def inner(x: int) -> int:
            return x + n

        return inner

    assert code_fingerprint(make(1)) != code_fingerprint(make(2))
    assert code_fingerprint(make(1)) == code_fingerprint(make(1))


def test_fingerprint_ignores_code_outside_the_project() -> None:
    # json lives outside the project: a call to it adds its name, not its code.
    a = _module("fpf_one.mod", "import json\ndef f(x):\n    return json.dumps(x)\n").f
    assert code_fingerprint(a) == code_fingerprint(a)


def test_editing_a_helper_invalidates_the_cached_entry(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    one = _module("fpg_one.mod", _BASE)
    f1 = cache(one.f)
    assert f1(1) == 3 and f1.cached(1)
    two = _module("fpg_one.mod", _BASE.replace("x * 2", "x * 10"))
    f2 = cache(two.f)
    assert not f2.cached(1)
    assert f2(1) == 11
    three = _module("fpg_one.mod", "# moved\n\n" + _BASE.replace("x * 2", "x * 10"))
    assert cache(three.f).cached(1)


# -- kinds of callables -----------------------------------------------------


class Scaler:
    def __init__(self, factor: int) -> None:
        self.factor = factor
        self.calls = 0

    def __getstate__(self) -> dict[str, Any]:
        return {"factor": self.factor}

    def scale(self, x: int) -> int:
        self.calls += 1
        return x * self.factor


class Model(Scaler):
    pass


def test_methods_key_on_the_instance(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(Model, "scale", Cache(tmp_path)(Scaler.scale))
    two, three = Model(2), Model(3)
    assert two.scale(5) == 10 and three.scale(5) == 15
    assert two.scale(5) == 10 and two.calls == 1
    assert two.scale.cached(5) and not two.scale.cached(6)


def test_bound_methods_and_partials(cache: Cache) -> None:
    obj = Scaler(4)
    bound = cache(obj.scale)
    assert bound(2) == bound(x=2) == 8 and obj.calls == 1

    def add(a: int, b: int) -> int:
        add.calls += 1  # type: ignore[attr-defined]
        return a + b

    add.calls = 0  # type: ignore[attr-defined]
    p = cache(functools.partial(add, 10))
    assert p(1) == p(b=1) == 11 and add.calls == 1  # type: ignore[attr-defined]
    assert cache(functools.partial(add, 20))(1) == 21


def test_async_functions(cache: Cache) -> None:
    calls: list[int] = []

    @cache
    async def fetch(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0)
        return x * 2

    assert asyncio.run(fetch(2)) == asyncio.run(fetch(x=2)) == 4
    assert calls == [2]


def test_closures_and_lambdas_as_arguments_key_by_their_code(cache: Cache) -> None:
    calls: list[int] = []

    @cache
    def apply(fn: Any, x: int) -> int:
        calls.append(x)
        return int(fn(x))

    assert apply(lambda v: v + 1, 1) == 2
    assert apply(lambda v: v + 1, 1) == 2 and len(calls) == 1
    assert apply(lambda v: v + 2, 1) == 3 and len(calls) == 2


def test_closure_results_are_cached_by_value(cache: Cache) -> None:
    pytest.importorskip("brined.cloud", reason="by-value functions need brined.cloud")

    @cache
    def make(n: int) -> Any:
        return lambda x: x + n

    assert make(2)(1) == 3
    assert make.cached(2) and make(2)(1) == 3


def test_a_generator_result_is_an_error(cache: Cache) -> None:
    @cache
    def f(n: int) -> Any:
        return (i for i in range(n))

    with pytest.raises(TypeError, match="returned a generator"):
        f(3)


def test_an_unpicklable_result_is_returned_with_a_warning(cache: Cache) -> None:
    @cache
    def f(n: int) -> Any:
        return threading.Lock()

    with pytest.warns(CacheWarning, match="cannot be pickled"):
        assert f(1) is not None
    assert not f.cached(1)


# -- values, compression, buffers -------------------------------------------


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd", "lz4"])
def test_every_codec_round_trips_and_compresses(
    tmp_path: Path, compression: str
) -> None:
    if compression in ("zstd", "lz4"):
        pytest.importorskip(
            "zstandard" if compression == "zstd" else "lz4", reason="cache extra"
        )
    np = pytest.importorskip("numpy", reason="arrays as values")
    cache = Cache(tmp_path, compression=compression)
    value = {"text": "abc" * 10000, "array": np.zeros(200_000), "n": [1, 2.5]}

    @cache
    def f() -> Any:
        return value

    f()
    got = f()
    assert got["text"] == value["text"] and got["n"] == value["n"]
    assert (got["array"] == value["array"]).all()
    size = sum(p.stat().st_size for p in _entries(tmp_path))
    if compression == "none":
        assert size > 1_600_000
    else:
        assert size < 100_000


def test_unknown_compression_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown compression"):
        Cache("/nonexistent-dir", compression="brotli")


def test_large_arrays_load_memory_mapped_and_writable(cache: Cache) -> None:
    np = pytest.importorskip("numpy", reason="arrays as values")
    import mmap

    @cache
    def f(n: int) -> Any:
        return np.arange(n, dtype=np.float64)

    f(500_000)
    got = f(500_000)
    assert (got == np.arange(500_000, dtype=np.float64)).all()
    base = got
    while not isinstance(base, memoryview):
        base = base.base
    assert isinstance(base.obj, mmap.mmap)
    got[0] = 42.0  # copy-on-write: writable, and the entry is unchanged
    assert f(500_000)[0] == 0.0


def test_values_equal_what_pickle_round_trips(cache: Cache) -> None:
    value = {"a": [1, 2, (3, 4)], "b": {1.5, 2.5}, "c": b"\x00" * 10}

    @cache
    def f() -> Any:
        return value

    f()
    assert f() == pickle.loads(pickle.dumps(value))


# -- integrity --------------------------------------------------------------


def test_key_file_is_private_and_created_once(tmp_path: Path) -> None:
    a, b = Cache(tmp_path), Cache(tmp_path)
    assert a.secret() == b.secret()
    mode = stat.S_IMODE(os.stat(tmp_path / "key").st_mode)
    assert mode == 0o600


@pytest.mark.parametrize("where", ["magic", "header", "stream", "signature"])
def test_a_tampered_entry_is_a_miss_with_a_warning(tmp_path: Path, where: str) -> None:
    cache = Cache(tmp_path)
    calls: list[int] = []

    @cache
    def f(x: int) -> int:
        calls.append(x)
        return x

    f(1)
    (path,) = _entries(tmp_path)
    data = bytearray(path.read_bytes())
    at = {"magic": 0, "header": 20, "stream": len(data) - 40, "signature": -1}[where]
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.warns(CacheWarning, match="ignored"):
        assert f(1) == 1
    assert calls == [1, 1]
    assert f(1) == 1 and calls == [1, 1]  # rewritten, valid again


@pytest.mark.parametrize("keep", [0, 7, 12, 100])
def test_a_truncated_entry_is_a_miss(tmp_path: Path, keep: int) -> None:
    cache = Cache(tmp_path)

    @cache
    def f(x: int) -> int:
        return x

    f(1)
    (path,) = _entries(tmp_path)
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.warns(CacheWarning, match="ignored"):
        assert not f.cached(1)


def test_a_planted_pickle_is_never_loaded(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    marker = tmp_path / "pwned"

    @cache
    def f(x: int) -> int:
        return x

    f(1)
    (path,) = _entries(tmp_path)

    class Evil:
        def __reduce__(self) -> Any:
            return (open, (str(marker), "w"))

    path.write_bytes(pickle.dumps(Evil()))
    with pytest.warns(CacheWarning, match="ignored"):
        assert f(1) == 1
    assert not marker.exists()


def test_an_entry_copied_under_another_key_does_not_verify(tmp_path: Path) -> None:
    cache = Cache(tmp_path)

    @cache
    def f(x: int) -> int:
        return x

    f(1)
    f(2)
    one = Path(cache.store.entry_path(f._folder, f.key(1)))
    two = Path(cache.store.entry_path(f._folder, f.key(2)))
    two.write_bytes(one.read_bytes())
    with pytest.warns(CacheWarning, match="bad signature"):
        assert f(2) == 2


def _identity(x: int) -> int:
    return x


def test_entries_signed_with_another_key_are_misses(tmp_path: Path) -> None:
    Cache(tmp_path, key="k" * 32)(_identity)(1)
    other = Cache(tmp_path, key="z" * 32)(_identity)
    with pytest.warns(CacheWarning, match="bad signature"):
        assert not other.cached(1)


def test_key_from_the_environment(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("BRINED_CACHE_KEY", "e" * 32)
    cache = Cache(tmp_path)
    assert cache.secret() == b"e" * 32
    assert not (tmp_path / "key").exists()


def test_open_entry_verifies_before_reading_the_header() -> None:
    parts = _entry.encode("k", {"function": "f"}, pickle.dumps(1), [], b"s" * 32)
    data = b"".join(parts)
    header, stream, _ = _entry.open_entry("k", data, b"s" * 32)
    assert pickle.loads(stream) == 1 and header["function"] == "f"
    with pytest.raises(_entry.Damaged):
        _entry.open_entry("k", data, b"x" * 32)


# -- ttl, lru, prune, clear, stats -------------------------------------------


def test_ttl_expires_and_prune_removes(tmp_path: Path) -> None:
    cache = Cache(tmp_path)

    @cache(ttl=0.2)
    def f(x: int) -> int:
        return x

    @cache
    def g(x: int) -> int:
        return x

    f(1)
    g(1)
    assert f.cached(1)
    import time

    time.sleep(0.3)
    assert not f.cached(1) and g.cached(1)
    assert cache.prune() == 1
    assert len(_entries(tmp_path)) == 1


def test_lru_eviction_keeps_the_recently_used(tmp_path: Path) -> None:
    cache = Cache(tmp_path)

    @cache
    def f(x: int) -> bytes:
        return bytes([x]) * 2000

    f(0)
    (first,) = _entries(tmp_path)
    cache.max_size = 3 * first.stat().st_size + 100
    f.clear()
    for x in (1, 2, 3):
        f(x)
        os.utime(cache.store.entry_path(f._folder, f.key(x)), (1000 + x, 1000 + x))
    f(1)  # a hit: 1 becomes the most recently used
    f(4)  # over the limit: 2, the least recently used, goes
    assert [f.cached(x) for x in (1, 2, 3, 4)] == [True, False, True, True]


def test_ttl_and_size_text_are_parsed() -> None:
    from brined.cache._common import parse_size, parse_ttl

    assert parse_ttl("1d") == 86400 and parse_ttl("90s") == 90 and parse_ttl(5) == 5
    assert parse_size("2MB") == 2 << 20 and parse_size(10) == 10
    for bad in ("soon", "-1s", "0"):
        with pytest.raises(ValueError):
            parse_ttl(bad)


def test_stats_clear_and_function_clear(tmp_path: Path) -> None:
    cache = Cache(tmp_path)

    @cache
    def f(x: int) -> int:
        return x

    @cache
    def g(x: int) -> int:
        return x

    f(1), f(1), f(2), g(1)
    stats = cache.stats()
    assert (stats["entries"], stats["hits"], stats["misses"]) == (3, 1, 3)
    assert stats["functions"][f._folder]["entries"] == 2
    assert f.clear() == 2 and not f.cached(1) and g.cached(1)
    assert cache.clear() == 1 and not g.cached(1)


# -- offline and failures -----------------------------------------------------


def test_stale_if_error_returns_the_expired_value(tmp_path: Path) -> None:
    cache = Cache(tmp_path, stale_if_error=True)
    state = {"fail": False}

    @cache(ttl=0.1)
    def fetch(x: int) -> int:
        if state["fail"]:
            raise ConnectionError("network down")
        return x * 10

    assert fetch(1) == 10
    import time

    time.sleep(0.2)
    state["fail"] = True
    with pytest.warns(CacheWarning, match="stale_if_error"):
        assert fetch(1) == 10
    with pytest.raises(ConnectionError):
        fetch(2)


def test_offline_serves_hits_and_raises_cache_miss(tmp_path: Path) -> None:
    def f(x: int) -> int:
        return x

    Cache(tmp_path)(f)(1)
    offline = Cache(tmp_path, offline=True)(f)
    assert offline(1) == 1
    with pytest.raises(CacheMiss, match="offline") as info:
        offline(2)
    assert info.value.function.endswith("f")


def test_offline_from_the_environment(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("BRINED_CACHE_OFFLINE", "1")

    @Cache(tmp_path)
    def f(x: int) -> int:
        return x

    with pytest.raises(CacheMiss):
        f(1)
    assert brined.CacheMiss is CacheMiss


def test_a_store_that_is_a_file_still_returns_results(tmp_path: Path) -> None:
    blocker = tmp_path / "notadir"
    blocker.write_text("x")
    cache = Cache(blocker)

    @cache
    def f(x: int) -> int:
        return x + 1

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert [f(1), f(1), f(2)] == [2, 2, 3]
    assert len([w for w in seen if issubclass(w.category, CacheWarning)]) == 1


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Any:
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = os.system(f"mount -t tmpfs -o size=64k tmpfs {mount} 2>/dev/null")
    if done != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield mount
    finally:
        os.system(f"umount {mount}")


def test_a_full_disk_still_returns_results_with_one_warning(tiny_tmpfs: Path) -> None:
    cache = Cache(tiny_tmpfs)

    @cache
    def f(x: int) -> bytes:
        return bytes([x]) * 200_000

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert f(1) == bytes([1]) * 200_000
        assert f(2) == bytes([2]) * 200_000
    assert len([w for w in seen if issubclass(w.category, CacheWarning)]) == 1
    assert list((tiny_tmpfs / "tmp").iterdir()) == []  # no partial file left
    assert _entries(tiny_tmpfs) == []


def test_memory_filesystem_store() -> None:
    pytest.importorskip("fsspec", reason="remote stores need the cache extra")
    cache = Cache("memory://brined-test-cache", key="m" * 32)
    calls: list[int] = []

    @cache
    def f(x: int) -> int:
        calls.append(x)
        return x * 3

    assert f(2) == f(2) == 6 and calls == [2]
    assert f.cached(2) and cache.stats()["entries"] == 1
    assert cache.clear() == 1 and not f.cached(2)


def test_a_remote_store_keeping_its_own_key_warns(monkeypatch: Any) -> None:
    pytest.importorskip("fsspec", reason="remote stores need the cache extra")
    monkeypatch.delenv("BRINED_CACHE_KEY", raising=False)
    cache = Cache("memory://brined-test-own-key")
    with pytest.warns(CacheWarning, match="BRINED_CACHE_KEY"):
        cache(_identity)(1)


def test_options_apply_when_the_function_is_passed_directly(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    wrapped = cache(_identity, ttl=0.01, version=3)
    wrapped(1)
    import time

    time.sleep(0.05)
    assert not wrapped.cached(1)


@Cache("/nonexistent/brined-pickle-test")
def module_level(x: int) -> int:
    return x


def test_a_decorated_function_pickles_by_reference() -> None:
    data = pickle.dumps(module_level)
    assert b"module_level" in data and pickle.loads(data) is module_level


def test_a_cache_is_not_kept_alive_by_its_exit_hook(tmp_path: Path) -> None:
    import gc
    import weakref

    cache = Cache(tmp_path)
    ref = weakref.ref(cache)
    del cache
    gc.collect()
    assert ref() is None


def test_import_brined_does_not_import_the_cache() -> None:
    import subprocess

    code = "import sys, brined; print('brined.cache' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_a_shorter_ttl_applies_to_entries_written_without_one(tmp_path: Path) -> None:
    Cache(tmp_path)(_identity)(1)
    import time

    time.sleep(0.05)
    assert Cache(tmp_path)(_identity).cached(1)
    assert not Cache(tmp_path, ttl=0.01)(_identity).cached(1)


def test_fingerprint_follows_decorated_helpers() -> None:
    source = """
    import functools

    @functools.lru_cache
    def helper(x):
        return x + 1

    def f(x):
        return helper(x)
    """
    a = _module("fph_one.mod", source).f
    b = _module("fph_one.mod", source.replace("x + 1", "x + 2")).f
    assert code_fingerprint(a) != code_fingerprint(b)


def test_a_key_file_others_can_read_is_warned_about(tmp_path: Path) -> None:
    Cache(tmp_path).secret()
    os.chmod(tmp_path / "key", 0o644)
    with pytest.warns(CacheWarning, match="chmod 600"):
        Cache(tmp_path).secret()


def _three(a: Any, b: Any = 2, *, c: Any = 3) -> Any:
    return (a, b, c)


@settings(max_examples=60, deadline=None)
@given(
    a=st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=3),
    b=st.integers(0, 4),
    ways=st.tuples(
        st.booleans(), st.sampled_from(["default", "pos", "kw"]), st.booleans()
    ),
)
def test_every_way_of_passing_the_same_arguments_gives_one_key(
    a: Any, b: int, ways: tuple[bool, str, bool]
) -> None:
    cached = Cache("/nonexistent/brined-key-test")(_three)
    a_kw, b_how, c_kw = ways
    reference = cached.key(a, b, c=3)
    args: list[Any] = [] if a_kw else [a]
    kwargs: dict[str, Any] = {"a": a} if a_kw else {}
    if b_how == "default" and b == 2:
        pass  # left to the default
    elif b_how == "pos" and not a_kw:
        args.append(b)
    else:
        kwargs["b"] = b
    if c_kw:
        kwargs["c"] = 3
    assert cached.key(*args, **kwargs) == reference
    if b == 2:
        assert cached.key(a) == reference
    assert cached.key(a, b + 1) != reference


def test_an_entry_changed_after_a_verified_hit_is_checked_again(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    f = cache(_identity)
    f(1)
    assert f(1) == 1  # verified and remembered
    (path,) = _entries(tmp_path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    st = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    with pytest.warns(CacheWarning, match="bad signature"):
        assert not f.cached(1)


def test_a_change_that_hides_its_mtime_is_served_from_the_verified_copy(
    tmp_path: Path,
) -> None:
    cache = Cache(tmp_path)
    f = cache(_identity)
    f(7)
    assert f(7) == 7
    (path,) = _entries(tmp_path)
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-40] ^= 1  # inside the pickle stream
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same inode, size, mtime
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the changed file is not even read
        assert f(7) == 7  # the bytes verified earlier, never the file's new ones
