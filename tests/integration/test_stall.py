"""Issue 12 finding 3: the sweeper judges progress, not silence. A job is swept only when no work
for it can still arrive: not while a retry is due, not while its messages wait in the queue, and a
complete job that nobody finalised is finalised, not failed (apihub/jobs/sweeper.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apihub.dal.jobs import JobsRepository
from apihub.errors import TransientError
from apihub.jobs.sweeper import QueuedWork, stall_message, sweep_stalled
from apihub.models import DiscoveryMode, DiscoveryParams, JobStatus, SyncJob, iso
from apihub.pipeline import finalise
from apihub.settings import get_settings

from apihub_fakes.demo_adapter import DemoAdapter
from apihub_local.template import Template
from tests.domain_clock import Clock, controlled_clock

NOTHING_QUEUED = QueuedWork(held=lambda url: 0)  # what approximate queue counts may say


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return controlled_clock(monkeypatch, datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


def _mapping(hub: Any, function: str) -> Any:
    return next(m for m in hub.mappings if m.fn.logical_id == function)


def _stall() -> timedelta:
    return timedelta(minutes=get_settings().stall_minutes)


def _start(hub: Any, products: int = 3) -> str:
    hub.add_supplier("demo", protocol_config={"products": products})
    res = hub.start_import("demo", mode="full_sellable")
    assert res.status == 202, res.json
    return str(res.json["sync_job_id"])


def test_a_job_is_not_swept_while_a_retry_after_of_15_minutes_is_due(hub, clock: Clock, monkeypatch) -> None:
    # Given an import whose second product the supplier answers with 429 and Retry-After: 900
    real = DemoAdapter.hydrate

    def too_many_requests(self: DemoAdapter, ref: Any) -> Any:
        if ref.product_id == "DEMO-00002":
            raise TransientError("supplier answered HTTP 429", code="429", retry_after=900)
        return real(self, ref)

    monkeypatch.setattr(DemoAdapter, "hydrate", too_many_requests)
    started = clock.now
    job_id = _start(hub)
    _mapping(hub, "DiscoverFunction").poll_once()
    _mapping(hub, "HydrateFunction").poll_once()  # the others are recorded; the retry is due in 15 min
    assert hub.job(job_id)["success_count"] == 2
    assert JobsRepository().get_item(job_id).next_attempt_at == iso(started + timedelta(seconds=900))
    # When the sweeper runs past the stall limit since the last progress, but not since the retry,
    # even with queue counts saying nothing is left
    assert sweep_stalled(started + _stall() + timedelta(minutes=1), queued=NOTHING_QUEUED) == []
    # Then the job runs on
    assert hub.job(job_id)["status"] == "running"
    # And only a stall limit after the retry was due, with nothing queued, is it swept
    later = started + timedelta(seconds=900) + _stall() + timedelta(minutes=1)
    assert [s.job_id for s in sweep_stalled(later, queued=NOTHING_QUEUED)] == [job_id]
    assert hub.job(job_id)["error_log"] == stall_message(iso(started) or "")


def test_a_transient_discovery_error_is_retried_before_the_sweeper_fails_the_job(
    hub, clock: Clock, monkeypatch
) -> None:
    # Given a supplier whose listing times out once
    real = DemoAdapter.discover
    failures = [TransientError("supplier timed out listing products")]

    def flaky(self: DemoAdapter, request: Any, cursor: str | None = None) -> Any:
        if failures:
            raise failures.pop()
        return real(self, request, cursor)

    monkeypatch.setattr(DemoAdapter, "discover", flaky)
    started = clock.now
    job_id = _start(hub)
    _mapping(hub, "DiscoverFunction").poll_once()  # fails: the message comes back after its visibility
    visibility = Template().resources["DiscoveryQueue"]["Properties"]["VisibilityTimeout"]
    # When the sweeper runs as the retry arrives, after more than the old 30-minute stall limit
    clock.now = started + timedelta(seconds=visibility, minutes=1)
    assert sweep_stalled(clock.now) == []
    # Then the retry finds the job still running and the import ends with its real outcome
    hub.drain()
    job = hub.job(job_id)
    assert (job["status"], job["success_count"]) == ("success", 3)


def test_a_complete_job_nobody_finalised_is_finalised_by_the_sweeper_not_failed(hub, clock: Clock, monkeypatch) -> None:
    # Given a job whose every product was recorded by an invocation that died before finalising,
    # and whose message was then lost
    started = clock.now
    job_id = _start(hub)
    _mapping(hub, "DiscoverFunction").poll_once()
    real = finalise.if_complete

    def dies(jobs: JobsRepository, jid: str) -> None:
        raise RuntimeError("the invocation died here")

    monkeypatch.setattr(finalise, "if_complete", dies)
    _mapping(hub, "HydrateFunction").poll_once()
    monkeypatch.setattr(finalise, "if_complete", real)
    hub.sqs.purge_queue(QueueUrl=hub.stack.queue_urls["HydrateQueue"])
    assert (hub.job(job_id)["status"], hub.job(job_id)["success_count"]) == ("running", 3)
    # When the sweeper finds it idle
    swept = sweep_stalled(started + _stall() + timedelta(minutes=1))
    # Then it is finalised with the status its counters give, not failed as stalled
    assert swept == []
    job = hub.job(job_id)
    assert (job["status"], job["success_count"], job["error_log"]) == ("success", 3, None)
    assert hub.start_import("demo", mode="full_sellable").status == 202  # its lock is released


def test_a_job_waiting_behind_other_work_in_its_queue_is_not_swept(hub, clock: Clock) -> None:
    # Given an import fanned out to the hydrate queue, whose messages wait behind another import's
    started = clock.now
    job_id = _start(hub, products=30)
    _mapping(hub, "DiscoverFunction").poll_once()
    # When the sweeper runs an hour past the stall limit
    late = started + _stall() + timedelta(hours=1)
    # Then the job is waiting its turn, not stalled
    assert sweep_stalled(late) == []
    assert hub.job(job_id)["status"] == "running"
    # And once nothing is left in its queue (its messages lost), it is swept
    hub.sqs.purge_queue(QueueUrl=hub.stack.queue_urls["HydrateQueue"])
    assert [s.job_id for s in sweep_stalled(late)] == [job_id]


def _seed_running(supplier: dict[str, Any], updated: datetime) -> str:
    job = SyncJob(
        id=str(uuid.uuid4()),
        supplier_id=supplier["id"],
        supplier_name=supplier["name"],
        job_type="import:delta",
        status=JobStatus.running,
        discovery_mode=DiscoveryMode.delta,
        started_at=iso(updated - timedelta(hours=1)) or "",
        updated_at=iso(updated) or "",
        params=DiscoveryParams(),
    )
    JobsRepository().store_without_lock(job)
    return job.id


def test_a_retry_scheduled_after_the_sweeper_read_the_job_keeps_it_alive(hub) -> None:
    supplier = hub.add_supplier("demo")
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    job_id = _seed_running(supplier, now - timedelta(hours=3))
    jobs = JobsRepository()
    stale_view = jobs.get_item(job_id)
    # Given a retry scheduled after the sweeper read the job
    jobs.expect_attempt(job_id, iso(now + timedelta(minutes=15)) or "")
    # Then failing it from the stale read does nothing
    assert jobs.fail_if_idle(stale_view, stall_message(stale_view.updated_at)) is False
    assert hub.job(job_id)["status"] == "running"


def test_the_next_attempt_only_moves_later_and_never_on_a_finished_job(hub) -> None:
    supplier = hub.add_supplier("demo")
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    job_id = _seed_running(supplier, now)
    jobs = JobsRepository()
    later, sooner = iso(now + timedelta(minutes=15)) or "", iso(now + timedelta(minutes=1)) or ""
    jobs.expect_attempt(job_id, later)
    jobs.expect_attempt(job_id, sooner)
    assert jobs.get_item(job_id).next_attempt_at == later
    jobs.fail(job_id, "cancelled")
    jobs.expect_attempt(job_id, iso(now + timedelta(hours=1)) or "")
    assert jobs.get_item(job_id).next_attempt_at == later
