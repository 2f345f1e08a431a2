"""A stand-in `cloudpickle` package: brined.cloud under cloudpickle's name.

Used only by run.sh to run cloudpickle's own test suite against brined.cloud.
"""

from brined.cloud import *  # noqa: F403 - the whole public API, re-exported
from brined.cloud import __all__  # noqa: F401

__version__ = "3.1.2"
