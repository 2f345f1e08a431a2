"""The dump engine: the pickler's driver and savers, its memo, and reduce helpers.

Imports `_format` and `errors` only; the public `Pickler` is `brined._api.Pickler`.
"""
