"""The scheduler isolates each supplier: whatever one supplier's import start raises (a domain error,
ServiceBusy, an unexpected exception), the others still start and the run's summary reports it.
Without AWS: the supplier list and the import start are stand-ins."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from apihub.errors import ImportAlreadyRunning, ServiceBusy, SupplierNotImportable
from apihub.jobs import schedules
from apihub.models import DiscoveryMode


def _supplier(slug: str) -> SimpleNamespace:
    return SimpleNamespace(id=f"id-{slug}", slug=slug, is_active=True, schedules={"delta": True})


FAILURES = {
    "id-busy": ServiceBusy("start import: AWS is busy (TransactionConflict on 8 attempt(s)); try again", 1),
    "id-buggy": KeyError("protocol_config"),
    "id-noadapter": SupplierNotImportable("supplier has no adapter_class"),
    "id-running": ImportAlreadyRunning("Running", "delta", "job-0"),
}


def test_each_suppliers_failure_is_isolated_logged_and_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given suppliers whose import start fails in every way, between two that work
    slugs = ["first", "busy", "buggy", "noadapter", "running", "last"]

    class Repo:
        def list(self) -> list[SimpleNamespace]:
            return [_supplier(s) for s in slugs]

    def start_import(supplier_id: str, request: object, *, now: object = None) -> SimpleNamespace:
        if supplier_id in FAILURES:
            raise FAILURES[supplier_id]
        return SimpleNamespace(sync_job_id=f"job-{supplier_id}")

    monkeypatch.setattr(schedules, "SuppliersRepository", Repo)
    monkeypatch.setattr(schedules.service, "start_import", start_import)
    # When the daily tick runs
    with caplog.at_level(logging.WARNING):
        run = schedules.run_scheduled_imports(DiscoveryMode.delta)
    # Then the loop went on past every failure, and the summary says what happened to each supplier
    summary = run.summary()
    assert summary["started"] == {"first": "job-id-first", "last": "job-id-last"}
    assert summary["already_running"] == {"running": "job-0"}
    assert summary["failed"] == {
        "busy": "start import: AWS is busy (TransactionConflict on 8 attempt(s)); try again",
        "buggy": "KeyError: 'protocol_config'",
        "noadapter": "supplier has no adapter_class",
    }
    # And each failure was logged (the unexpected one with its traceback)
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("scheduled import not started") == 2
    assert messages.count("scheduled import failed unexpectedly") == 1
    assert any(r.exc_info for r in caplog.records if r.getMessage() == "scheduled import failed unexpectedly")
