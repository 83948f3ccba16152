"""The layer's import structure: no module imports itself back through others, deferred (function
level) imports included, and the data layer (``apihub.dal``) imports nothing from the packages built
on it (``jobs``, ``pipeline``, ``api``). Imports under ``if TYPE_CHECKING:`` are not imports at run time
and are left out. A cycle or an upward import added later fails here, naming the modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "apihub"
PACKAGE = "apihub"
ABOVE_DAL = ("apihub.jobs", "apihub.pipeline", "apihub.api")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(LAYER).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in (LAYER / PACKAGE).rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _import_nodes_of(child))
            continue
        yield from _import_nodes_of(node)


def _import_nodes_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _import_nodes(node)


def _resolve(name: str) -> str | None:
    """The layer module ``name`` loads last (a module, or a package), or None outside the layer."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _packages(name: str) -> list[str]:
    """Importing ``a.b.c`` runs ``a/__init__``, ``a.b/__init__`` and ``a.b.c``."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts)) if ".".join(parts[: i + 1]) in MODULES]


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            if not target.startswith(PACKAGE):
                continue
            resolved = _resolve(target)
            if resolved is not None:
                found.update(_packages(resolved))
    found.discard(module)
    # A package's own modules importing the package's __init__ is how Python loads them: not an edge back.
    return {m for m in found if not module.startswith(m + ".")}


GRAPH = {module: imports_of(module) for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_layer_has_no_import_cycle_deferred_imports_included() -> None:
    assert _cycles(GRAPH) == []


def test_the_data_layer_imports_nothing_from_the_packages_built_on_it() -> None:
    upward = {
        (module, target)
        for module, targets in GRAPH.items()
        if module.startswith("apihub.dal")
        for target in targets
        if target.startswith(ABOVE_DAL)
    }
    assert upward == set()


def test_the_walk_sees_a_cycle_through_a_deferred_import() -> None:
    graph = {"a": {"b"}, "b": set(), "c": {"d"}, "d": {"c"}}
    assert _cycles(graph) == [["c", "d"]]
    # and deferred imports are edges: apihub.pipeline.finalise imports a module inside a function
    source = "def f():\n    from apihub.dal import bodies\n"
    assert [n.module for n in _import_nodes(ast.parse(source)) if isinstance(n, ast.ImportFrom)] == ["apihub.dal"]
