"""One verdict: ``brined scan`` says what ``brined.loads`` does, over every corpus.

The rule: under the same options (``allow=``, ``encoding=``, ``errors=``,
``fix_imports=``), `scan`'s verdict is the outcome of the default safe load:
"clean" when it returns, "unsafe" when it refuses, "invalid" when the bytes
are not a pickle it can load.  Out-of-band buffers are data: the scan counts
the NEXT_BUFFERs, and the load is given that many buffers (with one fewer it
must fail, so the count is exact).  The one stated exception is a
``torch.save`` zip: `scan` reads the ``*.pkl`` members of the archive, while
``loads`` is given the zip's bytes (tested in test_analyze_cli).

Corpora: tests/corpus.py's objects at every protocol (loaded in-process: they
are our own benign objects), tests/hostile/corpus and tests/hostile_scan
(scanned and loaded in a child process under resource limits, in an empty
directory, with the canaries the payloads would create), Python 2-style
pickles under a grid of load options, and protocol 5 out-of-band pickles.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from brined.analyze import scan
from tests.corpus import ALL_PROTOCOLS, cases, registered_extensions
from tests.hostile_scan.agree_child import load_verdict, stand_in_buffers
from tests.hostile_scan.generate import CASES as SCAN_CASES
from tests.hostile_scan.generate import MARKER

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "hostile" / "corpus"


def _agree(data: bytes, allow: Any = (), **options: Any) -> tuple[str, str]:
    """(scan's verdict, the load's verdict) for `data`, in this process."""
    report = scan(data, allow=allow, **options)
    n = report.buffers
    loaded = load_verdict(data, list(allow), stand_in_buffers(n), **options)
    if n:
        short = load_verdict(data, list(allow), stand_in_buffers(n - 1), **options)
        assert short != "clean", f"loads needs fewer than the {n} buffers counted"
    return report.verdict, loaded


# -- tests/corpus.py at every protocol -------------------------------------------


@pytest.mark.parametrize("proto", ALL_PROTOCOLS)
def test_corpus_scan_verdict_is_the_load_outcome(proto: int) -> None:
    checked = 0
    for case in cases():
        if proto not in case.protocols:
            continue
        with registered_extensions():
            try:
                data = pickle.dumps(case.factory(), proto)
            except Exception:
                continue
            verdict, loaded = _agree(data)
        assert verdict == loaded, case.id
        checked += 1
    assert checked > 300


# -- the hostile corpora, in a child ---------------------------------------------


def _run_child(
    specs: list[dict[str, Any]], work: Path, env: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Scan and load every spec in child processes; a crash marks its case."""
    results: dict[str, dict[str, Any]] = {}
    todo = list(specs)
    while todo:
        listing = work / "cases.json"
        listing.write_text(json.dumps(todo))
        done = subprocess.run(
            [sys.executable, "-m", "tests.hostile_scan.agree_child", str(listing)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        for line in done.stdout.splitlines():
            row = json.loads(line)
            results[row["name"]] = row
        todo = [s for s in todo if s["name"] not in results]
        if todo:
            # The first case without a line is the one that killed the child.
            dead = todo.pop(0)
            results[dead["name"]] = {
                "name": dead["name"],
                "crashed": f"exit {done.returncode}: {done.stderr[-500:]}",
            }
    return results


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("agree")
    canary = work / "BRINED_CANARY.fired"
    specs: list[dict[str, Any]] = [
        {"name": f"hostile/{p.name}", "path": str(p)}
        for p in sorted(HOSTILE.glob("*.pickle"))
    ]
    for name, (data, _, allow) in sorted(SCAN_CASES.items()):
        path = work / f"scan-{name}.pickle"
        path.write_bytes(data)
        specs.append({"name": f"scan/{name}", "path": str(path), "allow": allow})
    env = {
        "PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin",
        "BRINED_CANARY": str(canary),
    }
    results = _run_child(specs, work, env)
    assert not canary.exists(), "a hostile payload ran"
    assert not (work / MARKER).exists(), "a hostile payload ran"
    return results


_HOSTILE_NAMES = [f"hostile/{p.name}" for p in sorted(HOSTILE.glob("*.pickle"))]
_SCAN_NAMES = [f"scan/{name}" for name in sorted(SCAN_CASES)]


# Where the scan is known to differ, and why; each is an xfail that must keep
# failing (strict), so fixing one shows up.
KNOWN: dict[str, str] = {}


def _marked(names: list[str]) -> list[Any]:
    return [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN[n], strict=True))
        if n in KNOWN
        else n
        for n in names
    ]


