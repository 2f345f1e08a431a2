"""Workload data for bench/bench.py.

The classes live in this importable module, not in ``__main__``: cloudpickle and
dill pickle ``__main__`` classes by value, which would make them write (and time)
something else than the other picklers.  Every builder returns a list of objects;
one benchmark "op" is one dumps (or loads) of each object in that list.

The data sets follow the team's yardstick (../../shared/bench/bench.py) so that
the two benchmarks measure the same shapes.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import sys
from collections.abc import Callable
from typing import Any

try:
    import numpy
except ImportError:  # the ndarray workloads are skipped
    numpy = None

MIB = 1 << 20
BIG = 100 * MIB  # size of the large-payload workloads


class PlainRecord:
    """A plain class: its state is the instance __dict__."""

    def __init__(self, id: int, name: str, value: float, flag: bool, parent: Any):
        self.id = id
        self.name = name
        self.value = value
        self.flag = flag
        self.parent = parent


@dataclasses.dataclass(slots=True)
class SlotRecord:
    """A slots dataclass: no __dict__, state from __reduce_ex__/copyreg."""

    id: int
    name: str
    value: float
    flag: bool
    parent: Any = None


# -- pyperformance bm_pickle ------------------------------------------------
# pyperformance/data-files/benchmarks/bm_pickle: the DICT/TUPLE/DICT_GROUP data
# of its "pickle" benchmark, the LIST of "pickle_list", MICRO_DICT of
# "pickle_dict".  Values as in pyperformance.
_PYPERF_USER = {
    "ads_flags": 0,
    "age": 18,
    "birthday": datetime.date(1980, 5, 7),
    "bulletin_count": 0,
    "comment_count": 0,
    "country": "BR",
    "encrypted_id": "G9urXXAJwjE",
    "favorite_count": 9,
    "first_name": "",
    "flags": 412317970704,
    "friend_count": 0,
    "gender": "m",
    "gender_for_display": "Male",
    "id": 302935349,
    "is_custom_profile_icon": 0,
    "last_name": "",
    "locale_preference": "pt_BR",
    "member": 0,
    "tags": ["a", "b", "c", "d", "e", "f", "g"],
    "profile_foo_id": 827119638,
    "secure_encrypted_id": "Z_xxx2dYx3t4YAdnmfgyKw",
    "session_number": 2,
    "signup_id": "201-19225-223",
    "status": "A",
    "theme": 1,
    "time_created": 1225237014,
    "time_updated": 1233134493,
    "unread_message_count": 0,
    "user_group": "0",
    "username": "collinwinter",
    "play_count": 9,
    "view_count": 7,
    "zip": "",
}
_PYPERF_IDS = [
    265867233, 265868503, 265252341, 265243910, 265879514,
    266219766, 266021701, 265843726, 265592821, 265246784,
    265853180, 45526486, 265463699, 265848143, 265863062,
    265392591, 265877490, 265823665, 265828884, 265753032,
]  # fmt: skip


def pyperf_pickle() -> list[Any]:
    """pyperformance "pickle"/"unpickle": DICT, TUPLE, DICT_GROUP."""
    rng = random.Random(5)
    group = []
    for _ in range(3):
        copy = dict(_PYPERF_USER)
        for key in copy:
            copy[key] = str(rng.random() * sys.maxsize)
        group.append(copy)
    return [_PYPERF_USER, (_PYPERF_IDS, 60), group]


def pyperf_list() -> list[Any]:
    """pyperformance "pickle_list": 10 x [range(10) as list, twice]."""
    return [[[list(range(10)), list(range(10))] for _ in range(10)]]


def pyperf_dict() -> list[Any]:
    """pyperformance "pickle_dict": 100 x dict.fromkeys(range(10))."""
    return [{k: dict.fromkeys(range(10)) for k in range(100)}]


# -- scalar-heavy containers ------------------------------------------------
def ints_100k() -> list[Any]:
    return [list(range(100_000))]


def dict_str_float_10k() -> list[Any]:
    rng = random.Random(11)
    return [{f"k{i:06d}": rng.uniform(-1e6, 1e6) for i in range(10_000)}]


_NAMES = ("ana", "bo", "chen", "dara", "eli", "fatima", "gus", "hiro", "ines")
_CITIES = ("Lisbon", "Oslo", "Austin", "Kyoto", "Quito", "Nairobi", "Perth")
_TAGS = ("admin", "beta", "staff", "eu", "us", "apac", "trial", "vip")
N_RECORDS = 6_000  # about 1 MB of protocol-5 pickle


def records_1mb() -> list[Any]:
    """JSON-like records: nested dicts/lists of str, int, float, bool, None."""
    rng = random.Random(12)
    rows = []
    for i in range(N_RECORDS):
        rows.append(
            {
                "id": i,
                "uuid": f"{rng.getrandbits(128):032x}",
                "name": f"{rng.choice(_NAMES)} {rng.choice(_NAMES).title()}",
                "email": f"user{i}@example.org",
                "active": rng.random() < 0.7,
                "score": rng.random() * 100.0,
                "balance": round(rng.uniform(-1e4, 1e4), 2),
                "age": rng.randrange(18, 90),
                "tags": rng.sample(_TAGS, rng.randrange(4)),
                "address": {
                    "street": f"{rng.randrange(1, 999)} Main St",
                    "city": rng.choice(_CITIES),
                    "zip": f"{rng.randrange(100_000):05d}",
                },
                "manager": None if rng.random() < 0.3 else rng.randrange(i + 1),
                "history": [rng.randrange(1000) for _ in range(rng.randrange(4))],
            }
        )
    return [rows]


# -- user classes -----------------------------------------------------------
def plain_objects_10k() -> list[Any]:
    return [[PlainRecord(i, f"o{i}", i / 3, i % 2 == 0, None) for i in range(10_000)]]


def slots_dataclass_10k() -> list[Any]:
    return [[SlotRecord(i, f"o{i}", i / 3, i % 2 == 0) for i in range(10_000)]]


# -- identity ---------------------------------------------------------------
DEEP_LEVELS = 400  # 800 nested containers, under C pickle's recursion limit


def deep_cyclic() -> list[Any]:
    """dict -> list -> dict ... 400 levels, every node pointing at its parent
    and the root, the last one containing itself."""
    root: dict[str, Any] = {"depth": 0, "parent": None, "kids": []}
    root["root"] = root
    node = root
    for depth in range(1, DEEP_LEVELS):
        kid = {"depth": depth, "parent": node, "root": root, "kids": []}
        node["kids"].append(kid)
        node = kid
    node["kids"].append(node)
    return [root]


def memo_heavy_100k() -> list[Any]:
    """100k references into a pool of 1000 small dicts: 99% memo hits."""
    pool = [{"id": i, "label": f"item{i}", "pt": (i, i + 0.5)} for i in range(1000)]
    return [[pool[(i * 7919) % 1000] for i in range(100_000)]]


# -- large payloads ---------------------------------------------------------
def bytes_100mb() -> list[Any]:
    return [bytes(range(256)) * (BIG // 256)]


def ndarray_100mb() -> list[Any]:
    assert numpy is not None
    return [numpy.arange(BIG // 8, dtype=numpy.float64)]


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    desc: str
    build: Callable[[], list[Any]]
    big: bool = False  # a large payload: timed against one memcpy too
    oob: bool = False  # protocol 5, buffer_callback= / buffers=
    numpy: bool = False  # needs numpy


WORKLOADS = [
    Workload("pyperf_pickle", "pyperformance pickle: DICT, TUPLE, DICT_GROUP",
             pyperf_pickle),
    Workload("pyperf_list", "pyperformance pickle_list: 10 x 2 lists of 10 ints",
             pyperf_list),
    Workload("pyperf_dict", "pyperformance pickle_dict: 100 x dict.fromkeys(range(10))",
             pyperf_dict),
    Workload("ints_100k", "list(range(100_000))", ints_100k),
    Workload("dict_str_float_10k", "10k str -> float dict", dict_str_float_10k),
    Workload("records_1mb", f"{N_RECORDS} nested JSON-like records (~1 MB)",
             records_1mb),
    Workload("plain_objects_10k", "10k plain class instances (__dict__ state)",
             plain_objects_10k),
    Workload("slots_dataclass_10k", "10k @dataclass(slots=True) instances",
             slots_dataclass_10k),
    Workload("deep_cyclic", f"{DEEP_LEVELS}-level dict/list chain with back-refs",
             deep_cyclic),
    Workload("memo_heavy_100k", "100k refs to 1000 shared dicts", memo_heavy_100k),
    Workload("bytes_100mb", "one 100 MiB bytes, in-band", bytes_100mb, big=True),
    Workload("numpy_100mb", "100 MiB float64 ndarray, in-band", ndarray_100mb,
             big=True, numpy=True),
    Workload("numpy_100mb_oob", "100 MiB ndarray, protocol 5 out-of-band buffers",
             ndarray_100mb, big=True, oob=True, numpy=True),
]  # fmt: skip
