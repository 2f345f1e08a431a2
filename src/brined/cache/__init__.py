"""brined.Cache: remember the results of expensive calls, on disk or object storage.

See docs/cache.md.  ``import brined.cache`` imports nothing optional: fsspec, the
compressors and the progress bars are imported when a cache uses them.
"""

from __future__ import annotations

from ._common import CacheMiss, CacheWarning
from ._core import Cache
from ._function import CachedFunction

__all__ = ["Cache", "CacheMiss", "CacheWarning", "CachedFunction"]
