"""brined.cloud's output is no larger than cloudpickle's for the same object."""

from __future__ import annotations

import dataclasses
import enum
import pickle
import typing

import pytest

import brined.cloud as cloud

cloudpickle = pytest.importorskip("cloudpickle", reason="the size oracle")

SCALE = 2


def _closure() -> typing.Callable[[int], int]:
    offset = 3

    def shifted(x: int) -> int:
        return x * SCALE + offset

    return shifted


def _recursive() -> typing.Callable[[int], int]:
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    return fib


def _documented() -> typing.Callable[..., int]:
    def f(a: int, b: int = 1, *, c: int = 2) -> int:
        """Add things."""
        return a + b + c

    return f


def _class() -> type:
    class Account:
        rate = 0.1

        def __init__(self, balance: float) -> None:
            self.balance = balance

        def interest(self) -> float:
            return self.balance * self.rate

        @property
        def doubled(self) -> float:
            return self.balance * 2

    return Account


def _dataclass() -> type:
    @dataclasses.dataclass
    class Row:
        a: int
        b: str = "x"
        c: list[int] = dataclasses.field(default_factory=list)

    return Row


def _enum() -> type:
    class Level(enum.IntEnum):
        LOW = 1
        HIGH = 2

    return Level


CASES = {
    "lambda": lambda: lambda x: x + 1,
    "closure": _closure,
    "recursive closure": _recursive,
    "defaults+doc+annotations": _documented,
    "class": _class,
    "dataclass": _dataclass,
    "IntEnum": _enum,
}


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("case", list(CASES))
def test_no_larger_than_cloudpickle(case: str, protocol: int) -> None:
    obj = CASES[case]()
    ours = len(cloud.dumps(obj, protocol=protocol))
    theirs = len(cloudpickle.dumps(obj, protocol=protocol))
    assert ours <= theirs, (case, ours, theirs)
