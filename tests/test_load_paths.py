"""Loading errors say where in the object being built they happened.

Each pickle is made by the stdlib (or hand-built from one) so that the failure
is at a known place; `pickletools.genops` locates the failing opcode, so the
byte offset is checked against the stdlib's own reading of the bytes.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brined
from brined.errors import (
    LimitExceededError,
    MalformedPickleError,
    TruncatedPickleError,
    UnpicklingError,
    UnsafeGlobalError,
)


class Evil:
    """A class the default policy refuses."""


class BadState:
    def __init__(self) -> None:
        self.x = 1

    def __setstate__(self, state: Any) -> None:
        raise ValueError("this state is refused")


def _boom(x: int) -> None:
    raise RuntimeError("the constructor failed")


class Boom:
    def __reduce__(self) -> Any:
        return (_boom, (1,))


def _offsets(data: bytes, name: str) -> list[int]:
    return [pos for op, _, pos in pickletools.genops(data) if op.name == name]


def _global_offset(data: bytes, name: str = "Evil") -> int:
    """Where the stdlib's reading of `data` first names the class `name`."""
    last_text = None
    for op, arg, pos in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST") and str(arg).endswith(f" {name}"):
            return pos
        if op.name == "STACK_GLOBAL" and last_text == name:
            return pos
        if isinstance(arg, str):
            last_text = arg
    raise AssertionError(f"{name} is not named in the pickle")


def _error(data: bytes, **kwargs: Any) -> BaseException:
    with pytest.raises(Exception) as info:
        brined.loads(data, **kwargs)
    return info.value


NESTED = "root['a'][1]['weights']"
NESTED_NOTE = (
    "while building dict value 'weights' of the list item 1 of the dict value "
    "'a' of the root"
)


@pytest.mark.parametrize("proto", [2, 3, 4, 5])
def test_refused_global_names_the_dict_value_it_builds(proto: int) -> None:
    data = pickle.dumps({"a": [1, {"weights": Evil()}]}, protocol=proto)
    err = _error(data)
    assert type(err) is UnsafeGlobalError
    assert err.path == NESTED
    assert err.__notes__ == [NESTED_NOTE, f"path: {NESTED}"]
    assert err.offset == _global_offset(data)


@pytest.mark.parametrize("proto", [0, 1])
def test_refused_global_in_reconstructor_arguments_says_so(proto: int) -> None:
    # Protocols 0 and 1 write copyreg._reconstructor(Evil, object, None):
    # the refused class is the first reconstructor argument.
    data = pickle.dumps({"a": [1, {"weights": Evil()}]}, protocol=proto)
    err = _error(data)
    assert type(err) is UnsafeGlobalError
    assert err.path == NESTED + ".__reduce_ex__(5)[1][0]"
    assert err.__notes__[0] == (
        "while building tuple item 0 of the object reconstructor arguments of "
        "the " + NESTED_NOTE.removeprefix("while building ")
    )


def test_refused_global_from_a_file_has_the_same_path() -> None:
    data = pickle.dumps({"a": [1, {"weights": Evil()}]}, protocol=5)
    with pytest.raises(UnsafeGlobalError) as info:
        brined.load(io.BytesIO(data))
    assert info.value.path == NESTED


@pytest.mark.parametrize("proto", [2, 5])
def test_truncated_input_names_the_list_item_it_ends_in(proto: int) -> None:
    # Framed (5) or not (2), the stream ends inside the argument of the
    # opcode that pushes the 77.
    data = pickle.dumps([1, [2, [3, 4, 77]]], protocol=proto)
    five = [pos for op, arg, pos in pickletools.genops(data) if arg == 77][0]
    err = _error(data[: five + 1])
    assert isinstance(err, TruncatedPickleError)
    assert isinstance(err, EOFError)
    assert err.path == "root[1][1][2]"
    assert err.__notes__[0] == (
        "while building list item 2 of the list item 1 of the list item 1 of the root"
    )


def test_truncated_between_opcodes_names_the_list_being_filled() -> None:
    data = pickle.dumps([1, [2, [3, 4, 77]]], protocol=2)
    five = [pos for op, arg, pos in pickletools.genops(data) if arg == 77][0]
    err = _error(data[:five])
    assert isinstance(err, TruncatedPickleError)
    assert err.offset == five
    assert err.path == "root[1][1]"


