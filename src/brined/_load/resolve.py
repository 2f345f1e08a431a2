"""How a load resolves globals: `find_class`, under the load policy.

`_Resolver` (over `_Machine`) is the base of `Unpickler`.  The policy is asked
before anything is imported, and what a name resolves to is checked again (an
allowed module can re-export a blocked object).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from _typeshed import IdentityFunction

from .._safe.policy import ALLOWED, BLOCKED, default_policy, is_blocked_object
from ..errors import UnsafeGlobalError
from .io import op_name
from .names import py3_name
from .ops import _Machine

try:
    from mypy_extensions import mypyc_attr
except ImportError:
    # mypyc reads the decorator at compile time; at run time it does nothing, so
    # neither build needs mypy_extensions installed.
    def mypyc_attr(*attrs: str, **kwattrs: object) -> IdentityFunction:
        return lambda cls: cls


__all__ = ["_Resolver"]

_ModuleType: Final = type(sys)


# Unpickler, which Python code subclasses, derives from this class.
@mypyc_attr(allow_interpreted_subclasses=True)
class _Resolver(_Machine):
    """`find_class` and its checks; see the module docstring."""

    def find_class(self, module: str, name: str) -> Any:
        """Return the global `module`.`name`, if the load policy allows it.

        With ``trusted=True`` this is the stdlib's find_class.  Otherwise the
        (fix_imports-mapped) name is checked before anything is imported and a
        refused name raises `UnsafeGlobalError`.
        """
        sys.audit("pickle.find_class", module, name)
        policy = self._policy
        # The name as the pickle wrote it, for a refusal's message.
        written = "" if policy is None else f"{module}.{name}"
        if self.proto < 3 and self.fix_imports:
            module, name = py3_name(module, name)
        if policy is not None:
            verdict = policy.check(module, name)
            if verdict != ALLOWED:
                raise self._refusal(module, name, verdict, written)
        __import__(module, level=0)
        root: Any = sys.modules[module]
        obj = root
        if self.proto < 4:
            obj = getattr(obj, name)
        else:
            for part in name.split("."):
                if part == "<locals>":
                    raise AttributeError(
                        f"Can't get local attribute {name!r} on {obj!r}"
                    )
                if policy is not None and obj is not root and type(obj) is _ModuleType:
                    # Walking from one module into another ("mod.os.path")
                    # would step around the name checks.
                    raise self._refusal(module, name, BLOCKED, written)
                obj = getattr(obj, part)
        if policy is not None:
            self._check_resolved(module, name, obj, written)
            # What the policy resolved, for the guards (see _note_global).
            self._resolved = obj
        return obj

    def _refusal(
        self, module: str, name: str, verdict: int, written: str
    ) -> UnsafeGlobalError:
        policy = self._policy if self._policy is not None else default_policy()
        return policy.refusal(
            module,
            name,
            verdict,
            offset=self._op_offset,
            opcode=op_name(self._op_code),
            written=written,
        )

    def _check_resolved(self, module: str, name: str, obj: Any, written: str) -> None:
        # The name passed the policy, but an allowed module can re-export a
        # blocked object (``from os import system``) or a module: check what the
        # name actually resolved to.
        if is_blocked_object(obj):
            raise self._refusal(module, name, BLOCKED, written)