@pytest.mark.parametrize("name", _marked(_HOSTILE_NAMES + _SCAN_NAMES))
def test_hostile_scan_verdict_is_the_load_outcome_in_a_child(
    name: str, hostile_results: dict[str, Any]
) -> None:
    row = hostile_results[name]
    assert "crashed" not in row, row["crashed"]
    assert row["scan"] == row["load"], row["reason"]
    if row["buffers"]:
        assert row["load_short"] != "clean"


def test_every_hostile_file_was_checked() -> None:
    assert len(_HOSTILE_NAMES) > 150 and len(_SCAN_NAMES) > 20


# -- Python 2-era pickles, under the options load takes for them ------------------

# As Python 2's pickle wrote them: 8-bit str as STRING / BINSTRING /
# SHORT_BINSTRING, module names of Python 2 (__builtin__, copy_reg, ...).
PY2: dict[str, bytes] = {
    "p0-dict-latin1-str": b"(dp0\nS'k'\np1\nS'\\xe9t\\xe9'\np2\ns.",
    "p0-utf8-bytes-in-str": b"S'caf\\xc3\\xa9'\np0\n.",
    "p0-ascii-str": b"(lp0\nS'abc'\np1\naI42\naL12345678901234567890L\naI01\na.",
    "p0-unicode": b"V\\u00e9t\\u00e9\np0\n.",
    "p1-binstring": b"(lq\x00T\x04\x01\x00\x00"
    + bytes(range(256)) * 1
    + b"\x80\xff\x00\x01q\x01a.",
    "p2-short-binstring": b"\x80\x02U\x03\xe9t\xe9q\x00.",
    "p2-dict-binstring-keys": b"\x80\x02}q\x00(U\x02\xe9tq\x01K\x01U\x01aq\x02K\x02u.",
    "p2-datetime": (
        b"\x80\x02cdatetime\ndatetime\nq\x00U\n\x07\xdf\x01\x02\x03\x04\x05"
        b"\x00\x00\x06\x85q\x01Rq\x02."
    ),
    "p2-date": b"\x80\x02cdatetime\ndate\nq\x00U\x04\x07\xdf\x0c\x1f\x85Rq\x01.",
    "p2-builtin-set": b"\x80\x02c__builtin__\nset\nq\x00]q\x01(K\x01K\x02e\x85Rq\x02.",
    "p2-builtin-frozenset": b"c__builtin__\nfrozenset\n((lI1\naI2\natR.",
    "p2-userlist": b"\x80\x02cUserList\nUserList\n)\x81}U\x04data]K\x01asb.",
    "p2-exceptions": b"cexceptions\nValueError\n(S'boom'\ntR.",
    "p2-copy-reg-reconstructor": (
        b"ccopy_reg\n_reconstructor\n(c__main__\nFoo\nc__builtin__\nobject\nNtR"
        b"(dS'a'\nI1\nsb."
    ),
    "p2-invalid-utf8-str": b"\x80\x02U\x02\xff\xfeq\x00.",
    "p2-decimal": b"\x80\x02cdecimal\nDecimal\nU\x041.25\x85R.",
}
ENCODINGS = ("ASCII", "latin1", "bytes", "utf-8")
OPTIONS = [
    {"encoding": e, "errors": r, "fix_imports": f}
    for e, r, f in product(ENCODINGS, ("strict", "replace"), (True, False))
]


@pytest.mark.parametrize("name", sorted(PY2))
def test_python2_pickle_scan_verdict_is_the_load_outcome_under_each_option(
    name: str,
) -> None:
    outcomes = set()
    for options in OPTIONS:
        verdict, loaded = _agree(PY2[name], **options)
        assert verdict == loaded, options
        outcomes.add(loaded)
    assert outcomes <= {"clean", "unsafe", "invalid"}


def test_python2_corpus_covers_each_verdict_and_the_options_matter() -> None:
    # The options change the outcome: ASCII fails where latin1 loads.
    assert _agree(PY2["p2-short-binstring"]) == ("invalid", "invalid")
    assert _agree(PY2["p2-short-binstring"], encoding="latin1") == ("clean", "clean")
    assert _agree(PY2["p2-builtin-set"]) == ("clean", "clean")
    fixed_off = _agree(PY2["p2-builtin-set"], fix_imports=False)
    assert fixed_off == ("unsafe", "unsafe")


