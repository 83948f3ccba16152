"""``GET /api/sync-jobs/health``: per supplier, how its imports have been going lately."""

from __future__ import annotations

from apihub.dal.jobs import JobsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.models import ApihubModel, JobStatus, SyncJob

RECENT_JOBS = 10


class LastJob(ApihubModel):
    id: str
    status: JobStatus
    job_type: str
    started_at: str
    completed_at: str | None = None


class SupplierHealth(ApihubModel):
    supplier_id: str
    name: str
    slug: str
    is_active: bool
    last_full_sync: str | None = None
    last_delta_sync: str | None = None
    status: JobStatus | None = None  # the last job's status; null when it never ran
    last_job: LastJob | None = None
    consecutive_failures: int = 0


def consecutive_failures(newest_first: list[SyncJob]) -> int:
    """``failed`` jobs in a row, newest first; jobs still running do not break (or extend) the run."""
    count = 0
    for job in newest_first:
        if not job.status.terminal:
            continue
        if job.status is not JobStatus.failed:
            break
        count += 1
    return count


def supplier_health() -> list[SupplierHealth]:
    """One entry per supplier (by slug): a Query on ``BySupplier`` for its newest jobs each."""
    jobs = JobsRepository()
    out = []
    for supplier in SuppliersRepository().list():
        recent, _ = jobs.list({"supplier_id": supplier.id}, RECENT_JOBS)
        last = recent[0] if recent else None
        out.append(
            SupplierHealth(
                supplier_id=supplier.id,
                name=supplier.name,
                slug=supplier.slug,
                is_active=supplier.is_active,
                last_full_sync=supplier.last_full_sync,
                last_delta_sync=supplier.last_delta_sync,
                status=last.status if last else None,
                last_job=LastJob(
                    id=last.id,
                    status=last.status,
                    job_type=last.job_type,
                    started_at=last.started_at,
                    completed_at=last.completed_at,
                )
                if last
                else None,
                consecutive_failures=consecutive_failures(recent),
            )
        )
    return out