@pytest.mark.parametrize("proto", [2, 5])
def test_failing_setstate_names_the_dict_value(proto: int) -> None:
    data = pickle.dumps({"k": [0, {"w": BadState()}]}, protocol=proto)
    err = _error(data, allow=[BadState])
    assert type(err) is MalformedPickleError
    assert err.offset == _offsets(data, "BUILD")[-1]
    assert err.path == "root['k'][1]['w']"
    assert err.__notes__[0] == (
        "while building dict value 'w' of the list item 1 of the dict value 'k' "
        "of the root"
    )


def test_failing_setstate_in_a_trusted_load_keeps_its_type_and_gets_the_path() -> None:
    data = pickle.dumps({"k": [0, {"w": BadState()}]}, protocol=5)
    err = _error(data, trusted=True)
    with pytest.raises(ValueError, match="this state is refused"):
        pickle.loads(data)
    assert type(err) is ValueError
    assert err.path == "root['k'][1]['w']"  # type: ignore[attr-defined]


def test_failing_constructor_names_the_item_it_builds() -> None:
    data = pickle.dumps(("a", [Boom()]), protocol=5)
    err = _error(data, trusted=True)
    assert type(err) is RuntimeError
    assert err.path == "root[1][0]"  # type: ignore[attr-defined]
    assert (
        err.__notes__[0] == "while building list item 0 of the tuple item 1 of the root"
    )


def test_missing_memo_key_deep_in_a_tuple_names_the_tuple_item() -> None:
    shared = [1, 2]
    data = pickle.dumps((1, (2, (3, shared, shared))), protocol=2)
    (get,) = _offsets(data, "BINGET")
    bad = data[: get + 1] + b"\x63" + data[get + 2 :]
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(bad)
    err = _error(bad)
    assert isinstance(err, MalformedPickleError)
    assert err.offset == get
    assert err.path == "root[1][1][2]"
    assert err.__notes__[0] == (
        "while building tuple item 2 of the tuple item 1 of the tuple item 1 of "
        "the root"
    )


def test_limit_names_the_value_that_reached_it() -> None:
    data = pickle.dumps({"a": [1, 10**15]}, protocol=0)
    (long_at,) = _offsets(data, "LONG")
    err = _error(data, limits=brined.Limits(max_int_digits=10))
    assert type(err) is LimitExceededError
    assert err.limit == "max_int_digits"
    assert err.offset == long_at
    assert err.path == "root['a'][1]"


def test_state_keys_read_as_attributes() -> None:
    class_state = {"name": "x", "inner": {"w": Evil()}}
    data = pickle.dumps([BadStateHolder(class_state)], protocol=5)
    err = _error(data, allow=[BadStateHolder])
    assert type(err) is UnsafeGlobalError
    assert err.path == "root[0].inner['w']"


class BadStateHolder:
    def __init__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self) -> None:
        self.a = 1
        self.b = {"w": Evil()}


class TupleState:
    def __getstate__(self) -> Any:
        return (1, 2, Evil())

    def __setstate__(self, state: Any) -> None:
        pass


def test_slot_state_reads_as_attributes() -> None:
    data = pickle.dumps([Slotted()], protocol=5)
    err = _error(data, allow=[Slotted])
    assert err.path == "root[0].b['w']"  # type: ignore[attr-defined]
    assert err.__notes__[0] == (
        "while building dict value 'w' of the attribute 'b' of the "
        f"{__name__}.Slotted state of the list item 0 of the root"
    )


def test_other_state_is_what_getstate_returned() -> None:
    data = pickle.dumps([TupleState()], protocol=5)
    err = _error(data, allow=[TupleState])
    assert err.path == "root[0].__getstate__()[2]"  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", [set, frozenset])
def test_set_element_and_dict_key_are_named(kind: type) -> None:
    data = pickle.dumps({"s": kind({1, Evil()})}, protocol=5)
    assert _error(data).path == "root['s']<element>"  # type: ignore[attr-defined]
    data = pickle.dumps([{Evil(): 1}], protocol=5)
    assert _error(data).path == "root[0]<key>"  # type: ignore[attr-defined]


def test_an_error_with_no_object_has_no_path() -> None:
    err = _error(b"")
    assert isinstance(err, UnpicklingError)
    assert err.path is None
    assert not getattr(err, "__notes__", None)


DEPTH = 10**5


@pytest.mark.timeout(120)
def test_path_through_100000_nested_lists() -> None:
    obj: list[Any] = []
    cur = obj
    for _ in range(DEPTH):
        nxt: list[Any] = []
        cur.append(nxt)
        cur = nxt
    cur.append(Evil())
    data = brined.dumps(obj, protocol=5)
    err = _error(data)
    assert type(err) is UnsafeGlobalError
    assert err.path == "root" + "[0]" * (DEPTH + 1)
    assert err.__notes__[0].endswith(f"({DEPTH + 1 - 12} more levels) of the root")


