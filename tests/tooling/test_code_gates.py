"""The layer's size and complexity gates (docs/architecture.md, "Gates").

A module of the layer stays under 400 lines and a function under 60, so each can be read whole; every
block keeps radon's cyclomatic rank C or better, the gate `make lint` also runs with xenon. Each test
names every offender, so one run lists all the work a change left.
"""

from __future__ import annotations

import ast
from pathlib import Path

from radon.complexity import cc_rank, cc_visit

LAYER = Path(__file__).resolve().parents[2] / "layers" / "apihub" / "apihub"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
WORST_RANK = "C"


def _modules() -> list[Path]:
    return sorted(LAYER.rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(LAYER.parent))


def test_no_layer_module_is_over_400_lines() -> None:
    long = {_name(p): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_layer_function_is_over_60_lines() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{_name(path)}:{node.lineno} {node.name}"] = lines
    assert long == {}, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_every_layer_block_ranks_c_or_better() -> None:
    worse = {}
    for path in _modules():
        for block in cc_visit(path.read_text()):
            if cc_rank(block.complexity) > WORST_RANK:
                worse[f"{_name(path)}:{block.lineno} {block.fullname}"] = cc_rank(block.complexity)
    assert worse == {}, f"blocks ranked worse than {WORST_RANK}: {worse}"


def test_the_gates_see_an_offender(tmp_path: Path) -> None:
    """The checks above would fail: a long, branchy function is caught by each measure."""
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(40))
    source = f"def f(x):\n{branches}\n    return -1\n"
    tree = ast.parse(source)
    function = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))
    assert (function.end_lineno or 0) - function.lineno + 1 > MAX_FUNCTION_LINES
    assert cc_rank(cc_visit(source)[0].complexity) > WORST_RANK
