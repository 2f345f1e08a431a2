"""The compiled build's runtime dependency, declared only when it is built.

`HATCH_BUILD_HOOKS_ENABLE=1` switches on the mypyc build hook (pyproject.toml).
That build reads and writes bytes with librt.strings, mypyc's runtime library,
whose calls compile to plain C calls; so the compiled wheel requires librt.  The
pure-Python wheel never imports it and requires nothing.
"""

from __future__ import annotations

import os
from typing import Any

from hatchling.metadata.plugin.interface import MetadataHookInterface

# The librt whose strings module has BytesWriter and the read_*/write_* calls.
LIBRT = "librt>=0.17"


class CompiledDependencyHook(MetadataHookInterface):
    def update(self, metadata: dict[str, Any]) -> None:
        compiled = os.environ.get("HATCH_BUILD_HOOKS_ENABLE") in {"1", "true"}
        metadata["dependencies"] = [LIBRT] if compiled else []