def test_a_python2_str_that_is_not_ascii_gets_a_hint() -> None:
    report = scan(PY2["p2-short-binstring"])
    assert report.verdict == "invalid" and "encoding='latin1'" in report.hint
    assert scan(PY2["p2-short-binstring"], encoding="bytes").hint == ""


# -- protocol 5 with out-of-band buffers -----------------------------------------


def _oob(obj: Any) -> tuple[bytes, int]:
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, 5, buffer_callback=buffers.append)
    return data, len(buffers)


_SHARED = pickle.PickleBuffer(b"shared")
OOB: dict[str, tuple[bytes, int]] = {
    "bytes": _oob(pickle.PickleBuffer(b"abc")),
    "bytearray": _oob(pickle.PickleBuffer(bytearray(b"abc"))),
    "mixed-list": _oob(
        [pickle.PickleBuffer(b"a"), 1, pickle.PickleBuffer(bytearray(3)), "x"]
    ),
    "in-a-dict": _oob({"k": pickle.PickleBuffer(b"v"), "n": [1, 2]}),
    "shared-once": _oob([_SHARED, _SHARED, (_SHARED,)]),
    "nested-tuples": _oob(tuple((pickle.PickleBuffer(b"x" * i),) for i in range(5))),
    # Hand-made: a buffer as a dict key (unhashable), as BUILD state, passed
    # to an allowed callable, READONLY_BUFFER on in-band bytes.
    "buffer-as-dict-key": (b"\x80\x05}\x97K\x01s.", 1),
    "buffer-as-set-item": (b"\x80\x05\x8f(\x97\x90.", 1),
    "buffer-to-bytearray": (
        b"\x80\x05\x8c\x08builtins\x8c\tbytearray\x93\x97\x85R.",
        1,
    ),
    "readonly-in-band": (b"\x80\x05C\x03abc\x98.", 0),
    "buffers-then-garbage": (b"\x80\x05\x97\x97\x97\xff.", 3),
}
if __import__("importlib.util").util.find_spec("numpy") is not None:
    import numpy

    OOB["numpy-array"] = _oob(numpy.arange(12.0).reshape(3, 4))
    OOB["numpy-fortran"] = _oob(numpy.asfortranarray(numpy.ones((2, 3))))


@pytest.mark.parametrize("name", sorted(OOB))
def test_out_of_band_scan_verdict_is_the_load_outcome_given_its_buffers(
    name: str,
) -> None:
    data, written = OOB[name]
    verdict, loaded = _agree(data)
    assert verdict == loaded
    assert scan(data).buffers == written


def test_out_of_band_buffers_are_data_not_a_refusal() -> None:
    report = scan(OOB["mixed-list"][0], keep_value=True)
    assert (report.verdict, report.buffers) == ("clean", 2)
    assert [repr(v) for v in report.value[::2]] == [
        "<out-of-band buffer #0>",
        "<out-of-band buffer #1>",
    ]
    assert report.to_json()["buffers"] == 2


# -- names allowed only as values ------------------------------------------------


# A plain class that is not default data (tests/hostile_scan uses it too).
_VALUE_ONLY = "email.message.Message"


def _value_only_case(call: bool) -> bytes:
    held = b"\x80\x04\x8c\remail.message\x8c\x07Message\x93"
    if call:
        return held + b")R."  # Message()
    return b"\x80\x04(" + held[2:] + b"K\x01l."  # [Message, 1]


@pytest.mark.parametrize("call", [False, True], ids=["held", "called"])
def test_a_value_only_name_is_refused_when_called_as_loads_refuses_it(
    call: bool,
) -> None:
    import brined

    policy = brined.Policy(values=[_VALUE_ONLY])
    data = _value_only_case(call)
    try:
        brined.loads(data, allow=policy)  # type: ignore[arg-type]
        loaded = "clean"
    except brined.UnsafeOperationError:
        loaded = "unsafe"
    assert scan(data).verdict == "unsafe"  # not allowed at all by default
    assert scan(data, allow=policy).verdict == loaded
    assert loaded == ("unsafe" if call else "clean")
