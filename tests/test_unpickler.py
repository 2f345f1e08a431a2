"""Tests for brined's unpickler: the stdlib pickler is the oracle throughout."""

from __future__ import annotations

import collections
import contextlib
import copyreg
import datetime
import decimal
import fractions
import io
import pickle
import random
import struct
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brined
from brined import (
    MalformedPickleError,
    TruncatedPickleError,
    UnpicklingError,
)

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


# -- readers ---------------------------------------------------------------------


class MinimalReader:
    """Only read(n) and readline(): no peek, no seek, no readinto."""

    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)

    def read(self, n: int) -> bytes:
        return self._f.read(n)

    def readline(self) -> bytes:
        return self._f.readline()

    def rest(self) -> bytes:
        return self._f.read()


class UnseekableIO(io.BytesIO):
    """Like CPython's test helper: peek raises NotImplementedError, no seeking."""

    def peek(self, *args: Any) -> bytes:
        raise NotImplementedError

    def seekable(self) -> bool:
        return False

    def seek(self, *args: Any) -> int:
        raise io.UnsupportedOperation

    def tell(self) -> int:
        raise io.UnsupportedOperation


def _buffered(data: bytes) -> io.BufferedReader:
    # A small buffer so peeks come back short and refills are exercised.
    return io.BufferedReader(io.BytesIO(data), buffer_size=16)  # type: ignore[arg-type]


READERS = {
    "loads": None,
    "bytesio": io.BytesIO,
    "buffered": _buffered,
    "minimal": MinimalReader,
    "unseekable": UnseekableIO,
}


def load_with(kind: str, data: bytes, **kw: Any) -> Any:
    factory = READERS[kind]
    if factory is None:
        return brined.loads(data, **kw)
    return brined.load(factory(data), **kw)


# -- objects ---------------------------------------------------------------------


def plain_objects() -> list[Any]:
    """Values of every type the default policy admits."""
    shared = [1, 2]
    cyc: list[Any] = [0]
    cyc.append(cyc)
    d: dict[str, Any] = {}
    d["self"] = d
    return [
        None,
        True,
        False,
        0,
        -1,
        255,
        256,
        65535,
        65536,
        -(2**31),
        2**31 - 1,
        2**31,
        2**64,
        -(2**200),
        0.0,
        -1.5,
        float("inf"),
        1e300,
        "",
        "ascii",
        "h\u00e9llo \u20ac \U0001f600",
        "lone \ud800 surrogate",
        "x" * 300,
        b"",
        b"\x00\xff" * 200,
        bytearray(b"abc"),
        bytearray(300),
        (),
        (1,),
        (1, 2),
        (1, 2, 3),
        tuple(range(10)),
        [],
        list(range(2500)),
        {},
        {i: str(i) for i in range(2500)},
        set(),
        set(range(2500)),
        frozenset(),
        frozenset([1, "a"]),
        complex(1, -2),
        [shared, shared, (shared,)],
        cyc,
        d,
        collections.OrderedDict(a=1, b=[2]),
        collections.defaultdict(list, a=[1]),
        collections.Counter("abracadabra"),
        collections.deque([1, 2, 3], maxlen=5),
        datetime.datetime(2024, 2, 29, 12, 30, 1, 5),
        datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
        datetime.date(1999, 12, 31),
        datetime.time(23, 59),
        datetime.timedelta(days=-3, seconds=5),
        datetime.timezone(datetime.timedelta(hours=5), "X"),
        decimal.Decimal("-1.25E+7"),
        fractions.Fraction(-7, 3),
        NotImplemented,
        Ellipsis,
    ]


