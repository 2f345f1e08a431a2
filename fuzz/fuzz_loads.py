"""Coverage-guided fuzzing of `brined.loads` with atheris.

    pip install atheris
    python fuzz/make_seeds.py fuzz/corpus
    nice python fuzz/fuzz_loads.py fuzz/corpus -rss_limit_mb=1536 -timeout=10

Each input must load to a value or raise a brined `UnpicklingError`; any other
exception is a finding.  The harness also fails when a load imported a module
that was not loaded before (the default policy's modules are imported up front),
and runs under an address-space limit so a memory bomb shows up as an error
rather than taking the machine down.
"""

from __future__ import annotations

import io
import resource
import sys

import atheris

with atheris.instrument_imports(include=["brined"]):
    import brined

# Address-space cap: large enough for the interpreter and libFuzzer, small enough
# that a bomb that slips past the limits fails quickly.
_AS_LIMIT = 3 << 30
resource.setrlimit(resource.RLIMIT_AS, (_AS_LIMIT, _AS_LIMIT))

# Import what the default policy may resolve, so the sys.modules check below
# only sees imports a hostile input caused.
import _codecs  # noqa: E402,F401
import array  # noqa: E402,F401
import collections  # noqa: E402,F401
import copyreg  # noqa: E402,F401
import datetime  # noqa: E402,F401
import decimal  # noqa: E402,F401
import fractions  # noqa: E402,F401
import ipaddress  # noqa: E402,F401
import pathlib  # noqa: E402,F401
import uuid  # noqa: E402,F401

# Mode 3 loads with the opt-in groups, so their argument guards get fuzzed too.
_GROUPS = brined.Policy(["uuid", "ipaddress", "pathlib", "range", "array"])

_known: set[str] = set()


def _check_imports(before: int) -> None:
    # atheris itself imports modules between inputs: only a change during the
    # load counts, and only names that were never seen before.
    global _known
    if len(sys.modules) != before:
        # Codecs are looked up (and imported) by name when text is decoded.
        new = sorted(
            m for m in set(sys.modules) - _known if not m.startswith("encodings.")
        )
        if new:
            raise AssertionError(f"a load imported {new}")
        _known = set(sys.modules)


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    global _known
    if not _known:
        _known = set(sys.modules)
    # The first byte picks the reader, so the file paths get fuzzed too.
    mode = data[0] % 4 if data else 0
    body = data[1:]
    before = len(sys.modules)
    try:
        if mode == 0:
            brined.loads(body)
        elif mode == 1:
            brined.load(io.BytesIO(body))
        elif mode == 3:
            brined.loads(body, allow=_GROUPS)
        else:
            brined.load(io.BufferedReader(io.BytesIO(body), buffer_size=64))
    except brined.UnpicklingError:
        pass
    _check_imports(before)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
