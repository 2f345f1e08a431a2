# Temporary stand-in while the real unpickler is written; replaced in the next commits.
from pickle import _load as load
from pickle import _loads as loads
from pickle import _Unpickler as Unpickler

__all__ = ["Unpickler", "load", "loads"]
