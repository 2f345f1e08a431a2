"""cloudpickle.cloudpickle: the public API, plus brined's nearest equivalents of
the private helpers the suite imports at module level.

Tests that use these private helpers are not counted (see classify.py): the
helpers exist here only so that the test modules import.
"""

from brined.cloud import *  # noqa: F403 - the whole public API, re-exported
from brined.cloud._lookup import (
    lookup_module_and_qualname as _lookup_module_and_qualname,
)
from brined.cloud._lookup import (
    should_pickle_by_reference as _should_pickle_by_reference,
)
from brined.cloud._lookup import which_module as _whichmodule
from brined.cloud._reconstruct import make_empty_cell as _make_empty_cell
from brined.cloud._reduce import class_state as _extract_class_dict
from brined.cloud._reduce import code_globals as _extract_code_globals

__all__ = [
    "_extract_class_dict",
    "_extract_code_globals",
    "_lookup_module_and_qualname",
    "_make_empty_cell",
    "_should_pickle_by_reference",
    "_whichmodule",
]
