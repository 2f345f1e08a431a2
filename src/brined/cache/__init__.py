"""brined.Cache: remember the results of expensive calls, on disk or object storage.

See docs/cache.md.  ``import brined.cache`` imports nothing optional: fsspec, the
compressors and the progress bars are imported when a cache uses them.
"""

from __future__ import annotations

from ._core import Cache, CachedFunction, CacheMiss, CacheWarning

__all__ = ["Cache", "CacheMiss", "CacheWarning", "CachedFunction"]