def assert_same_shape(a: Any, b: Any) -> None:
    """Equal, same types, and the same sharing/cycles (iterative, by position)."""
    pairs = [(a, b)]
    seen: dict[int, int] = {}
    while pairs:
        x, y = pairs.pop()
        assert type(x) is type(y)
        if isinstance(x, (list, tuple, dict, set, frozenset, bytearray)):
            if id(x) in seen:
                assert seen[id(x)] == id(y)
                continue
            seen[id(x)] = id(y)
        if isinstance(x, (list, tuple)):
            assert len(x) == len(y)
            pairs.extend(zip(x, y, strict=True))
        elif isinstance(x, dict):
            assert list(x) == list(y)
            pairs.extend(zip(x.values(), y.values(), strict=True))
        elif isinstance(x, float) and x != x:
            assert y != y
        else:
            assert x == y


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("kind", list(READERS))
def test_round_trip_plain_data(proto: int, kind: str) -> None:
    for obj in plain_objects():
        data = pickle.dumps(obj, proto)
        assert_same_shape(obj, load_with(kind, data))


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_loads_accepts_bytes_like(proto: int) -> None:
    data = pickle.dumps({"a": [1, 2.5, "x"]}, proto)
    for form in (data, bytearray(data), memoryview(data)):
        assert brined.loads(form) == {"a": [1, 2.5, "x"]}
    with pytest.raises(TypeError):
        brined.loads("not bytes")


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and vars(self) == vars(other)


class Slotted:
    __slots__ = ("a", "b")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Slotted) and all(
            getattr(self, k, None) == getattr(other, k, None) for k in self.__slots__
        )


class Outer:
    class Inner:
        pass


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_trusted_round_trip_of_classes(proto: int) -> None:
    s = Slotted()
    s.a = 1
    objs: list[Any] = [Point(1, [2]), Outer.Inner, Point, len, collections.UserDict]
    if proto >= 2:  # __slots__ without __getstate__ needs protocol 2
        objs.append(s)
    for obj in objs:
        data = pickle.dumps(obj, proto)
        for kind in READERS:
            got = load_with(kind, data, trusted=True)
            if isinstance(obj, type) or callable(obj) and not isinstance(obj, Point):
                assert got is obj
            else:
                assert got == obj


# -- malformed input ---------------------------------------------------------------

# Small pickles, so that every truncation of each can be tried in seconds.
SMALL = [o for o in plain_objects() if len(pickle.dumps(o, 0)) < 120]
VALID = [pickle.dumps(SMALL, p) for p in PROTOCOLS] + [
    pickle.dumps(Point(1, 2), p) for p in PROTOCOLS
]


@pytest.mark.parametrize("kind", ["loads", "buffered", "minimal"])
def test_every_truncation_fails_cleanly(kind: str) -> None:
    for data in VALID:
        for cut in range(len(data)):
            with pytest.raises(UnpicklingError) as info:
                load_with(kind, data[:cut], trusted=True)
            assert isinstance(info.value, (TruncatedPickleError, MalformedPickleError))


def test_empty_input_is_eoferror() -> None:
    for kind in READERS:
        with pytest.raises(EOFError, match="Ran out of input") as info:
            load_with(kind, b"")
        assert isinstance(info.value, TruncatedPickleError)


def _flip_check(data: bytes, position: int, value: int) -> None:
    mutated = bytearray(data)
    mutated[position % len(mutated)] = value
    with contextlib.suppress(UnpicklingError):
        brined.loads(bytes(mutated))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(VALID) - 1),
    position=st.integers(0, 10**6),
    value=st.integers(0, 255),
)
def test_random_byte_flip_gives_value_or_unpickling_error(
    which: int, position: int, value: int
) -> None:
    _flip_check(VALID[which], position, value)


def test_many_seeded_byte_flips() -> None:
    rng = random.Random(1234)
    for _ in range(3000):
        data = rng.choice(VALID)
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        with contextlib.suppress(UnpicklingError):
            brined.loads(bytes(mutated))


def error_for(data: bytes, **kw: Any) -> UnpicklingError:
    with pytest.raises(UnpicklingError) as info:
        brined.loads(data, **kw)
    return info.value


