"""Load one hostile pickle in this (child) process and report what happened.

    python tests/hostile/child.py FILE [FILE ...]

Runs under a 1 GiB address-space limit and 5 s of CPU per file (set here, so a
bomb that slips through dies rather than taking the machine down) and prints one
JSON line per file: the error's class names, opcode and offset, or the loaded
value's type, plus any module the load imported.  Before loading it registers
``os.system`` as an extension code and warms copyreg's extension cache with a
stdlib load, as a process that had loaded a trusted pickle would.
"""

from __future__ import annotations

import copyreg
import json
import os
import pickle
import resource
import sys
import time

EXT_CODE = 0xF0
GIB = 1 << 30


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))


def main() -> None:
    _limit()
    import brined

    copyreg.add_extension("os", "system", EXT_CODE)
    assert pickle.loads(b"\x80\x02\x82\xf0.") is os.system
    # What the default policy may import; anything else a load imports is
    # reported.
    import _codecs  # noqa: F401
    import collections  # noqa: F401
    import datetime  # noqa: F401
    import decimal  # noqa: F401
    import fractions  # noqa: F401

    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            data = f.read()
        before = set(sys.modules)
        cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu) + 5, hard))
        report: dict[str, object] = {"file": os.path.basename(path)}
        t0 = time.monotonic()
        try:
            value = brined.loads(data)
        except brined.UnpicklingError as exc:
            report["error"] = [c.__name__ for c in type(exc).__mro__]
            report["opcode"] = exc.opcode
            report["offset"] = exc.offset
            report["message"] = str(exc)[:2000]
            report["message_len"] = len(str(exc))
        except BaseException as exc:  # noqa: BLE001 - the report is the point
            report["escaped"] = f"{type(exc).__name__}: {str(exc)[:500]}"
        else:
            report["value"] = type(value).__name__
        report["seconds"] = round(time.monotonic() - t0, 3)
        report["imported"] = sorted(
            m for m in set(sys.modules) - before if not m.startswith("encodings.")
        )
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
