"""``GET /api/sync-jobs/health``: per supplier, how its imports have been going lately, and how
fresh its stock is (``apihub.inventory.freshness``)."""

from __future__ import annotations

from pydantic import Field

from apihub.dal.jobs.listing import JobListing  # reads only: not the outcome and lifecycle writers
from apihub.dal.suppliers import SuppliersRepository
from apihub.inventory.freshness import StockSummary, SupplierFreshness, recent_inventory_jobs
from apihub.models import ApihubModel, JobStatus, SyncJob, utcnow
from apihub.modes.table import sync_fields

RECENT_JOBS = 10


class LastJob(ApihubModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    status: JobStatus
    job_type: str
    started_at: str
    completed_at: str | None = None


class SupplierHealth(ApihubModel):
    supplier_id: str
    name: str
    slug: str
    is_active: bool
    # The supplier's sync fields, one per mode row that moves one (``last_full_sync``, ...).
    __annotations__.update(dict.fromkeys(sync_fields(), "str | None"))
    locals().update(dict.fromkeys(sync_fields()))
    status: JobStatus | None = None  # the last job's status; null when it never ran
    last_job: LastJob | None = None
    consecutive_failures: int = 0
    # Stock freshness (docs/inventory.md, "Schedules"): products with stock stored, the p50/p95 age
    # of their confirmed as_of in seconds (null: none stored), the last inventory job, the schedule.
    inventory_products: int = 0
    inventory_age_p50_s: float | None = None
    inventory_age_p95_s: float | None = None
    last_inventory_job: LastJob | None = None
    inventory_every: str | None = None
    inventory_runs_skipped: int = 0


def _last(job: SyncJob | None) -> LastJob | None:
    if job is None:
        return None
    return LastJob(
        id=job.id, status=job.status, job_type=job.job_type, started_at=job.started_at, completed_at=job.completed_at
    )


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
    """One entry per supplier (by slug): a Query on ``BySupplier`` for its newest jobs each and one
    (``Limit`` 1) for its newest inventory job; stock ages from the supplier's stored summary."""
    jobs = JobListing()
    out = []
    now = utcnow()
    for supplier in SuppliersRepository().list():
        recent, _ = jobs.list({"supplier_id": supplier.id}, RECENT_JOBS)
        last = recent[0] if recent else None
        inventory_jobs = recent_inventory_jobs(supplier.id, 1)
        last_inventory = inventory_jobs[0] if inventory_jobs else None
        # The summary the last ended inventory job stored: no product is read here (O(suppliers)).
        summary = StockSummary.from_item(supplier.inventory_stock)
        stock = summary.freshness(now) if summary is not None else SupplierFreshness(0, None, None)
        setting = supplier.schedules.get("inventory")
        out.append(
            SupplierHealth(
                supplier_id=supplier.id,
                name=supplier.name,
                slug=supplier.slug,
                is_active=supplier.is_active,
                **{name: getattr(supplier, name) for name in sync_fields()},
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
                inventory_products=stock.products,
                inventory_age_p50_s=stock.age_p50_s,
                inventory_age_p95_s=stock.age_p95_s,
                last_inventory_job=_last(last_inventory),
                inventory_every=setting.get("every") if isinstance(setting, dict) else None,
                inventory_runs_skipped=supplier.inventory_runs_skipped,
            )
        )
    return out