@pytest.mark.parametrize(
    ("data", "opcode", "offset", "text"),
    [
        (b"\x80\x04h\x05.", "BINGET", 2, "Memo value not found at index 5"),
        (b"\x80\x04j\x00\x01\x00\x00.", "LONG_BINGET", 2, "Memo value not found"),
        (b"g7\n.", "GET", 0, "Memo value not found at index 7"),
        (b"\x80\x04N\xff", None, 3, "invalid load key"),
        (b"\x80\x09.", "PROTO", 0, "unsupported pickle protocol: 9"),
        (b"S'abc\n.", "STRING", 0, "must be quoted"),
        (b"X\x02\x00\x00\x00\xff\xfe.", "BINUNICODE", 0, "utf-8"),
        (b"T\xff\xff\xff\xff.", "BINSTRING", 0, "negative byte count"),
        (b"\x8b\xff\xff\xff\xff.", "LONG4", 0, "negative byte count"),
        (b"N0.", "STOP", 2, "stack underflow"),
        (b"a", "APPEND", 0, "stack underflow"),
        (b"N(2", "DUP", 2, "unexpected MARK found"),
        (b"Nt.", "TUPLE", 1, "could not find MARK"),
        (b"]Ne.", "APPENDS", 2, "could not find MARK"),
        (b"N00.", "POP", 2, "stack underflow"),
        (b"1.", "POP_MARK", 0, "could not find MARK"),
        (b"\x95" + b"\xff" * 8, "FRAME", 0, "exceeds"),
        (b"}(Nu.", "SETITEMS", 3, "odd number of items"),
        (b"Vp\np-1\n.", "PUT", 3, "negative PUT"),
        (b"I12x\n.", "INT", 0, "invalid literal"),
        (b"\x80\x04K\x01K\x02\x93.", "STACK_GLOBAL", 6, "requires str"),
        (b"\x80\x04N)\x81.", "NEWOBJ", 4, "must be a type"),
        (b"\x84\x00\x00\x00\x00.", "EXT4", 0, "code <= 0"),
    ],
)
def test_malformed_errors_name_opcode_and_offset(
    data: bytes, opcode: str | None, offset: int, text: str
) -> None:
    for trusted in (False, True):
        err = error_for(data, trusted=trusted)
        assert isinstance(err, MalformedPickleError)
        assert text in str(err)
        assert err.offset == offset
        assert err.opcode == opcode
        assert f"offset {offset}" in str(err)


def test_offsets_count_from_start_of_this_pickle() -> None:
    stream = io.BytesIO(pickle.dumps([1, 2], 4) + b"\x80\x04h\x09.")
    assert brined.load(stream) == [1, 2]
    with pytest.raises(MalformedPickleError) as info:
        brined.load(stream)
    assert info.value.offset == 2


@pytest.mark.parametrize("kind", list(READERS))
def test_huge_length_fails_fast_without_allocating(kind: str) -> None:
    for data in (
        b"\x80\x04\x8e" + struct.pack("<Q", 4 << 30) + b"x",
        b"\x80\x04\x8d" + struct.pack("<Q", 4 << 30) + b"x",
        b"\x80\x05\x96" + struct.pack("<Q", 4 << 30) + b"x",
        b"\x80\x04\x95" + struct.pack("<Q", 4 << 30) + b"N.",
        b"\x80\x03B\xff\xff\xff\xffx",
        b"\x80\x03X\xff\xff\xff\xffx",
    ):
        with pytest.raises(TruncatedPickleError):
            load_with(kind, data)


def test_truncated_is_eoferror_and_names_opcode() -> None:
    err = error_for(b"\x80\x04\x8c\x05ab")
    assert isinstance(err, EOFError)
    assert err.opcode == "SHORT_BINUNICODE"
    assert err.offset == 2
    assert "truncated" in str(err)


