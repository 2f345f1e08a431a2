"""Cache keys: a content hash, the code fingerprint of a function, bound arguments.

The fingerprint is computed from compiled code (bytecode, constants, names, argument
counts), never from source text, so moving a line, editing a comment or a docstring
leaves it unchanged.  It follows the names a function reads from its globals and its
closure into the functions, classes and simple constants of the same project (the same
top-level package, or the same module for ``__main__``), transitively, so editing a
helper changes the fingerprint of every cached function that uses it.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import types
from collections.abc import Callable, Iterable
from typing import Any

import brined

__all__ = ["bind_arguments", "code_fingerprint", "content_hash", "target_of"]

# Values of these types read from globals are part of the fingerprint by value:
# a module-level constant a function uses changes its result as much as its code.
_SCALARS = (int, float, complex, str, bytes, bool, type(None))
# co_flags bits that say nothing about behaviour (CO_NESTED) are left out.
_CO_NESTED = 0x10


def content_hash(obj: Any) -> str:
    """The hex content hash of `obj`: `brined.hash`, the same in every process."""
    return str(brined.hash(obj))


def target_of(fn: Callable[..., Any]) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """The plain function under `fn` with the arguments bound in front of it.

    ``functools.partial`` and bound methods unwrap to (function, args, keywords).
    """
    args: tuple[Any, ...] = ()
    keywords: dict[str, Any] = {}
    while True:
        if isinstance(fn, functools.partial):
            args = fn.args + args
            keywords = {**fn.keywords, **keywords}
            fn = fn.func
        elif isinstance(fn, types.MethodType):
            args = (fn.__self__, *args)
            fn = fn.__func__
        else:
            return fn, args, keywords


def _project_of(module: str | None) -> str:
    if not module:
        return "?"
    if module == "__main__":
        return "__main__"
    return module.split(".", 1)[0]


def _same_project(obj: Any, project: str) -> bool:
    module = getattr(obj, "__module__", None)
    if not isinstance(module, str):
        return False
    if project == "__main__":
        return module == "__main__"
    return _project_of(module) == project


class _Fingerprint:
    """One fingerprint walk: visited objects and the tokens it feeds the hash."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.hash = hashlib.blake2b(digest_size=32)
        self.seen: set[int] = set()

    def feed(self, tag: str, data: Any) -> None:
        self.hash.update(f"{tag}:{data!r}\n".encode())

    def code(self, code: types.CodeType, globals_: dict[str, Any] | None) -> None:
        self.feed("code", code.co_name)
        self.feed("bytes", code.co_code)
        self.feed(
            "shape",
            (
                code.co_argcount,
                code.co_posonlyargcount,
                code.co_kwonlyargcount,
                code.co_flags & ~_CO_NESTED,
                code.co_varnames,
                code.co_freevars,
                code.co_cellvars,
                code.co_names,
            ),
        )
        consts = list(code.co_consts)
        # Python <= 3.13 keeps a function's docstring as co_consts[0] (None when there
        # is none); lambdas and comprehensions ("<...>") have no such slot.
        if (
            consts
            and isinstance(consts[0], str)
            and code.co_flags & inspect.CO_NEWLOCALS
            and not code.co_name.startswith("<")
        ):
            consts[0] = None
        for const in consts:
            if isinstance(const, types.CodeType):
                self.code(const, globals_)
            else:
                self.feed("const", const)
        if globals_ is not None:
            self.globals(code, globals_)

    def globals(self, code: types.CodeType, globals_: dict[str, Any]) -> None:
        for name in code.co_names:
            if name not in globals_:
                continue
            value = globals_[name]
            if isinstance(value, types.ModuleType):
                # `helpers.compute(...)`: the attributes this code names on a module
                # of the same project.
                if _project_of(value.__name__) != self.project:
                    continue
                for attr in code.co_names:
                    member = getattr(value, attr, None)
                    if member is not None and _same_project(member, self.project):
                        self.feed("attr", f"{value.__name__}.{attr}")
                        self.any(member)
            elif isinstance(value, _SCALARS) and name.isupper():
                self.feed("constant", (name, value))
            elif _same_project(value, self.project):
                self.feed("global", name)
                self.any(value)

    def any(self, obj: Any) -> None:
        if id(obj) in self.seen:
            return
        self.seen.add(id(obj))
        fn, _, _ = target_of(obj) if callable(obj) else (obj, (), {})
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None and not isinstance(fn, type):
            # functools.wraps decorators, lru_cache, another cached function:
            # the code that runs is the wrapped function's.
            self.feed("wrapped", type(fn).__qualname__)
            self.any(wrapped)
        if isinstance(fn, types.FunctionType):
            self.function(fn)
        elif isinstance(fn, type):
            self.feed("class", fn.__qualname__)
            for name, member in sorted(vars(fn).items()):
                inner = member
                if isinstance(member, (staticmethod, classmethod)):
                    inner = member.__func__
                elif isinstance(member, property):
                    inner = member.fget
                if isinstance(inner, types.FunctionType):
                    self.feed("member", name)
                    self.function(inner)

    def function(self, fn: types.FunctionType) -> None:
        self.seen.add(id(fn))
        self.feed("function", f"{fn.__module__}.{fn.__qualname__}")
        self.code(fn.__code__, fn.__globals__)
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell: a name bound later
                self.feed("cell", "empty")
                continue
            if isinstance(value, (types.FunctionType, functools.partial, type)):
                self.any(value)
            elif isinstance(value, types.ModuleType):
                self.feed("cell-module", value.__name__)
            else:
                try:
                    self.feed("cell", content_hash(value))
                except Exception as exc:
                    raise TypeError(
                        f"{fn.__qualname__} closes over a {type(value).__name__} that"
                        f" cannot be hashed for the cache key: {exc}"
                    ) from exc


