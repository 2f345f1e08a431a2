"""Write the seed corpus for the fuzzers: valid pickles of allowed values.

Usage: python fuzz/make_seeds.py DIR
"""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import pickle
import sys
from pathlib import Path


def values() -> list[object]:
    shared = [1, 2]
    return [
        None,
        True,
        -1,
        2**70,
        1.5,
        1j,
        "text",
        "\udc80",
        b"bytes",
        bytearray(b"ba"),
        (),
        (1,),
        (1, 2),
        (1, 2, 3),
        (1, 2, 3, 4),
        [1, [2, [3]]],
        {"a": 1, 2: [3]},
        {1, 2},
        frozenset({1}),
        [shared, shared],
        collections.OrderedDict(a=1),
        collections.defaultdict(list, {1: [2]}),
        collections.Counter("abca"),
        collections.deque([1, 2], maxlen=5),
        datetime.datetime(2020, 1, 2, 3, 4, 5, 6, datetime.UTC),
        datetime.date(2020, 1, 2),
        datetime.time(1, 2),
        datetime.timedelta(days=1),
        decimal.Decimal("1.25"),
        fractions.Fraction(1, 3),
        object(),
        list(range(1200)),
        {i: str(i) for i in range(1100)},
        set(range(1100)),
        [{"id": i, "name": f"n{i}", "tags": ("a", "b")} for i in range(20)],
    ]


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for value in values():
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            # The first byte picks the reader in fuzz_loads.py.
            mode = bytes([n % 3])
            data = mode + pickle.dumps(value, proto)
            (out / f"seed-{n:04d}-p{proto}").write_bytes(data)
            n += 1
    print(f"{n} seeds in {out}")


if __name__ == "__main__":
    main()
