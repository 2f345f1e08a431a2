"""Look inside a pickle without running it: disassemble, scan, show.

`disassemble` writes ``pickletools.dis`` text; `scan` reports every global a
pickle would import and every call it would make, with a verdict that agrees
with `brined.loads` under the same policy; `show` renders the contents as a
tree.  All three run without importing or calling anything the pickle names.
"""

from __future__ import annotations

from .dis import DisResult, disassemble
from .scan import CLEAN, EXIT_CODES, INVALID, UNSAFE, Call, GlobalUse, ScanReport, scan

__all__ = [
    "CLEAN",
    "EXIT_CODES",
    "INVALID",
    "UNSAFE",
    "Call",
    "DisResult",
    "GlobalUse",
    "ScanReport",
    "disassemble",
    "scan",
]
