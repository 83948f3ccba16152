"""Every ``# type: ignore`` in the checked code names its error code and says why (issue 13)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("layers/apihub/apihub", "src", "functions")  # pyproject [tool.mypy] files
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[a-z0-9,\- ]+\])?(?P<rest>.*)$")


def unexplained_ignores(text: str) -> list[int]:
    """The line numbers of ``type: ignore`` comments without a code or without a reason after it."""
    bad = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = IGNORE.search(line)
        if match and (not match["codes"] or not re.match(r"\s+#\s*\S", match["rest"])):
            bad.append(number)
    return bad


def test_unexplained_ignores_are_found() -> None:
    assert unexplained_ignores("x = f()  # type: ignore[arg-type]  # the stubs are wrong\n") == []
    assert unexplained_ignores("x = f()  # type: ignore[arg-type]\n") == [1]
    assert unexplained_ignores("x = f()  # type: ignore  # no code\n") == [1]


def test_every_type_ignore_names_its_code_and_its_reason() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{number}"
        for base in CHECKED
        for path in sorted((ROOT / base).rglob("*.py"))
        for number in unexplained_ignores(path.read_text(encoding="utf-8"))
    }
    assert found == set(), "add the reason on the same line: # type: ignore[code]  # why"
