"""Issue 23 item 6: one hydrate invocation has one commit thread, made before any fetch starts and
joined before the batch answers, and a commit that fails after the fetches end turns its records
into batch item failures, never a silent success. No AWS: the jobs repository, the adapter and the
limiter are stand-ins; the window (two jobs' fetch threads asking for the commit thread at the same
moment, the orphan's commit failing slowly) is forced with a barrier."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from apihub.dal.jobs import RecordResult
from apihub.dal.tables import JobItem
from apihub.pipeline import commits, fetching, hydrate
from apihub.settings import reset_settings

JOBS = ("job-a", "job-b")


class Product:
    def __init__(self, sku: str) -> None:
        self.product_id = sku

    def compute_hash(self) -> str:
        return self.product_id


class FakeJobs:
    """The calls a hydrate batch makes on the jobs table, in memory. ``fail_first``: the first commit
    of each job raises after ``delay_s``; ``always_fail``: every commit of these jobs raises."""

    def __init__(self, fail_first: bool = False, always_fail: frozenset[str] = frozenset(), delay_s: float = 0) -> None:
        self.recorded: dict[str, list[str]] = {job: [] for job in JOBS}
        self.fail_first, self.always_fail, self.delay_s = fail_first, always_fail, delay_s
        self.calls: dict[str, int] = dict.fromkeys(JOBS, 0)
        self.lock = threading.Lock()

    def find_item(self, job_id: str) -> JobItem:
        return JobItem(
            f"JOB#{job_id}", "META", id=job_id, status="running", supplier_id="s-1",
            discovery_mode="full_sellable", total_products=100, outcome_groups=1,
        )  # fmt: skip

    def recorded_skus(self, job_id: str, skus: list[str], groups: int | None) -> set[str]:
        return set()

    def stored_hashes(self, item: JobItem, skus: list[str]) -> dict[str, Any]:
        return {}

    def record_outcomes(self, item: JobItem, outcomes: list[Any], existing: Any) -> RecordResult:
        with self.lock:
            self.calls[item.id] += 1
            first = self.calls[item.id] == 1
        if item.id in self.always_fail or (self.fail_first and first):
            time.sleep(self.delay_s)
            raise RuntimeError("TransactionCanceled")
        with self.lock:
            self.recorded[item.id] += [o.sku for o in outcomes]
        return RecordResult(recorded=[o.sku for o in outcomes])

    def __getattr__(self, name: str) -> Any:  # set_throttled, mark_handed_on, ...: nothing to keep
        return lambda *args, **kwargs: None


class FakeAdapter:
    def __init__(self) -> None:
        self.context = SimpleNamespace(guard=SimpleNamespace(target=None))

    def hydrate(self, ref: Any) -> Product:
        time.sleep(0.01)
        return Product(ref.product_id)


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("APIHUB_HYDRATE_CALLS_IN_FLIGHT", "4")
    monkeypatch.setenv("APIHUB_HYDRATE_COMMIT_EVERY_S", "0")  # every outcome makes a commit due
    reset_settings()
    seen: dict[str, Any] = {"commit_executors": 0}
    monkeypatch.setattr(fetching, "adapter_for", lambda supplier_id: FakeAdapter())
    monkeypatch.setattr(fetching, "limit_calls", lambda adapter, **kw: SimpleNamespace(close=lambda: None))
    monkeypatch.setattr(commits.finalise, "if_complete", lambda jobs, job_id: None)
    barrier = threading.Barrier(2, timeout=1)
    real = ThreadPoolExecutor

    def executor(*args: Any, **kwargs: Any) -> ThreadPoolExecutor:
        if kwargs.get("thread_name_prefix") == "commit":
            seen["commit_executors"] += 1
            try:  # two threads asking for the commit thread at once meet here (the window)
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
        return real(*args, **kwargs)

    for module in (commits, fetching):  # where the layer makes its threads
        monkeypatch.setattr(module, "ThreadPoolExecutor", executor)
    yield seen
    reset_settings()


def _records() -> list[dict[str, Any]]:
    return [
        {
            "messageId": f"m-{job}",
            "receiptHandle": f"r-{job}",
            "body": json.dumps({"job_id": job, "skus": [f"{job}-{n}" for n in range(6)]}),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:hydrate",
            "awsRegion": "us-east-1",
        }
        for job in JOBS
    ]


def _run(jobs: FakeJobs, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(hydrate, "JobsRepository", lambda: jobs)
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: 600_000)
    return dict(hydrate.handle_batch(_records(), context))


def test_one_commit_thread_and_a_slow_failed_commit_is_not_lost(
    stand_ins: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two jobs in one batch whose first commits fail, slowly, while the fetches go on
    jobs = FakeJobs(fail_first=True, delay_s=0.3)
    # When the batch runs
    response = _run(jobs, monkeypatch)
    # Then it made one commit thread, and every product was recorded or its record reported failed
    assert stand_ins["commit_executors"] == 1
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for job in JOBS:
        assert f"m-{job}" in failed or sorted(jobs.recorded[job]) == [f"{job}-{n}" for n in range(6)], (job, jobs)


def test_a_commit_failing_after_the_fetches_fails_that_jobs_records_only(
    stand_ins: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch where every commit of job-a fails (job-b's succeed)
    jobs = FakeJobs(always_fail=frozenset({"job-a"}))
    # When the batch runs: it answers rather than raising (which would redeliver job-b's records too)
    response = _run(jobs, monkeypatch)
    # Then job-a's record is a batch item failure, and job-b's products are all recorded
    assert response["batchItemFailures"] == [{"itemIdentifier": "m-job-a"}]
    assert sorted(jobs.recorded["job-b"]) == [f"job-b-{n}" for n in range(6)]
    assert jobs.recorded["job-a"] == []
