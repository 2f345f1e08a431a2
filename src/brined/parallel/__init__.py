"""Process pools that take lambdas, closures and ``__main__`` functions.

`ProcessPoolExecutor` and `Pool` are the stdlib's, shipping callables,
arguments, results and exceptions with `brined.cloud` (by value), under every
start method; `get_context(method)` is `multiprocessing.get_context` with those
pools.  Large contiguous buffers (numpy arrays and other protocol-5 buffers)
travel through shared memory.  See docs/parallel.md.

Workers are your own processes: what they send back is loaded with
`brined.cloud.loads`, which trusts its input.
"""

from __future__ import annotations

from ._payload import DEFAULT_SHM_THRESHOLD
from ._pools import Context, Pool, ProcessPoolExecutor, get_context

__all__ = [
    "DEFAULT_SHM_THRESHOLD",
    "Context",
    "Pool",
    "ProcessPoolExecutor",
    "get_context",
]
