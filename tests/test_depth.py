"""No depth limit: very deep structures pickle and load at the default recursion limit.

Deep structures are built, walked and compared with loops (Python's own `==`
and `repr` recurse).  The expected bytes of a deep list come from a model of the
C pickler's output that is first checked against `pickle.dumps` itself: in
process where C can recurse (depth <= 500), and in a subprocess with a raised
recursion limit and a large thread stack for depths that cross frame
boundaries.
"""

from __future__ import annotations

import pickle
import struct
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import brined
from tests.corpus import (
    byte_difference,
    nested_list,
    nested_mix,
    structure_mismatch,
)

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
FRAME_TARGET = 64 * 1024
DEFAULT_RECURSION_LIMIT = 1000
REPO_ROOT = Path(__file__).resolve().parent.parent
SUBPROCESS_LIST_DEPTH = 50_000  # > 32768 two-byte levels: crosses a frame at p4+
SUBPROCESS_MIX_DEPTH = 20_000


@pytest.fixture(autouse=True)
def default_recursion_limit() -> Iterator[None]:
    """Run each test at CPython's default recursion limit."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def list_depth(obj: Any) -> int:
    """How deep a single-path nested list goes; -1 if it is not one."""
    depth = 0
    while True:
        if type(obj) is not list or len(obj) > 1:
            return -1
        if not obj:
            return depth
        obj = obj[0]
        depth += 1


def deep_list_model(depth: int, proto: int) -> bytes:
    """The C pickler's bytes for nested_list(depth), built without pickling.

    Every list is EMPTY_LIST/MARK LIST plus a memo put, outermost first; then one
    APPEND per level.  From protocol 4 on, a frame is closed when it reaches 64 KiB
    and a new object starts; the APPEND run and STOP close the last frame.  Frames
    under 4 bytes have no FRAME header.
    """
    head = bytes([0x80, proto]) if proto >= 2 else b""
    tail = b"a" * depth + b"."
    if proto == 0:
        return head + b"".join(b"(lp%d\n" % i for i in range(depth + 1)) + tail
    if proto < 4:
        puts = (
            b"q" + bytes([i]) if i < 256 else b"r" + struct.pack("<I", i)
            for i in range(depth + 1)
        )
        return head + b"".join(b"]" + put for put in puts) + tail
    frames: list[bytes] = []
    per_frame = FRAME_TARGET // 2  # EMPTY_LIST MEMOIZE is two bytes
    levels = depth + 1
    while levels > per_frame:
        frames.append(b"]\x94" * per_frame)
        levels -= per_frame
    frames.append(b"]\x94" * levels + tail)
    return head + b"".join(
        (b"\x95" + struct.pack("<Q", len(f)) if len(f) >= 4 else b"") + f
        for f in frames
    )


def fail_if(problem: str | None) -> None:
    if problem is not None:
        pytest.fail(problem, pytrace=False)


# --------------------------------------------------------------------------
# C pickle's bytes at depths beyond its default limit, made in a subprocess.

_C_DEEP_SCRIPT = textwrap.dedent(
    """
    import pickle, sys, threading
    from tests.corpus import nested_list, nested_mix

    sys.setrecursionlimit(10**6)
    threading.stack_size(512 * 1024 * 1024)
    out = {}

    def work():
        deep_list = nested_list(int(sys.argv[2]))
        mix = nested_mix(int(sys.argv[3]))
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            out["list", proto] = pickle.dumps(deep_list, proto)
            out["mix", proto] = pickle.dumps(mix, proto)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    with open(sys.argv[1], "wb") as f:
        pickle.dump(out, f)
    """
)


@pytest.fixture(scope="module")
def c_deep_pickles(tmp_path_factory: pytest.TempPathFactory) -> dict[Any, bytes]:
    """C pickle.dumps of deep structures, computed in a separate process."""
    target = tmp_path_factory.mktemp("c_deep") / "pickles.bin"
    depths = [str(SUBPROCESS_LIST_DEPTH), str(SUBPROCESS_MIX_DEPTH)]
    result = subprocess.run(
        [sys.executable, "-c", _C_DEEP_SCRIPT, str(target), *depths],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=300,
    )
    if result.returncode != 0 or not target.exists():
        pytest.skip(
            f"C pickler could not reach the depth in a subprocess "
            f"(exit {result.returncode}): {result.stderr[-300:]!r}"
        )
    loaded: dict[Any, bytes] = pickle.loads(target.read_bytes())
    return loaded


# --------------------------------------------------------------------------
# The model of a deep list's pickle, checked against C.


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("depth", [0, 1, 2, 254, 255, 256, 257, 300])
def test_deep_list_model_matches_c_pickler_in_process(depth: int, proto: int) -> None:
    fail_if(
        byte_difference(
            deep_list_model(depth, proto), pickle.dumps(nested_list(depth), proto)
        )
    )


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_deep_list_model_matches_c_pickler_across_frames(
    c_deep_pickles: dict[Any, bytes], proto: int
) -> None:
    expected = c_deep_pickles["list", proto]
    fail_if(byte_difference(deep_list_model(SUBPROCESS_LIST_DEPTH, proto), expected))


# --------------------------------------------------------------------------
# brined on deep lists.


@pytest.mark.parametrize("proto", [0, 5])
def test_million_deep_list_dumps_to_model_bytes(proto: int) -> None:
    depth = 1_000_000
    data = brined.dumps(nested_list(depth), proto)
    fail_if(byte_difference(data, deep_list_model(depth, proto)))


@pytest.mark.parametrize("proto", [0, 5])
def test_million_deep_list_loads_back_at_default_limit(proto: int) -> None:
    depth = 1_000_000
    loaded = brined.loads(deep_list_model(depth, proto))
    assert list_depth(loaded) == depth


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_100k_deep_list_round_trips_through_brined(proto: int) -> None:
    depth = 100_000
    data = brined.dumps(nested_list(depth), proto)
    fail_if(byte_difference(data, deep_list_model(depth, proto)))
    assert list_depth(brined.loads(data)) == depth


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_c_deep_list_pickle_loads_in_brined(
    c_deep_pickles: dict[Any, bytes], proto: int
) -> None:
    loaded = brined.loads(c_deep_pickles["list", proto])
    assert list_depth(loaded) == SUBPROCESS_LIST_DEPTH


# --------------------------------------------------------------------------
# Deep mixes of dicts, tuples and instances.


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_shallow_mix_dumps_equal_c_pickler(proto: int) -> None:
    mix = nested_mix(300)
    expected = pickle.dumps(mix, proto)
    fail_if(byte_difference(brined.dumps(mix, proto), expected))


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_deep_mix_dumps_equal_c_pickler_from_subprocess(
    c_deep_pickles: dict[Any, bytes], proto: int
) -> None:
    data = brined.dumps(nested_mix(SUBPROCESS_MIX_DEPTH), proto)
    fail_if(byte_difference(data, c_deep_pickles["mix", proto]))


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_c_deep_mix_pickle_loads_in_brined(
    c_deep_pickles: dict[Any, bytes], proto: int
) -> None:
    loaded = brined.loads(c_deep_pickles["mix", proto], trusted=True)
    original = nested_mix(SUBPROCESS_MIX_DEPTH)
    fail_if(structure_mismatch(original, loaded, str_sharing=False))


@pytest.mark.parametrize("proto", [2, 5])
def test_100k_deep_mix_round_trips_through_brined(proto: int) -> None:
    mix = nested_mix(100_000)
    loaded = brined.loads(brined.dumps(mix, proto), trusted=True)
    fail_if(structure_mismatch(mix, loaded, str_sharing=False))


# --------------------------------------------------------------------------
# The default limits: any nest the C pickler writes loads under brined.loads.


def nested_plain_mix(depth: int) -> Any:
    """`depth` levels cycling through list, dict and tuple (plain data only:
    the default safe load needs no allowance for it)."""
    x: Any = "leaf"
    for level in range(depth):
        kind = level % 3
        if kind == 0:
            x = [x, level]
        elif kind == 1:
            x = {"k": x, "n": level}
        else:
            x = (x, level)
    return x


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_plain_mix_dumps_equal_c_pickler_in_process(proto: int) -> None:
    mix = nested_plain_mix(300)
    fail_if(byte_difference(brined.dumps(mix, proto), pickle.dumps(mix, proto)))


def check_plain_mix_loads_under_default_limits(depth: int, proto: int) -> None:
    # brined.dumps is byte-identical to the C pickler (checked above and by the
    # differential suite); C itself cannot dump this deep at the default
    # recursion limit.  Loading with the defaults and dumping again must give
    # back the same bytes.
    data = brined.dumps(nested_plain_mix(depth), proto)
    loaded = brined.loads(data)
    fail_if(byte_difference(brined.dumps(loaded, proto), data))


@pytest.mark.parametrize("proto", [0, 1, 5])
def test_100k_deep_plain_mix_loads_under_default_limits(proto: int) -> None:
    # Protocols 0 and 1 keep a MARK open per dict and tuple level.
    check_plain_mix_loads_under_default_limits(100_000, proto)


@pytest.mark.slow
@pytest.mark.parametrize("proto", PROTOCOLS)
def test_million_deep_plain_mix_loads_under_default_limits(proto: int) -> None:
    check_plain_mix_loads_under_default_limits(1_000_000, proto)


def test_max_depth_is_unbounded_by_default_and_still_settable() -> None:
    assert brined.Limits().max_depth is None
    data = b"(" * 5 + b"l" * 5 + b"."
    with pytest.raises(brined.LimitExceededError, match="max_depth=4"):
        brined.loads(data, limits=brined.Limits(max_depth=4))
    assert brined.loads(data, limits=brined.Limits(max_depth=5)) == [[[[[]]]]]
