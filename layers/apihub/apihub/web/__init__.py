"""The jobs page: one self-contained HTML file (inline CSS and JS, no build step)."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files


@lru_cache(maxsize=1)
def jobs_page_html() -> str:
    return files(__package__).joinpath("jobs.html").read_text(encoding="utf-8")
