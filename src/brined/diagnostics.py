"""`explain`: every object in a graph that cannot be pickled, with where it is,
why, and what to do about it.

One pass of the pickler in best-effort mode (``on_error="placeholder"``)
over the graph, its output thrown away: each object that cannot be pickled
is recorded (and its insides not visited), everything else is saved as
``dumps`` would save it.
"""

from __future__ import annotations

import io
import socket
import types
from dataclasses import dataclass
from typing import Any

from ._dump.paths import type_name
from ._dump.pickler import Pickler

__all__ = ["Problem", "explain"]


@dataclass(frozen=True)
class Problem:
    """One object that cannot be pickled.

    `path` is where it is (``root.config['handlers'][2].stream``), `type_name`
    its type, `reason` the error pickling it raised (as text), `hint` what
    usually fixes it, and `error` the exception itself.
    """

    path: str
    type_name: str
    reason: str
    hint: str
    error: BaseException

    def __str__(self) -> str:
        return f"{self.path} ({self.type_name}): {self.reason}\n  hint: {self.hint}"


_LOCK_TYPES = {"_thread.lock", "_thread.RLock", "threading.Condition"}


def hint_for(obj: Any, error: BaseException) -> str:
    """What usually fixes "`obj` cannot be pickled"."""
    name = type_name(obj)
    if name in _LOCK_TYPES or name.startswith(("threading.", "_thread.")):
        return (
            "a lock or thread: leave it out in __getstate__ and recreate it in "
            "__setstate__"
        )
    if isinstance(obj, (types.FunctionType, types.LambdaType)) and (
        "<lambda>" in obj.__qualname__ or "<locals>" in obj.__qualname__
    ):
        return (
            "a lambda or local function: define it at module level, or pickle "
            "it by value with brined.cloud"
        )
    if isinstance(obj, io.IOBase):
        return (
            "an open file: store its name (and position) and reopen it in __setstate__"
        )
    if isinstance(
        obj, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
    ):
        return "a generator: materialise it (e.g. list(gen)) before pickling"
    if isinstance(obj, socket.socket):
        return "a socket: store its address and reconnect after loading"
    if isinstance(obj, types.ModuleType):
        return "a module: store its name and import it after loading"
    if isinstance(obj, memoryview):
        return "a memoryview: pickle bytes(view) or the object it views"
    if isinstance(obj, types.FunctionType):
        return (
            "a function that cannot be found by its name: define it at module "
            "level, or pickle it by value with brined.cloud"
        )
    return (
        "define __reduce__ (or __getstate__/__setstate__) for its class, or "
        "register a reducer with copyreg.pickle"
    )


class _Discard:
    """A file that forgets what is written to it."""

    def write(self, data: Any) -> int:
        return len(data)


def explain(
    obj: Any, *, protocol: int | None = None, cloud: bool = False
) -> list[Problem]:
    """Every object in `obj`'s graph that cannot be pickled, in the order a
    dump meets them; an empty list when `obj` pickles.

    Each is reported once (where it is first met) and what is inside it is
    not visited.  An error that no single object causes (a failing
    ``persistent_id``, a protocol too low for a `PickleBuffer`) is reported
    as the last problem, with the path where it happened.  ``cloud=True``
    explains what `brined.cloud.dumps` meets: lambdas, closures and classes
    are then written by value, and the path goes through their closure
    cells, globals, defaults and attributes.
    """
    pickler: Pickler
    if cloud:
        from .cloud import Pickler as CloudPickler

        pickler = CloudPickler(_Discard(), protocol, on_error="placeholder")
    else:
        pickler = Pickler(_Discard(), protocol, on_error="placeholder")
    problems: list[Problem] = []
    failure: BaseException | None = None
    try:
        pickler.dump(obj)
    except Exception as exc:
        failure = exc
    for stand_in, (culprit, error) in zip(
        pickler.replaced, pickler._replaced_errors, strict=True
    ):
        problems.append(
            Problem(
                stand_in.path,
                stand_in.type_name,
                stand_in.reason,
                hint_for(culprit, error),
                error,
            )
        )
    if failure is not None:
        steps = getattr(failure, "path_steps", ())
        problems.append(
            Problem(
                getattr(failure, "path", "root"),
                steps[-1][1] if steps else type_name(obj),
                f"{type(failure).__name__}: {failure}",
                "see the error: it is not caused by one object's type",
                failure,
            )
        )
    return problems


def _explain_command(args: Any, out: Any) -> int:
    """``brined explain FILE.py:NAME``: import FILE.py, explain its NAME."""
    import importlib.util
    import os
    import sys

    target: str = args.target
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        out.write(f"brined explain: expected FILE.py:NAME, got {target!r}\n")
        return 2
    # Imported as a module named after the file, so that its classes and
    # functions can be found by name as a dump would look them up.
    module_name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        out.write(f"brined explain: cannot import {path}\n")
        return 2
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    if not hasattr(module, name):
        out.write(f"brined explain: {path} defines no {name!r}\n")
        return 2
    problems = explain(getattr(module, name), protocol=args.protocol)
    if not problems:
        out.write(f"{name}: pickles (no problem found)\n")
        return 0
    out.write(f"{name}: {len(problems)} object(s) cannot be pickled\n")
    for problem in problems:
        out.write(f"{str(problem).replace('root', name, 1)}\n")
    return 1


def add_command(commands: Any) -> None:
    """Register ``brined explain`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "explain",
        help="list every object in a value that cannot be pickled, and why",
        description="Import FILE.py as a module named after the file and list "
        "every object in its global NAME that cannot be pickled, with its path, "
        "the reason and a hint. Exit 0: it pickles; 1: problems; 2: usage.",
    )
    parser.add_argument("target", metavar="FILE.py:NAME")
    parser.add_argument("--protocol", type=int, default=None)
    parser.set_defaults(handler=_explain_command)
