"""brined scan agrees with brined.loads: hostile corpus, benign corpus, fuzzing."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brined
from brined.analyze import scan
from tests.hostile_scan.generate import CASES, MARKER

ROOT = Path(__file__).resolve().parent.parent

# Loads every hostile case in a child process, in an empty directory, and
# prints {name: verdict}; the payloads would create MARKER there if they ran.
_CHILD = """
import json, sys
import brined
from tests.hostile_scan.generate import CASES
out = {}
for name, (data, _, allow) in CASES.items():
    try:
        brined.loads(data, allow=list(allow))
        out[name] = "clean"
    except (brined.UnsafeGlobalError, brined.UnsafeOperationError,
            brined.LimitExceededError):
        out[name] = "unsafe"
    except brined.MalformedPickleError:
        out[name] = "invalid"
    except brined.UnpicklingError as exc:
        out[name] = "unsafe" if "no persistent_load" in str(exc) else "invalid"
print(json.dumps(out))
"""


def load_verdict(data: bytes, allow: Any = (), buffers: int = 0) -> str:
    """What brined.loads does with `data`, in the scan's three words, given
    `buffers` out-of-band buffers (the number a scan says the pickle needs)."""
    try:
        brined.loads(
            data, allow=list(allow), buffers=[bytearray(8) for _ in range(buffers)]
        )
    except (
        brined.UnsafeGlobalError,
        brined.UnsafeOperationError,
        brined.LimitExceededError,
    ):
        return "unsafe"
    except brined.MalformedPickleError:
        return "invalid"
    except brined.UnpicklingError as exc:
        return "unsafe" if "no persistent_load" in str(exc) else "invalid"
    return "clean"


@pytest.fixture(scope="module")
def child_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    cwd = tmp_path_factory.mktemp("canary")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert not (cwd / MARKER).exists(), "a hostile payload ran"
    verdicts: dict[str, str] = json.loads(done.stdout)
    return verdicts


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_case_gets_its_expected_verdict(name: str) -> None:
    data, expected, allow = CASES[name]
    assert scan(data, allow=allow).verdict == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_case_scan_agrees_with_loads_in_a_child(
    name: str, child_verdicts: dict[str, str]
) -> None:
    data, _, allow = CASES[name]
    assert scan(data, allow=allow).verdict == child_verdicts[name]


def test_scan_reports_the_payload_before_the_garbage() -> None:
    report = scan(CASES["payload-then-garbage"][0])
    assert report.verdict == "unsafe"
    assert [(g.module, g.name, g.offset) for g in report.globals] == [
        ("os", "system", 14)
    ]
    assert [(c.text, c.offset, c.opcode) for c in report.calls] == [
        (f"os.system('touch {MARKER}')", 44, "REDUCE")
    ]
    assert report.stopped is not None and "invalid load key" in report.stopped


def test_scan_goes_on_past_a_refusal_to_report_every_global() -> None:
    report = scan(CASES["getattr-import-chain"][0])
    assert [f"{g.module}.{g.name}" for g in report.globals] == [
        "builtins.getattr",
        "builtins.__import__",
    ]
    assert len(report.calls) == 3


def test_new_setstate_and_persistent_ids_are_calls() -> None:
    hows = {c.how for c in scan(CASES["build-on-refused"][0]).calls}
    assert hows == {"__new__", "__setstate__"}
    (call,) = scan(CASES["persistent-binpersid"][0]).calls
    assert call.how == "persistent_load" and call.offset == 11


# The benign corpus at every protocol: tests/test_analyze_agreement.py.


def test_bytes_after_stop_are_counted_not_scanned() -> None:
    report = scan(pickle.dumps([1, 2]) + b"tail")
    assert (report.verdict, report.trailing) == ("clean", 4)


def test_large_binary_payloads_are_elided_and_still_agree() -> None:
    data = pickle.dumps([b"x" * 200_000, "y" * 200_000, bytearray(70_000)], 5)
    report = scan(data, keep_value=True)
    assert report.verdict == "clean"
    first, second, third = report.value
    assert (first.length, third.length) == (200_000, 70_000)
    # str payloads are read whole: the guards look at their content.
    assert second == "y" * 200_000


def test_a_long_digit_string_is_refused_as_loads_refuses_it() -> None:
    digits = "7" * 100_000
    data = pickle.dumps(int, 4)[:-1] + pickle.dumps((digits,), 4)[2:-1] + b"R."
    assert scan(data).verdict == load_verdict(data) == "unsafe"


def test_elided_invalid_utf8_is_still_invalid() -> None:
    bad = b"\x80\x04X" + (100_000).to_bytes(4, "little") + b"\xff" * 100_000 + b"."
    assert scan(bad).verdict == load_verdict(bad) == "invalid"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_scan_never_crashes_on_arbitrary_bytes(data: bytes) -> None:
    assert scan(data).verdict in ("clean", "unsafe", "invalid")


_SEEDS = [CASES[n][0] for n in sorted(CASES)] + [
    pickle.dumps({"a": [1, 2.5, "x", b"y", (None, True)]}, p) for p in range(6)
]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=4),
    st.integers(0, 400),
)
def test_mutated_pickles_scan_like_they_load(
    seed: bytes, edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(seed)
    for where, value in edits:
        if data:
            data[where % len(data)] = value
    mutated = bytes(data[: max(1, len(data) - cut % 8)])
    report = scan(mutated)
    verdict = report.verdict
    assert verdict in ("clean", "unsafe", "invalid")
    # The verdict is what loads does when given the buffers the scan counted.
    loaded = load_verdict(mutated, buffers=report.buffers)
    if verdict == "clean" or loaded == "clean":
        # Only in-process when nothing refused: a clean load ran only
        # allowlisted plain-data code.
        assert verdict == loaded