def code_fingerprint(fn: Callable[..., Any]) -> str:
    """The hex fingerprint of `fn`'s compiled code and of the project code it uses."""
    target, _, _ = target_of(fn)
    if not isinstance(target, types.FunctionType):
        raise TypeError(
            f"cannot cache {target!r}: a Python function, method or partial is needed"
        )
    walk = _Fingerprint(_project_of(target.__module__))
    walk.function(target)
    return walk.hash.hexdigest()


def bind_arguments(
    signature: inspect.Signature,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    ignore: Iterable[str],
) -> tuple[tuple[str, Any], ...]:
    """The call's arguments bound to `signature`, defaults applied, `ignore` dropped.

    ``f(1)`` and ``f(x=1)`` give the same result; ``**kwargs`` are sorted by name.
    Raises TypeError when the arguments do not fit the signature.
    """
    fast = _simple_binding(signature, args, kwargs, ignore)
    if fast is not None:
        return fast
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    items: list[tuple[str, Any]] = []
    skip = set(ignore)
    for name, value in bound.arguments.items():
        if name in skip:
            continue
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            value = tuple(sorted(value.items()))
        items.append((name, value))
    return tuple(items)


_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
_EMPTY = inspect.Parameter.empty


def _simple_binding(
    signature: inspect.Signature,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    ignore: Iterable[str],
) -> tuple[tuple[str, Any], ...] | None:
    # The common case, bound without inspect's machinery: plain positional-or-keyword
    # parameters only.  Anything else (None) goes through Signature.bind.
    params = signature.parameters
    if len(args) > len(params):
        return None
    items: list[tuple[str, Any]] = []
    used = 0
    for index, (name, param) in enumerate(params.items()):
        if param.kind is not _POSITIONAL:
            return None
        if index < len(args):
            if name in kwargs:
                return None
            value = args[index]
        elif name in kwargs:
            value = kwargs[name]
            used += 1
        elif param.default is not _EMPTY:
            value = param.default
        else:
            return None
        if name not in ignore:
            items.append((name, value))
    if used != len(kwargs):
        return None
    return tuple(items)