def test_user_callable_errors_propagate_when_trusted() -> None:
    with pytest.raises(TypeError):
        brined.loads(b"N)R.", trusted=True)
    with pytest.raises(ValueError) as info:
        brined.loads(b"cbuiltins\nint\n(Vx\ntR.", trusted=True)
    assert not isinstance(info.value, UnpicklingError)


def test_user_callable_errors_are_wrapped_when_untrusted() -> None:
    err = error_for(b"cbuiltins\nint\n(Vx\ntR.")
    assert isinstance(err.__cause__, ValueError)
    assert err.opcode == "REDUCE"
    # A callee that no global lookup produced is refused before any call.
    with pytest.raises(brined.UnsafeOperationError) as info:
        brined.loads(b"N)R.")
    assert info.value.rule == "callee"
    assert info.value.opcode == "REDUCE"


def test_trailing_bytes_after_stop_are_ignored() -> None:
    assert brined.loads(b"K\x07.garbage\xff") == 7


# -- nesting -----------------------------------------------------------------------


def _depth(obj: Any) -> int:
    n = 0
    while obj:
        obj = obj[0]
        n += 1
    return n


def test_million_nested_lists_via_append() -> None:
    n = 1_000_000
    data = b"\x80\x04" + b"]" * n + b"a" * (n - 1) + b"."
    limit = sys.getrecursionlimit()
    assert _depth(brined.loads(data)) == n - 1
    assert sys.getrecursionlimit() == limit


def test_million_nested_lists_via_marks_when_trusted() -> None:
    n = 1_000_000
    data = b"(" * n + b"l" * n + b"."
    assert _depth(brined.loads(data, trusted=True)) == n - 1


def test_million_open_marks_load_under_default_limits() -> None:
    n = 1_000_000
    data = b"(" * n + b"l" * n + b"."
    assert _depth(brined.loads(data)) == n - 1


def test_open_marks_are_limited_when_asked() -> None:
    n = 1_000
    ok = b"(" * n + b"l" * n + b"."
    limits = brined.Limits(max_depth=n)
    assert _depth(brined.loads(ok, limits=limits)) == n - 1
    with pytest.raises(brined.LimitExceededError) as info:
        brined.loads(b"(" + ok, limits=limits)
    assert info.value.limit == "max_depth"


def test_deep_nesting_from_c_pickler() -> None:
    # The C pickler itself recurses, so stay under the recursion limit.
    depth = sys.getrecursionlimit() // 4
    obj: list[Any] = []
    for _ in range(depth):
        obj = [obj]
    for proto in PROTOCOLS:
        data = pickle.dumps(obj, proto)
        assert _depth(brined.loads(data)) == depth
        assert _depth(brined.load(io.BytesIO(data))) == depth


# -- streams -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bytesio", "buffered", "minimal", "unseekable"])
def test_several_pickles_in_one_stream(kind: str) -> None:
    objs = [[1, 2], "x" * 100_000, {"k": list(range(3000))}, None, b"end"]
    data = b"".join(pickle.dumps(o, p) for p in PROTOCOLS for o in objs)
    f = READERS[kind](data)  # type: ignore[misc]
    got = []
    with pytest.raises(EOFError):
        while True:
            got.append(brined.load(f))
    assert got == objs * len(PROTOCOLS)


def test_file_position_is_just_past_stop(tmp_path: Any) -> None:
    first = pickle.dumps(list(range(100)), 2)
    second = pickle.dumps({"a": "b" * 70_000}, 5)
    path = tmp_path / "p.bin"
    path.write_bytes(first + second + b"tail")
    with open(path, "rb") as f:
        assert brined.load(f) == list(range(100))
        assert f.tell() == len(first)
        assert brined.load(f) == {"a": "b" * 70_000}
        assert f.read() == b"tail"
    bio = io.BytesIO(first + b"tail")
    brined.load(bio)
    assert bio.read() == b"tail"
    minimal = MinimalReader(first + b"tail")
    brined.load(minimal)
    assert minimal.rest() == b"tail"


