"""A process that uses a brined.Cache, for the multi-process cache tests.

    python -m tests.cache_worker once LOCATION COUNTER X   call slow(X), print it
    python -m tests.cache_worker write LOCATION COUNTER 0  store big(0), big(1), ...

Options come from the environment: CACHE_TEST_OPTIONS (JSON keyword arguments for
Cache) and CACHE_TEST_SLEEP (seconds slow() takes).  Each computation appends one
line to COUNTER, so the test counts computations across processes.
"""

from __future__ import annotations

import json
import os
import sys
import time

from brined.cache import Cache


def _count(counter: str, text: str) -> None:
    fd = os.open(counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{os.getpid()} {text}\n".encode())
    finally:
        os.close(fd)


def slow(x: int) -> dict[str, int]:
    _count(os.environ["CACHE_TEST_COUNTER"], f"slow {x}")
    time.sleep(float(os.environ.get("CACHE_TEST_SLEEP", "0")))
    return {"x": x, "double": 2 * x}


def big(i: int) -> bytes:
    return bytes([i % 256]) * (4 << 20)


def main(argv: list[str]) -> int:
    mode, location, counter, n = argv
    os.environ["CACHE_TEST_COUNTER"] = counter
    options = json.loads(os.environ.get("CACHE_TEST_OPTIONS", "{}"))
    cache = Cache(location, key="t" * 32, **options)
    if mode == "once":
        print(json.dumps(cache(slow)(int(n))), flush=True)
        return 0
    cached_big = cache(big)
    i = int(n)
    while True:
        cached_big(i)
        print(i, flush=True)
        i += 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
