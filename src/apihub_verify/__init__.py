"""Figures for ``make verify`` (dev-only).

Each verification run (a test, a fuzzing session, a load run) calls ``record(suite, ...)``; when
``APIHUB_VERIFY_DIR`` is set, the figures go to ``$APIHUB_VERIFY_DIR/<suite>--<part>.json``, one
file per writer (so parallel pytest workers never share a file). ``python -m apihub_verify.report``
sums the files per suite and renders ``docs/reliability.md``. Without the variable, ``record`` does
nothing: ``make test`` writes no figures.

A file holds: ``suite``, ``title``, ``part`` (who wrote it), ``examples`` (generated cases or
runs), ``requests`` (HTTP requests sent), ``faults`` (faults injected, by kind), ``failures``
(property or assertion failures found), ``command``, ``notes``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

ENV = "APIHUB_VERIFY_DIR"


def output_dir() -> Path | None:
    raw = os.environ.get(ENV, "").strip()
    return Path(raw) if raw else None


def record(
    suite: str,
    part: str,
    *,
    title: str | None = None,
    examples: int = 0,
    requests: int = 0,
    faults: dict[str, int] | None = None,
    failures: int = 0,
    command: str | None = None,
    notes: list[str] | None = None,
    **extra: Any,
) -> Path | None:
    """Write one part's figures for ``suite`` (replacing that part's earlier file). Returns the path."""
    out = output_dir()
    if out is None:
        return None
    out.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{suite}--{part}")[:180]
    path = out / f"{safe}.json"
    data = {
        "suite": suite,
        "title": title or suite,
        "part": part,
        "examples": int(examples),
        "requests": int(requests),
        "faults": {k: int(v) for k, v in (faults or {}).items()},
        "failures": int(failures),
        "command": command or os.environ.get("APIHUB_VERIFY_COMMAND", "make verify"),
        "notes": list(notes or []),
        **extra,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)
    return path
