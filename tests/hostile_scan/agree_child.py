"""Scan and load pickles in this (child) process; print both verdicts.

    python -m tests.hostile_scan.agree_child CASES.json

CASES.json is a list of ``{"name", "path", "allow", "options"}``.  For each,
in order, one JSON line: the scan's verdict and buffer count, then the
verdict of ``brined.loads`` under the same `allow` and options, given as many
out-of-band buffers as the scan counted (and, when it counted some, the
verdict with one fewer).  Runs under an address-space limit and a CPU limit
per case, so a bomb that slips through dies here, not in the test run; the
parent restarts after the case that killed it.
"""

from __future__ import annotations

import json
import pickle
import resource
import sys
from typing import Any

GIB = 1 << 30


def load_verdict(
    data: bytes, allow: list[str], buffers: list[Any], **options: Any
) -> str:
    """What brined.loads does with `data`, in the scan's three words."""
    import brined

    try:
        brined.loads(data, allow=allow, buffers=buffers, **options)
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
    except Exception as exc:  # noqa: BLE001 - an escape is a verdict of its own
        return f"escaped {type(exc).__name__}"
    return "clean"


def stand_in_buffers(n: int) -> list[Any]:
    """`n` out-of-band buffers as a buffer_callback hands them out."""
    return [pickle.PickleBuffer(bytearray(8)) for _ in range(n)]


def one(case: dict[str, Any]) -> dict[str, Any]:
    from brined.analyze import scan

    with open(case["path"], "rb") as f:
        data = f.read()
    allow = list(case.get("allow", ()))
    options = case.get("options", {})
    report = scan(data, allow=allow, **options)
    n = report.buffers
    out: dict[str, Any] = {
        "name": case["name"],
        "scan": report.verdict,
        "buffers": n,
        "reason": report.reason[:300],
        "load": load_verdict(data, allow, stand_in_buffers(n), **options),
    }
    if n:
        out["load_short"] = load_verdict(
            data, allow, stand_in_buffers(n - 1), **options
        )
    return out


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 * GIB, 2 * GIB))
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    for case in cases:
        used = resource.getrusage(resource.RUSAGE_SELF).ru_utime
        resource.setrlimit(resource.RLIMIT_CPU, (int(used) + 15, hard))
        print(json.dumps(one(case)), flush=True)


if __name__ == "__main__":
    main()
