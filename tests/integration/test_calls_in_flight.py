"""Issue 16: a hydrate invocation keeps several supplier calls in flight (a small thread pool), as
many as the supplier's free slots allow and never more; every product is still counted once."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from apihub.dal.jobs import JobsRepository
from apihub.ratelimit import Limits, SupplierLimiter

from apihub_fakes.demo_adapter import DemoAdapter
from tests.integration.test_deadlines import FakeContext, _invoke, _receive


class InFlight:
    """Counts the supplier calls in flight at once, through the adapter's call guard as the HTTP
    client does (``before_call`` / ``after_call`` around each call)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def patch(self, monkeypatch: Any) -> None:
        real = DemoAdapter.hydrate
        meter = self

        def hydrate_slowly(adapter: DemoAdapter, ref: Any) -> Any:
            adapter.context.guard.before_call()
            with meter._lock:
                meter.now += 1
                meter.most = max(meter.most, meter.now)
            try:
                time.sleep(meter.seconds)
                return real(adapter, ref)
            finally:
                with meter._lock:
                    meter.now -= 1
                adapter.context.guard.after_call(200, None)

        monkeypatch.setattr(DemoAdapter, "hydrate", hydrate_slowly)


def _one_batch(hub: Any, slots: int, products: int = 50) -> tuple[str, list[dict[str, Any]]]:
    supplier = hub.add_supplier("demo", protocol_config={"products": products, "max_concurrency": slots})
    assert hub.start_import("demo", mode="full_sellable").status == 202
    next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction").poll_once()
    messages = _receive(hub)
    assert sum(len(json.loads(m["Body"])["skus"]) for m in messages) == products
    return supplier["id"], messages


def _outcomes(job_id: str) -> dict[str, str]:
    return JobsRepository().outcome_statuses(job_id, consistent=True)


def test_an_invocation_keeps_as_many_calls_in_flight_as_the_suppliers_slots(hub, monkeypatch) -> None:
    # Given a supplier with 3 slots, one hydrate batch of 50 products (5 messages), and an
    # invocation allowed 5 calls in flight (APIHUB_HYDRATE_CALLS_IN_FLIGHT's default)
    _, messages = _one_batch(hub, slots=3)
    job_id = json.loads(messages[0]["Body"])["job_id"]
    calls = InFlight(seconds=0.05)
    calls.patch(monkeypatch)
    # When one invocation hydrates the batch
    result = _invoke(hub, messages, FakeContext(150.0))
    # Then it kept 3 calls in flight: more than one at a time, never more than the supplier allows
    assert calls.most == 3
    # And every product is recorded once, the job done
    assert result["batchItemFailures"] == []
    assert set(_outcomes(job_id).values()) == {"success"} and len(_outcomes(job_id)) == 50
    job = hub.job(job_id)
    assert (job["status"], job["success_count"], job["failed_count"]) == ("success", 50, 0)


def test_slots_held_elsewhere_leave_an_invocation_one_call_at_a_time_without_waiting(hub, monkeypatch) -> None:
    # Given a supplier with 3 slots, 2 of them held by another worker for the whole invocation
    supplier_id, messages = _one_batch(hub, slots=3, products=20)
    job_id = json.loads(messages[0]["Body"])["job_id"]
    other = SupplierLimiter(
        supplier_id, Limits(rate=1000, burst=1000, max_concurrency=3), lease_s=60, calls_in_flight=2
    )
    other.before_call()
    assert other.held == 2
    calls = InFlight(seconds=0.02)
    calls.patch(monkeypatch)
    try:
        # When an invocation hydrates the batch
        started = time.monotonic()
        result = _invoke(hub, messages, FakeContext(150.0))
        elapsed = time.monotonic() - started
    finally:
        other.after_call(200, None)
        other.close()
    # Then it made its calls one at a time, on the one free slot, and nothing was throttled
    assert calls.most == 1
    assert result["batchItemFailures"] == [] and len(_outcomes(job_id)) == 20
    assert elapsed < 20  # no wait on the busy slots (the limiter would wait up to 5 s per try)


def test_a_commit_in_progress_holds_no_fetching_thread(hub, monkeypatch) -> None:
    # Given one batch of 50 products, 5 calls in flight allowed and 5 slots, every outcome's commit
    # due at once (APIHUB_HYDRATE_COMMIT_EVERY_S=0), and a commit that takes 0.15 s (a slow store)
    from apihub.pipeline.commits import Committer
    from apihub.settings import reset_settings

    monkeypatch.setenv("APIHUB_HYDRATE_COMMIT_EVERY_S", "0")
    reset_settings()
    _, messages = _one_batch(hub, slots=5)
    job_id = json.loads(messages[0]["Body"])["job_id"]
    calls = InFlight(seconds=0.05)
    calls.patch(monkeypatch)
    during_commits: list[int] = []
    real_commit = Committer.try_commit

    def slow_commit(committer: Committer, state: Any) -> None:
        time.sleep(0.075)
        during_commits.append(calls.now)  # calls in flight halfway through the commit
        time.sleep(0.075)
        real_commit(committer, state)

    monkeypatch.setattr(Committer, "try_commit", slow_commit)
    # When one invocation hydrates the batch
    result = _invoke(hub, messages, FakeContext(150.0))
    # Then while a commit ran, all 5 calls were in flight at some point: a commit made on a
    # fetching thread would leave at most 4 (that thread waits on the store, its slot idle)
    assert during_commits, "no progressive commit ran"
    assert max(during_commits) == 5, during_commits
    # And every product is still recorded once
    assert result["batchItemFailures"] == []
    job = hub.job(job_id)
    assert (job["status"], job["success_count"], job["failed_count"]) == ("success", 50, 0)


def test_the_batchs_last_commit_runs_while_its_slots_are_handed_back(hub, monkeypatch) -> None:
    # Given one batch of 30 products (fewer than a transaction's worth: no commit falls due while
    # they are fetched), 5 calls in flight, and handing the slots back that takes 0.2 s
    from apihub.pipeline.commits import Committer
    from apihub.ratelimit import SupplierLimiter

    _, messages = _one_batch(hub, slots=5, products=30)
    job_id = json.loads(messages[0]["Body"])["job_id"]
    InFlight(seconds=0.01).patch(monkeypatch)
    events: list[str] = []
    real_close, real_commit = SupplierLimiter.close, Committer.commit

    def slow_close(limiter: SupplierLimiter) -> None:
        events.append("release starts")
        time.sleep(0.2)
        real_close(limiter)
        events.append("release ends")

    def commit(committer: Committer, state: Any) -> None:
        if state.outcomes:
            events.append(f"commit of {len(state.outcomes)}")
        real_commit(committer, state)

    monkeypatch.setattr(SupplierLimiter, "close", slow_close)
    monkeypatch.setattr(Committer, "commit", commit)
    # When one invocation hydrates the batch
    result = _invoke(hub, messages, FakeContext(150.0))
    # Then its 30 outcomes were committed in one commit, started before the slots were all back
    # (after them, the invocation's end would wait for both, one after the other)
    assert events.count("commit of 30") == 1, events
    assert events.index("commit of 30") < events.index("release ends"), events
    # And every product is recorded once, the job done
    assert result["batchItemFailures"] == []
    job = hub.job(job_id)
    assert (job["status"], job["success_count"], job["failed_count"]) == ("success", 30, 0)