def test_one_unpickler_loads_several_times() -> None:
    f = io.BytesIO(pickle.dumps(1, 2) + pickle.dumps("two", 4) + pickle.dumps(3, 0))
    u = brined.Unpickler(f)
    assert [u.load(), u.load(), u.load()] == [1, "two", 3]


def test_frame_read_from_file_once() -> None:
    data = pickle.dumps(["y" * 1000] * 3 + list(range(50_000)), 4)
    reads: list[int] = []

    class Counting(MinimalReader):
        def read(self, n: int) -> bytes:
            reads.append(n)
            return super().read(n)

    assert brined.load(Counting(data))[3:] == list(range(50_000))
    # A frame is one read: far fewer reads than opcodes.
    assert len(reads) < 200


# -- API details -------------------------------------------------------------------


def test_default_persistent_load_message() -> None:
    err = error_for(b"Pabc\n.")
    assert "no persistent_load function was specified" in str(err)


def test_persistent_load_as_method_and_attribute() -> None:
    class P(brined.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            return ("method", pid)

    assert P(io.BytesIO(b"Pabc\n.")).load() == ("method", "abc")
    u = brined.Unpickler(io.BytesIO(b"\x80\x04\x8c\x03xyzQ."))
    u.persistent_load = lambda pid: ("attr", pid)  # type: ignore[method-assign]
    assert u.load() == ("attr", "xyz")


def test_memo_can_be_primed_and_read() -> None:
    u = brined.Unpickler(io.BytesIO(b"\x80\x04h\x03\x94."))
    u.memo = {3: "primed"}
    assert u.load() == "primed"
    assert u.memo == {3: "primed", 1: "primed"}


def test_memo_proxy_is_a_live_mapping() -> None:
    # The memo is a list for indices stored in order plus a dict for any
    # other key; the proxy must behave as one dict over both.
    u = brined.Unpickler(io.BytesIO(b"\x80\x04\x8c\x01a\x94\x8c\x01b\x94\x86."))
    assert u.load() == ("a", "b")
    memo = u.memo
    assert dict(memo) == {0: "a", 1: "b"} and len(memo) == 2
    memo[5] = "sparse"
    memo[2] = "next"
    assert memo.copy() == {0: "a", 1: "b", 2: "next", 5: "sparse"}
    del memo[1]
    assert memo.copy() == {0: "a", 2: "next", 5: "sparse"}
    with pytest.raises(KeyError):
        memo[1]
    with pytest.raises(KeyError):
        del memo[7]
    memo.clear()
    assert len(u.memo) == 0 and u.memo.copy() == {}


def test_memo_assignment_copies_a_dict_or_proxy() -> None:
    first = brined.Unpickler(io.BytesIO(b"\x80\x04\x8c\x01x\x94."))
    first.load()
    second = brined.Unpickler(io.BytesIO(b"\x80\x04h\x00."))
    second.memo = first.memo
    assert second.load() == "x"
    first.memo.clear()
    assert second.memo.copy() == {0: "x"}
    with pytest.raises(TypeError):
        second.memo = [1, 2]


def test_sparse_and_out_of_order_memo_indices() -> None:
    # BINPUT 3, then 0, then GETs of both; MEMOIZE after a sparse key stores
    # at len(memo), as the stdlib does.
    data = b"\x80\x02X\x01\x00\x00\x00aq\x03X\x01\x00\x00\x00bq\x00\x94h\x03h\x00\x87."
    assert brined.loads(data) == ("b", "a", "b")
    u = brined.Unpickler(io.BytesIO(data))
    u.load()
    assert u.memo.copy() == {3: "a", 0: "b", 2: "b"}


def test_missing_memo_index_names_it() -> None:
    for data in (b"\x80\x04h\x05.", b"\x80\x04j\x00\x01\x00\x00."):
        with pytest.raises(MalformedPickleError, match="Memo value not found at index"):
            brined.loads(data)


def test_init_not_called() -> None:
    class Bad(brined.Unpickler):
        def __init__(self) -> None:
            pass

    with pytest.raises(UnpicklingError, match="was not called"):
        Bad().load()


def test_python2_strings() -> None:
    assert brined.loads(b"S'a\\x00\\xa0'\n.", encoding="bytes") == b"a\x00\xa0"
    assert brined.loads(b"U\x03a\x00\xa0.", encoding="latin1") == "a\x00\xa0"
    assert brined.loads(b"\x80\x02U\x03abc.") == "abc"
    err = error_for(b"U\x01\xa0.")
    assert isinstance(err, MalformedPickleError)
    assert isinstance(err.__cause__, UnicodeDecodeError)


def test_python2_datetime_with_latin1() -> None:
    # Python 2: pickle.dumps(datetime.datetime(2015, 1, 2, 3, 4, 5), 2)
    data = (
        b"\x80\x02cdatetime\ndatetime\nq\x00U\n\x07\xdf\x01\x02\x03\x04\x05"
        b"\x00\x00\x00q\x01\x85q\x02Rq\x03."
    )
    got = brined.loads(data, encoding="latin1")
    assert got == datetime.datetime(2015, 1, 2, 3, 4, 5)


def test_fix_imports() -> None:
    data = b"\x80\x02c__builtin__\nset\n]K\x01a\x85R."
    assert brined.loads(data) == {1}
    with pytest.raises(ModuleNotFoundError):
        brined.loads(data, fix_imports=False, trusted=True)
    data = b"\x80\x02c__builtin__\nxrange\nK\x01K\x07K\x01\x87R."
    assert brined.loads(data, allow="range") == range(1, 7)


def test_dotted_names_walk_only_at_protocol_4() -> None:
    data4 = pickle.dumps(Outer.Inner, 4)
    assert brined.loads(data4, trusted=True) is Outer.Inner
    data2 = b"c" + __name__.encode() + b"\nOuter.Inner\n."
    with pytest.raises(AttributeError):
        brined.loads(data2, trusted=True)


def test_out_of_band_buffers() -> None:
    payload = pickle.PickleBuffer(bytearray(b"abc"))
    bufs: list[Any] = []
    data = pickle.dumps(payload, 5, buffer_callback=bufs.append)
    got = brined.loads(data, buffers=[memoryview(bytearray(b"abc"))])
    assert bytes(got) == b"abc"
    with pytest.raises(UnpicklingError, match="no \\*buffers\\*"):
        brined.loads(data)
    with pytest.raises(UnpicklingError, match="not enough"):
        brined.loads(data, buffers=[])
    ro = brined.loads(b"\x80\x05\x97\x98.", buffers=[bytearray(b"xy")])
    assert isinstance(ro, memoryview) and ro.readonly


@pytest.fixture
def extension() -> Any:
    key = ("collections", "OrderedDict")
    copyreg.add_extension(*key, 0x7FFF_0001)
    try:
        yield 0x7FFF_0001
    finally:
        copyreg.remove_extension(*key, 0x7FFF_0001)


def test_ext4(extension: int) -> None:
    data = pickle.dumps(collections.OrderedDict(a=1), 2)
    assert b"\x84" in data
    assert brined.loads(data) == collections.OrderedDict(a=1)


def test_ext_refused_by_policy() -> None:
    copyreg.add_extension("os", "getcwd", 0x7FFF_0002)
    try:
        err = error_for(b"\x80\x02\x84\x02\x00\xff\x7f)R.")
        assert isinstance(err, brined.UnsafeGlobalError)
        assert err.opcode == "EXT4"
    finally:
        copyreg.remove_extension("os", "getcwd", 0x7FFF_0002)


def test_unregistered_extension() -> None:
    err = error_for(b"\x82\x05.")
    assert "unregistered extension code 5" in str(err)
    assert isinstance(err, ValueError)


def test_bad_file() -> None:
    with pytest.raises(TypeError):
        brined.Unpickler(object())
