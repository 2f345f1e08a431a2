# Temporary stand-in while the real pickler is written; replaced in the next commits.
from pickle import PickleBuffer
from pickle import _dump as dump
from pickle import _dumps as dumps
from pickle import _Pickler as Pickler

__all__ = ["PickleBuffer", "Pickler", "dump", "dumps"]
