"""Adapter tests talk to fake suppliers on http://127.0.0.1: allow that, as the local stack does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def allow_loopback_suppliers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from apihub.settings import reset_settings

    monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "true")
    reset_settings()
    yield
    reset_settings()
