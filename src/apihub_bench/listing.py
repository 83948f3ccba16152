"""``GET /api/sync-jobs?status=failed&limit=20`` over HTTP with 100, 2,000 and 20,000 jobs stored."""

from __future__ import annotations

import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

from apihub_bench.figures import p50

LIST_PATH = "/api/sync-jobs?status=failed&limit=20"
STATUSES = ("success", "failed", "partial_success", "success")  # a quarter of the jobs failed


def seed_jobs(count: int, start_index: int, *, supplier_id: str, supplier_name: str) -> None:
    """Store ``count`` finished jobs, spread over past months, newest index first.

    The first one goes through ``JobsRepository.store_without_lock`` (which also moves the jobs
    epoch back); the rest are the same items written with BatchWriteItem, 25 per request, which is
    the fast way to seed and writes exactly what ``store_without_lock`` would, and the epoch is
    moved back to the oldest of them (before, jobs of older months were never listed)."""
    from apihub.dal.jobs import JobsRepository
    from apihub.dal.jobs.items import new_item
    from apihub.dal.tables import JobItem
    from apihub.models import DiscoveryMode, JobStatus, SyncJob

    repo = JobsRepository()
    base = datetime(2026, 1, 1, tzinfo=UTC)

    def job(i: int) -> SyncJob:
        started = (base - timedelta(minutes=37 * i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return SyncJob(
            id=str(uuid.UUID(int=i + 1)),
            supplier_id=supplier_id,
            supplier_name=supplier_name,
            job_type="import:full_sellable",
            status=JobStatus(STATUSES[i % len(STATUSES)]),
            discovery_mode=DiscoveryMode.full_sellable,
            total_products=10,
            started_at=started,
            updated_at=started,
            completed_at=started,
        )

    indexes = range(start_index, start_index + count)
    if start_index == 0:
        repo.store_without_lock(job(0))
        indexes = range(1, count)
    with JobItem.batch_write() as batch:
        for i in indexes:
            batch.save(new_item(job(i)))  # the item store_without_lock writes, batched
    if len(indexes):  # the oldest batched job's month too: the all-jobs listing walks back to it
        repo.note_month(job(indexes[-1]).started_at)


def list_latency_ms(url: str, token: str, *, requests: int, warmup: int = 3) -> float:
    """Median wall time of the list request, sequential requests over HTTP to the local server."""
    request = urllib.request.Request(url + LIST_PATH, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    timings = []
    for n in range(warmup + requests):
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own loopback server
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"list: HTTP {response.status} {body[:200]!r}")
        if n >= warmup:
            timings.append((time.perf_counter() - started) * 1000)
    return round(p50(timings), 1)
