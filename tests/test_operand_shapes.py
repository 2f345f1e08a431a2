"""Operand shapes: where C `pickle.loads` refuses an opcode's operands, so does brined.

Each case is a pickle whose operands have a shape the C unpickler checks
(Modules/_pickle.c): the test first asserts that C raises (the oracle), then
that brined raises an `UnpicklingError` subclass in a default load and, in a
trusted load, an `UnpicklingError` subclass or the very exception type C
raised (a trusted load lets what the pickle's own calls raise through, as the
stdlib does).  The mutation fuzzer (tests/test_mutation_fuzz.py) found the
first group; the rest follow the C checks opcode by opcode.
"""

from __future__ import annotations

import pickle

import pytest

import brined

LIST = b"cbuiltins\nlist\n"
SET = b"cbuiltins\nset\n"

CASES: dict[str, bytes] = {
    # Found by the mutation fuzzer.
    "REDUCE args a list": LIST + b"]]aR.",
    "REDUCE args a str": LIST + b"\x8c\x02abR.",
    "BUILD state 0 on an object": b"\x80\x02cbuiltins\nobject\n)\x81K\x00b.",
    "BUILD empty state on a str (no __dict__)": b"\x8c\x01x}b.",
    "BUILD slot state None": b"\x80\x02cbuiltins\nobject\n)\x81NN\x86b.",
    "APPENDS of nothing, then TUPLE without MARK": b"K\x01(et.",
    "INST without a MARK": b"ibuiltins\nlist\n.",
    # REDUCE, NEWOBJ, NEWOBJ_EX.
    "REDUCE args None": LIST + b"NR.",
    "REDUCE args a dict": LIST + b"}R.",
    "REDUCE on a non-callable": b"K\x01)R.",
    "NEWOBJ args a list": b"\x80\x02" + LIST + b"]\x81.",
    "NEWOBJ args None": b"\x80\x02" + LIST + b"N\x81.",
    "NEWOBJ class an int": b"\x80\x02K\x01)\x81.",
    "NEWOBJ_EX args a list": b"\x80\x04" + LIST + b"]}\x92.",
    "NEWOBJ_EX kwargs a list": b"\x80\x04" + LIST + b")]\x92.",
    "NEWOBJ_EX class a str": b"\x80\x04\x8c\x01a)}\x92.",
    "OBJ class an int": b"(K\x01o.",
    # BUILD.
    "BUILD state a list": b"\x80\x02cbuiltins\nobject\n)\x81]b.",
    "BUILD slot state a list": b"\x80\x02cbuiltins\nobject\n)\x81N]\x86b.",
    "BUILD state a str": b"\x80\x02cbuiltins\nobject\n)\x81\x8c\x01ab.",
    # Items.
    "SETITEM on a list with a str key": b"]\x8c\x01aK\x01s.",
    "SETITEMS on a tuple": b")(K\x00K\x02u.",
    "SETITEMS on an int": b"K\x05(K\x00K\x02u.",
    "SETITEMS odd items": b"}(K\x01u.",
    "SETITEM unhashable key": b"}]K\x01s.",
    "APPEND on a dict": b"}K\x01a.",
    "APPEND on a str": b"\x8c\x01xK\x01a.",
    "APPENDS on a tuple": b")(K\x01e.",
    "APPENDS on an int": b"K\x01(K\x01e.",
    "ADDITEMS on a list": b"](K\x01\x90.",
    "ADDITEMS on a frozenset": b"(\x91(K\x01\x90.",
    "ADDITEMS on a dict": b"}(K\x01\x90.",
    "ADDITEMS unhashable item": b"\x8f(]\x90.",
    "DICT odd items": b"(K\x01d.",
    "DICT unhashable key": b"(]K\x01d.",
    "FROZENSET unhashable item": b"(]\x91.",
    # Names.
    "STACK_GLOBAL int names": b"K\x01K\x02\x93.",
    "STACK_GLOBAL bytes names": b"C\x08builtinsC\x04list\x93.",
    "STACK_GLOBAL str module, None name": b"\x8c\x08builtinsN\x93.",
    # Buffers and the stack.
    "READONLY_BUFFER on an int": b"K\x01\x98.",
    "MEMOIZE on an empty stack": b"\x94.",
    "PUT on an empty stack": b"q\x00.",
    "DUP on an empty stack": b"2.",
    "TUPLE without a MARK": b"K\x01t.",
    "POP_MARK without a MARK": b"1.",
    "STOP on an empty stack": b".",
    "STOP above a MARK": b"(.",
    "GET of a missing index": b"h\x05.",
    "LONG4 negative length": b"\x8b\xff\xff\xff\xff.",
    "EXT code 0": b"\x82\x00.",
    "PROTO 6": b"\x80\x06N.",
}


def _c_error(data: bytes) -> Exception:
    try:
        pickle.loads(data)
    except Exception as exc:  # noqa: BLE001 - the oracle's outcome
        return exc
    raise AssertionError(f"C pickle.loads accepted {data!r}: not a valid case")


@pytest.mark.parametrize("name", sorted(CASES))
def test_default_load_refuses_what_c_refuses(name: str) -> None:
    data = CASES[name]
    _c_error(data)
    with pytest.raises(brined.UnpicklingError):
        brined.loads(data)


@pytest.mark.parametrize("name", sorted(CASES))
def test_trusted_load_refuses_what_c_refuses(name: str) -> None:
    data = CASES[name]
    c_exc = _c_error(data)
    try:
        value = brined.loads(data, trusted=True)
    except brined.UnpicklingError:
        return
    except Exception as exc:  # noqa: BLE001 - compared with C's below
        assert type(exc) is type(c_exc), (exc, c_exc)
        return
    raise AssertionError(f"trusted load returned {value!r} where C raised {c_exc!r}")


# Shapes C accepts: brined returns the same value (trusted and default).
ACCEPTED: dict[str, bytes] = {
    "APPENDS of nothing on an int": b"K\x01(e.",
    "SETITEMS of nothing on a str": b"\x8c\x01x(u.",
    "ADDITEMS of nothing on None": b"N(\x90.",
    "BUILD state None on an object's dict": b"}Nb.",
    "REDUCE args an empty tuple": LIST + b")R.",
    "SETITEMS on a list with int keys": b"]K\x01a(K\x00K\x07u.",
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
@pytest.mark.parametrize("trusted", [False, True])
def test_shapes_c_accepts_load_to_the_same_value(name: str, trusted: bool) -> None:
    data = ACCEPTED[name]
    assert brined.loads(data, trusted=trusted) == pickle.loads(data)


def test_newobj_takes_a_tuple_subclass_as_c_does() -> None:
    # Found by the mutation fuzzer: NEWOBJ's arguments may be a tuple
    # subclass (here a namedtuple), as C's PyTuple_Check allows.
    data = (
        b"\x80\x03ctests.corpus\nPoint\nq\x01X\x01\x00\x00\x00a"
        b"X\x01\x00\x00\x00b\x86q\x02\x81q\x03h\x01h\x03\x81."
    )
    expected = pickle.loads(data)
    assert brined.loads(data, trusted=True) == expected
    # A safe load refuses it (an UnpicklingError), which C need not do.
    with pytest.raises(brined.UnpicklingError):
        brined.loads(data, allow=["tests.corpus.Point"])
