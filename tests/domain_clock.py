"""A controlled clock for the domain modules (tests only)."""

from __future__ import annotations

import pytest


def patch_domain_clock(monkeypatch: pytest.MonkeyPatch, clock: object) -> None:
    """Make every domain module that stamps times (each imports ``apihub.models.utcnow`` by name)
    see ``clock`` instead: one place, so a module added or split later is covered too."""
    import importlib
    import sys

    from apihub import models

    for name in (
        "apihub.jobs.service",
        "apihub.jobs.sweeper",
        "apihub.dal.suppliers",
        "apihub.dal.jobs",
        "apihub.pipeline.retry_timing",
    ):
        importlib.import_module(name)
    real = models.utcnow
    for name, module in list(sys.modules.items()):
        if name.startswith("apihub.") and getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", clock)
