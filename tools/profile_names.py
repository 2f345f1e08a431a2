"""List the globals that a library's own pickles name, at protocols 0-5.

    python tools/profile_names.py pandas|scipy_sparse|sklearn

Prints ``module:qualname`` lines: the starting point for a table in
src/brined/_safe/profiles.py (each name is then reviewed by hand).  The objects
are the ones tests/test_profiles.py loads (tests/profile_objects.py).
"""

from __future__ import annotations

import pickle
import pickletools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import profile_objects  # noqa: E402  (found through the path set above)


def names_in(data: bytes) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    memo: dict[int, object] = {}
    strings: list[object] = []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST"):
            module, name = str(arg).split(" ", 1)
            found.add((module, name))
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(arg)
        elif op.name == "MEMOIZE":
            memo[len(memo)] = strings[-1] if strings else None
        elif op.name in ("BINGET", "LONG_BINGET"):
            strings.append(memo.get(int(str(arg))))
        elif op.name == "STACK_GLOBAL":
            found.add((str(strings[-2]), str(strings[-1])))
    return found


def main() -> None:
    objects = getattr(profile_objects, f"{sys.argv[1]}_objects")()
    found: set[tuple[str, str]] = set()
    for _, obj in objects:
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            found |= names_in(pickle.dumps(obj, proto))
    for module, name in sorted(found):
        print(f"{module}:{name}")


if __name__ == "__main__":
    main()
