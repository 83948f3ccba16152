"""The stalled-job sweeper: every job ends (docs/architecture.md, Invariants 3) even when its worker died, and
no job is swept while work for it can still arrive (invariant 8). It judges progress, not silence.

A ``pending`` or ``running`` job is **stalled** when all of these hold:

1. it has been quiet for ``APIHUB_STALL_MINUTES``: no progress since ``updated_at`` (moved by every
   discovery step and every committed batch) and no attempt due since ``next_attempt_at`` (a
   redelivery's backoff, a supplier's ``Retry-After``, a delayed hand-on). The stall limit covers
   the longest path one message can take with nothing recorded (every receive dying, visibility
   timeout after visibility timeout); tests/infrastructure/test_timing.py derives it from the
   template and fails when ``StallMinutes`` is shorter;
2. it is not complete: a job whose every product has an outcome but which nobody finalised (its
   last invocation died first) is finalised here, with the status its counters give;
3. the queue its work lives in (discovery until discovery is complete, then hydrate) holds no
   message, waiting, in flight or delayed: a job whose messages wait behind another large import
   on the shared queue is waiting its turn, not stalled. The queues are shared, so any message
   keeps every quiet job of that queue alive; they end once the queue drains.

A stalled job is failed with ``Stalled: no progress since <updated_at>`` and its import lock
released, in the same conditional transaction that ends any job: only if it is still not terminal
and its ``updated_at`` and ``next_attempt_at`` are still the ones read (a batch recorded or a retry
scheduled meanwhile keeps it alive). Late messages for it then change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apihub.dal import queues
from apihub.dal.jobs import JobsRepository
from apihub.dal.tables import JobItem
from apihub.jobs import rules
from apihub.models import iso, parse_iso, utcnow
from apihub.observability import logger
from apihub.pipeline import finalise
from apihub.settings import get_settings


@dataclass(frozen=True)
class SweptJob:
    job_id: str
    supplier_id: str
    status: str  # the status it had (pending or running)
    idle_since: str


def stall_message(idle_since: str) -> str:
    return f"Stalled: no progress since {idle_since}"


def quiet_since(item: JobItem) -> datetime | None:
    """The later of the job's last progress and its next due attempt."""
    times = [parse_iso(item.updated_at) or parse_iso(item.started_at), parse_iso(item.next_attempt_at)]
    return max((t for t in times if t is not None), default=None)


class QueuedWork:
    """Whether the queue a job's work lives in still holds messages (each queue read once)."""

    def __init__(self, held: Callable[[str], int] | None = None) -> None:
        self.held = held or queues.messages_held
        self.counts: dict[str, int] = {}

    def waiting(self, item: JobItem) -> bool:
        settings = get_settings()
        url = settings.hydrate_queue_url if item.discovery_complete else settings.discovery_queue_url
        if url not in self.counts:
            self.counts[url] = self.held(url)
        return self.counts[url] > 0


def sweep_stalled(
    now: datetime | None = None,
    *,
    stall_minutes: int | None = None,
    jobs: JobsRepository | None = None,
    queued: QueuedWork | None = None,
) -> list[SweptJob]:
    """Fail every stalled job as of ``now`` (see the module's rule); finalise the complete ones."""
    now = now or utcnow()
    minutes = stall_minutes if stall_minutes is not None else get_settings().stall_minutes
    cutoff = now - timedelta(minutes=minutes)
    jobs = jobs or JobsRepository()
    queued = queued or QueuedWork()
    swept: list[SweptJob] = []
    # A job started after the cutoff cannot have been idle since before it: not even read.
    for item in jobs.active_jobs(started_before=iso(cutoff)):
        since = quiet_since(item)
        if since is None or since >= cutoff:
            continue
        total, success, failed = (
            int(item.total_products or 0),
            int(item.success_count or 0),
            int(item.failed_count or 0),
        )
        if rules.is_complete(total, success, failed, bool(item.discovery_complete)):
            if finalise.if_complete(jobs, item.id) is not None:
                logger.warning("complete job finalised by the sweeper", extra={"job_id": item.id})
            continue
        if queued.waiting(item):
            logger.info("idle job waits behind queued work", extra={"job_id": item.id, "quiet_since": iso(since)})
            continue
        idle_since = item.updated_at or item.started_at
        if jobs.fail_if_idle(item, stall_message(idle_since)):
            swept.append(SweptJob(item.id, item.supplier_id, item.status, idle_since))
            logger.warning(
                "stalled job failed",
                extra={
                    "job_id": item.id,
                    "supplier_id": item.supplier_id,
                    "was": item.status,
                    "idle_since": idle_since,
                },
            )
    return swept
