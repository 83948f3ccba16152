"""A controlled clock for the domain modules (tests only)."""

from __future__ import annotations

from datetime import datetime

import pytest


class Clock:
    """The time the domain sees (``utcnow`` in the modules that stamp jobs); tests move ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


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
        "apihub.dal.jobs.repository",  # every part of the jobs table (the package loads them lazily)
        "apihub.pipeline.retry_timing",
    ):
        importlib.import_module(name)
    real = models.utcnow
    for name, module in list(sys.modules.items()):
        if name.startswith("apihub.") and getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", clock)


def controlled_clock(monkeypatch: pytest.MonkeyPatch, start: datetime) -> Clock:
    """A ``Clock`` at ``start`` that every domain module sees for the rest of the test."""
    clock = Clock(start)
    patch_domain_clock(monkeypatch, clock)
    return clock
