"""The stalled-job sweeper: every job ends (DESIGN.md invariant 3) even when its worker died.

A ``pending`` or ``running`` job whose ``updated_at`` (moved by every discovery step and every
recorded batch) is older than ``APIHUB_STALL_MINUTES`` is failed with
``Stalled: no progress since <updated_at>`` and its import lock released, in the same conditional
transaction that ends any job: only if it is still not terminal and its ``updated_at`` is still the
one read (a batch recorded meanwhile keeps it alive). Late messages for it then change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from apihub.dal.jobs import JobsRepository
from apihub.models import iso, parse_iso, utcnow
from apihub.observability import logger
from apihub.settings import get_settings


@dataclass(frozen=True)
class SweptJob:
    job_id: str
    supplier_id: str
    status: str  # the status it had (pending or running)
    idle_since: str


def stall_message(idle_since: str) -> str:
    return f"Stalled: no progress since {idle_since}"


def sweep_stalled(
    now: datetime | None = None, *, stall_minutes: int | None = None, jobs: JobsRepository | None = None
) -> list[SweptJob]:
    """Fail every active job idle for ``stall_minutes`` (default: settings) as of ``now``."""
    now = now or utcnow()
    minutes = stall_minutes if stall_minutes is not None else get_settings().stall_minutes
    cutoff = now - timedelta(minutes=minutes)
    jobs = jobs or JobsRepository()
    swept: list[SweptJob] = []
    # A job started after the cutoff cannot have been idle since before it: not even read.
    for item in jobs.active_jobs(started_before=iso(cutoff)):
        last = parse_iso(item.updated_at) or parse_iso(item.started_at)
        if last is None or last >= cutoff:  # idle for more than the limit
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
