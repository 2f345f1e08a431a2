"""The shape of the tree: module sizes, no import cycles, layers, the public surface.

Read from the sources with `ast` (nothing is imported to find the edges), so
imports inside functions and under ``if TYPE_CHECKING:`` count as edges too.
ARCHITECTURE.md's map is the picture of what these tests enforce.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import brined

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "brined"
MAX_LINES = 800

# Modules over MAX_LINES that are being split on another branch: emptied at the
# merge that lands the split (the test fails once an entry is no longer needed).
PENDING_SPLIT: dict[str, str] = {}

# Import cycles being removed on another branch, each as its set of modules.
PENDING_CYCLES: dict[frozenset[str], str] = {}

# The engine's layers, bottom up, and what each may import from brined.  Any
# top-level module or package not named here is a feature (cloud/, cache/,
# checkpoint/, parallel/, connection.py, dask.py, ...): features may import
# the engine; the engine never imports a feature, `analyze` or `cli`.
ENGINE_DEPS: dict[str, frozenset[str]] = {
    "_format": frozenset(),
    "_build": frozenset(),
    "errors": frozenset(),
    "_safe": frozenset(["_format", "errors"]),
    "_dump": frozenset(["_format", "_build", "errors"]),
    "_load": frozenset(["_format", "_build", "_safe", "errors"]),
    "_api": frozenset(["_dump", "_load"]),
}
# Above the engine, not features: the analysis tools and the command line.
TOOLS = frozenset(["analyze", "cli", "_demo", "__main__", "__init__"])


@dataclass(frozen=True)
class Edge:
    source: str  # importing module, dotted
    target: str  # imported brined module, dotted
    line: int

    def where(self) -> str:
        path = self.source.replace(".", "/")
        return f"{path}.py:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _resolve(importer: str, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not _is_package(importer):
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _edges(name: str, source: str) -> list[Edge]:
    tree = ast.parse(source, name)
    found: list[Edge] = []
    for node in ast.walk(tree):  # every import, however deep (functions too)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "brined":
                    found.append(Edge(name, alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, node.level, node.module)
            if target.split(".")[0] != "brined":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                # `from pkg import submodule` depends on the submodule.
                found.append(Edge(name, sub if sub in MODULES else target, node.lineno))
    return [e for e in found if e.target != name]


EDGES = [
    edge for name, path in MODULES.items() for edge in _edges(name, path.read_text())
]


def _unit(module: str) -> str:
    """The top-level part of brined a module belongs to (`_load`, `cli`, ...)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _cycles(edges: list[Edge] = EDGES) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {e.source: set() for e in edges}
    graph.update((name, set()) for name in MODULES if edges is EDGES)
    for edge in edges:
        if edge.target in graph:
            graph[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# -- sizes -----------------------------------------------------------------------


def _line_counts() -> dict[str, int]:
    return {
        str(p.relative_to(PACKAGE)): len(p.read_text().splitlines())
        for p in MODULES.values()
    }


def test_no_module_is_over_800_lines() -> None:
    over = {
        path: n
        for path, n in _line_counts().items()
        if n > MAX_LINES and path not in PENDING_SPLIT
    }
    assert not over, f"modules over {MAX_LINES} lines (split them): {over}"


def test_every_pending_split_is_still_pending() -> None:
    counts = _line_counts()
    done = [p for p in PENDING_SPLIT if counts.get(p, 0) <= MAX_LINES]
    assert not done, f"no longer over {MAX_LINES} lines: drop from PENDING_SPLIT {done}"


# -- cycles ----------------------------------------------------------------------


def test_no_import_cycle_among_brineds_modules() -> None:
    new = [c for c in _cycles() if frozenset(c) not in PENDING_CYCLES]
    detail = [
        sorted({e.where() for e in EDGES if e.source in c and e.target in c})
        for c in new
    ]
    assert not new, f"import cycles (imports in functions count): {detail}"


def test_every_pending_cycle_is_still_a_cycle() -> None:
    current = {frozenset(c) for c in _cycles()}
    gone = [sorted(c) for c in PENDING_CYCLES if c not in current]
    assert not gone, f"no longer cycles: drop from PENDING_CYCLES {gone}"


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import() -> None:
    # The checker itself: an import inside a function is an edge.
    tree = ast.parse("def f():\n    from .b import x\n")
    node = tree.body[0].body[0]  # type: ignore[attr-defined]
    assert isinstance(node, ast.ImportFrom) and node.level == 1
    assert _resolve("brined.analyze.scan", 1, "b") == "brined.analyze.b"
    assert _resolve("brined._load", 1, "ops") == "brined._load.ops"
    assert _resolve("brined._load.ops", 2, "errors") == "brined.errors"
    edges = _edges("brined._load.a", "def f():\n    from .b import x\n")
    edges += _edges("brined._load.b", "from .a import y\n")
    assert _cycles(edges) == [["brined._load.a", "brined._load.b"]]


# -- layers ----------------------------------------------------------------------


def test_the_engine_imports_only_the_layers_below_it() -> None:
    wrong = sorted(
        e.where()
        for e in set(EDGES)
        if _unit(e.source) in ENGINE_DEPS
        and _unit(e.target) != _unit(e.source)
        and _unit(e.target) not in ENGINE_DEPS[_unit(e.source)]
    )
    assert not wrong, f"engine imports outside its layer (see ENGINE_DEPS): {wrong}"


def test_format_imports_nothing_from_brined() -> None:
    wrong = [e.where() for e in EDGES if _unit(e.source) == "_format"]
    wrong = [w for w in wrong if "brined._format" not in w.split(" imports ")[1]]
    assert not wrong


def test_analyze_never_imports_a_feature_or_the_cli() -> None:
    allowed = set(ENGINE_DEPS) | {"analyze"}
    wrong = [
        e.where()
        for e in EDGES
        if _unit(e.source) == "analyze" and _unit(e.target) not in allowed
    ]
    assert not wrong


def test_every_top_level_part_is_a_layer_a_tool_or_a_feature() -> None:
    # A new top-level module is a feature unless it is named in ENGINE_DEPS.
    units = {_unit(m) for m in MODULES}
    assert set(ENGINE_DEPS) | {"analyze", "cli", "__main__", "__init__"} <= units
    features = units - set(ENGINE_DEPS) - TOOLS
    assert all(not f.startswith("_") for f in features), features


# -- the public surface ----------------------------------------------------------


def test_every_name_in_all_is_importable() -> None:
    missing = [name for name in brined.__all__ if not hasattr(brined, name)]
    assert not missing
    assert len(set(brined.__all__)) == len(brined.__all__)


def _init_statement_ok(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.module in ("__future__", "typing") or node.level == 1
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant)  # the docstring
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = {t.id for t in targets if isinstance(t, ast.Name)}
        # __all__, __version__ and the table of lazily exported names.
        return bool(names) and names <= {"__all__", "__version__", "_LAZY"}
    if isinstance(node, ast.FunctionDef):
        return node.name in ("__getattr__", "__dir__")
    if isinstance(node, ast.If):  # if TYPE_CHECKING: imports for type checkers
        return all(isinstance(n, ast.ImportFrom) for n in node.body)
    return False


def test_init_only_re_exports() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    extra = [ast.unparse(n)[:80] for n in tree.body if not _init_statement_ok(n)]
    assert not extra, f"brined/__init__.py should only re-export: {extra}"


def test_init_imports_name_only_public_names_or_the_lazy_table() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    }
    assert imported <= set(brined.__all__), imported - set(brined.__all__)


def test_lazy_names_are_in_all_and_resolve() -> None:
    lazy: dict[str, str] = getattr(brined, "_LAZY", {})
    assert set(lazy) <= set(brined.__all__)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        brined.no_such_name  # noqa: B018 - the lookup is the test


# Besides the stdlib: brined, and what the engine imports when it is there
# (librt in the compiled build; mypy_extensions' decorators, tried and
# replaced by no-ops when missing).
_ENGINE_OPTIONAL = ("brined", "librt", "mypy_extensions")


def test_import_brined_imports_only_the_stdlib_and_the_engine() -> None:
    code = (
        "import sys; before = set(sys.modules); import brined; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = done.stdout.split()
    foreign = [
        m
        for m in loaded
        if m.split(".")[0] not in sys.stdlib_module_names
        and m.split(".")[0] not in _ENGINE_OPTIONAL
        and not m.endswith("__mypyc")  # the compiled build's shared C module
    ]
    assert not foreign, f"import brined pulls in {foreign}"
    features = [
        m for m in loaded if m.startswith("brined.") and _unit(m) not in ENGINE_DEPS
    ]
    assert not features, f"import brined imports {features}: export them lazily"
