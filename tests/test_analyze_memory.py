"""The scan's memory does not grow with the number of memoized values.

The feeder drops memo stores the pickle never reads back (brined.analyze._feed):
these tests check the memory bound, and that pickles which do read their memo
back (or fail in a memo opcode) get the same verdicts and offsets as before.
"""

from __future__ import annotations

import json
import pickle
import pickletools
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import brined
from brined.analyze import scan

ROOT = Path(__file__).resolve().parent.parent

_MAKE = """
import pickle, sys
with open(sys.argv[1], "wb") as f:
    f.write(pickle.dumps([str(i) for i in range(6_500_000)], 4))
"""

# The peak RSS of this process's own memory: VmHWM on Linux.  ru_maxrss is no
# good there: Linux carries it across exec, so a child forked from a large
# pytest process starts with the parent's high-water mark.
_SCAN = """
import json, resource, sys
from brined.analyze import scan
with open(sys.argv[1], "rb") as f:
    report = scan(f)
try:
    with open("/proc/self/status") as status:
        rss = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
except OSError:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":
        rss //= 1024
print(json.dumps({"verdict": report.verdict, "rss_kib": rss}))
"""

_RSS_CEILING_KIB = 200 * 1024


@pytest.mark.skipif(sys.platform == "win32", reason="needs the resource module")
def test_many_distinct_memoized_strings_scan_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "strings.pkl"
    subprocess.run([sys.executable, "-c", _MAKE, str(path)], check=True)
    assert path.stat().st_size > 60 << 20
    out = subprocess.run(
        [sys.executable, "-c", _SCAN, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result = json.loads(out.stdout)
    assert result["verdict"] == "clean"
    assert result["rss_kib"] < _RSS_CEILING_KIB, result


def _op_offsets(data: bytes, *names: str) -> list[int]:
    return [pos for op, _, pos in pickletools.genops(data) if op.name in names]


@pytest.mark.parametrize("proto", [0, 2, 4])
def test_memo_read_back_far_after_put(proto: int) -> None:
    shared = "shared-string"
    key = ("a", 1)
    filler = [f"distinct-{i}" for i in range(5000)]
    obj = {
        "first": shared,
        "key": key,
        "filler": filler,
        "set": {1, 2, 3},
        "again": shared,
        "key-again": key,
        "tail": [shared, key],
    }
    data = pickle.dumps(obj, proto)
    gets = _op_offsets(data, "GET", "BINGET", "LONG_BINGET")
    assert gets, "the pickle must read its memo back"
    report = scan(data, keep_value=True)
    assert report.verdict == "clean", report.reason
    value = report.value
    assert value["first"] == value["again"] == shared
    assert value["key-again"] == key and value["tail"][1] == key
    assert value["tail"][0] == shared
    assert list(value["filler"])[:3] == filler[:3]
    # The global for the set (protocols 0 and 2) is at its original offset.
    globals_at = _op_offsets(data, "GLOBAL", "STACK_GLOBAL")
    assert [g.offset for g in report.globals] == globals_at[: len(report.globals)]
    assert brined.loads(data) == obj


def _hostile(proto: int, framed: bool) -> tuple[bytes, int]:
    """os.system via STACK_GLOBAL whose args come from the memo (BINGET)."""
    body = bytearray()
    body += pickle.SHORT_BINUNICODE + b"\x02os"
    body += pickle.MEMOIZE if proto >= 4 else pickle.BINPUT + b"\x00"
    body += pickle.SHORT_BINUNICODE + b"\x06system"
    body += pickle.MEMOIZE if proto >= 4 else pickle.BINPUT + b"\x01"
    body += pickle.POP + pickle.POP
    # Many unread memo stores between the stores and the reads.
    body += pickle.EMPTY_LIST + (pickle.MEMOIZE if proto >= 4 else b"q\x02")
    body += pickle.MARK
    for i in range(3000):
        text = f"x{i}".encode()
        body += pickle.SHORT_BINUNICODE + bytes([len(text)]) + text
        if proto >= 4:
            body += pickle.MEMOIZE
        else:
            body += pickle.LONG_BINPUT + struct.pack("<I", i + 3)
    body += pickle.APPENDS + pickle.POP
    body += pickle.BINGET + b"\x00" + pickle.BINGET + b"\x01"
    at = len(body)
    body += pickle.STACK_GLOBAL
    body += pickle.SHORT_BINUNICODE + b"\x02hi" + pickle.TUPLE1
    body += pickle.REDUCE + pickle.STOP
    head = pickle.PROTO + bytes([proto])
    if framed:
        head += pickle.FRAME + struct.pack("<Q", len(body))
    return head + bytes(body), len(head) + at


@pytest.mark.parametrize(("proto", "framed"), [(2, False), (4, False), (4, True)])
def test_hostile_global_from_memo_still_unsafe(proto: int, framed: bool) -> None:
    data, at = _hostile(proto, framed)
    assert _op_offsets(data, "STACK_GLOBAL") == [at]
    with pytest.raises(brined.UnsafeGlobalError):
        brined.loads(data)
    report = scan(data)
    assert report.verdict == "unsafe"
    assert report.offset == at
    assert [(g.module, g.name, g.offset) for g in report.globals] == [
        ("os", "system", at)
    ]
    assert report.calls and report.calls[0].offset == len(data) - 2


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x04\x94.",  # MEMOIZE on an empty stack
        b"\x80\x02q\x05.",  # BINPUT on an empty stack
        b"(p0\n.",  # PUT right after MARK
        b"\x80\x04K\x01\x94h\x01.",  # GET of an index never stored
    ],
)
def test_memo_errors_keep_message_and_offset(data: bytes) -> None:
    with pytest.raises(brined.MalformedPickleError) as info:
        brined.loads(data)
    report = scan(data)
    assert report.verdict == "invalid"
    assert report.offset == info.value.offset
    assert report.stopped == f"MalformedPickleError: {info.value}"


def test_memoize_after_sparse_explicit_puts() -> None:
    # MEMOIZE stores at len(memo): after BINPUT 5 that is 2, not 1.
    data = (
        b"\x80\x04]\x94("
        + b"\x8c\x01aq\x05"
        + b"\x8c\x01b\x94"
        + b"\x8c\x01cq\x00"
        + b"\x8c\x01d\x94"
        + b"\x8c\x01e\x94"
        + b"h\x02h\x03h\x00h\x05e."
    )
    expected = ["a", "b", "c", "d", "e", "b", "d", "c", "a"]
    assert brined.loads(data) == expected
    report = scan(data, keep_value=True)
    assert report.verdict == "clean", report.reason
    assert list(report.value) == expected
    # After BINPUT 3, MEMOIZE stores at 1 (len(memo)), so GET 1 finds it and
    # GET 0 does not.
    good = b"\x80\x04K\x01q\x03K\x02\x94h\x01."
    assert brined.loads(good) == 2
    assert scan(good).verdict == "clean"
    bad = b"\x80\x04K\x01q\x03K\x02\x94h\x00."
    with pytest.raises(brined.MalformedPickleError) as info:
        brined.loads(bad)
    report = scan(bad)
    assert report.verdict == "invalid" and report.offset == info.value.offset