@pytest.mark.timeout(120)
def test_path_under_100000_open_marks_stays_bounded() -> None:
    # 10^5 MARKs then a refused global and the end of the input.
    data = b"\x80\x02" + b"(" * DEPTH + b"c" + Evil.__module__.encode() + b"\nEvil\n"
    err = _error(data)
    assert type(err) is UnsafeGlobalError
    assert err.offset == 2 + DEPTH


# -- Hypothesis: a refused object planted at a random path ------------------------

_FILLER = st.one_of(
    st.integers(-5, 300), st.text(max_size=3), st.lists(st.integers(0, 9), max_size=2)
)
_STEP = st.one_of(
    st.tuples(
        st.just("list"), st.lists(_FILLER, max_size=3), st.lists(_FILLER, max_size=3)
    ),
    st.tuples(
        st.just("tuple"), st.lists(_FILLER, max_size=3), st.lists(_FILLER, max_size=3)
    ),
    st.tuples(
        st.just("dict"),
        st.text(min_size=1, max_size=4),
        st.dictionaries(st.text(max_size=3), _FILLER, max_size=3),
    ),
)


def _plant(steps: list[Any]) -> tuple[Any, str]:
    """The object with an `Evil` at the path the steps describe, and that path."""
    obj: Any = Evil()
    texts: list[str] = []
    for kind, a, b in reversed(steps):
        if kind == "dict":
            others = {k: v for k, v in b.items() if k != a}
            obj = {**others, a: obj}
            texts.append(f"[{a!r}]")
        else:
            items = [*a, obj, *b]
            obj = tuple(items) if kind == "tuple" else items
            texts.append(f"[{len(a)}]")
    return obj, "root" + "".join(reversed(texts))


@settings(max_examples=150, deadline=None)
@given(st.lists(_STEP, max_size=6), st.integers(0, 5), st.booleans())
def test_refused_object_at_a_random_path_is_named(
    steps: list[Any], proto: int, from_file: bool
) -> None:
    obj, path = _plant(steps)
    if proto < 2:
        # copyreg._reconstructor(Evil, object, None): the class is the first
        # reconstructor argument.
        path += ".__reduce_ex__(5)[1][0]"
    data = pickle.dumps(obj, protocol=proto)
    if from_file:
        with pytest.raises(UnsafeGlobalError) as info:
            brined.load(io.BytesIO(data))
        err: BaseException = info.value
    else:
        err = _error(data)
    assert type(err) is UnsafeGlobalError
    assert err.offset == _global_offset(data)
    assert err.path == path


_SEED_VALUE = {"a": [1, (2, 3, {"b": [4.5, "x" * 30]}), {5, 6}], "c": Evil()}
_SEEDS = [pickle.dumps(_SEED_VALUE, protocol=p) for p in (0, 2, 5)]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_corrupt_input_gets_a_well_formed_path_or_none(data: Any) -> None:
    blob = bytearray(data.draw(st.sampled_from(_SEEDS)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(blob) - 1))
        if data.draw(st.booleans()):
            del blob[at]
        else:
            blob[at] = data.draw(st.integers(0, 255))
    try:
        brined.loads(bytes(blob))
    except UnpicklingError as err:
        assert err.path is None or err.path.startswith(("root", "..."))
        notes = getattr(err, "__notes__", [])
        assert (err.path is None) == (not notes)
        if err.path is not None:
            assert notes[-1].startswith("path: ")
            assert notes[0].startswith("while building ")


class InitFails:
    def __init__(self, *args: Any) -> None:
        raise RuntimeError("__init__ refuses")


def _inst_pickle(name: str) -> bytes:
    # Protocol 0, hand-built: [1, <INST name(2,)>], written as C writes a list.
    return (
        b"(lp0\nI1\na(I2\ni" + __name__.encode() + b"\n" + name.encode() + b"\np1\na."
    )


def test_refused_inst_names_the_list_item_it_would_be() -> None:
    data = _inst_pickle("Evil")
    err = _error(data)
    assert type(err) is UnsafeGlobalError
    assert err.offset == _global_offset(data)
    assert err.path == "root[1]"


def test_failing_inst_call_names_the_list_item_it_would_be() -> None:
    # INST pops its MARK before the call: the current stack is the one the
    # rare opcode left on the unpickler.
    data = _inst_pickle("InitFails")
    with pytest.raises(RuntimeError):
        pickle.loads(data)
    err = _error(data, trusted=True)
    assert type(err) is RuntimeError
    assert err.path == "root[1]"  # type: ignore[attr-defined]
