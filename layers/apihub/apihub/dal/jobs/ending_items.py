"""The items a job's ending transaction writes besides the job and its lock (``lifecycle.end``):
the ``job.finished`` change event, and the marker of a discontinuation pass."""

from __future__ import annotations

from apihub.changes.detect import job_finished_event
from apihub.changes.events import ChangeEvent
from apihub.dal.jobs.keys import DISCONTINUE_PENDING, DISCONTINUE_SK, job_pk
from apihub.dal.tables import DiscontinueItem, JobItem


def finished_event(
    item: JobItem, status: str, counters: tuple[int, int] | None, completed_at: str | None
) -> ChangeEvent:
    """``job.finished`` for ``item`` ending in ``status``; ``counters`` (success, failed) as the ending
    decided them, else as the item was read."""
    success, failed = counters or (int(item.success_count or 0), int(item.failed_count or 0))
    figures = {"total_products": int(item.total_products or 0), "success_count": success, "failed_count": failed}
    return job_finished_event(item.id, item.supplier_id, item.discovery_mode, status, figures, completed_at or "")


def discontinue_marker(item: JobItem, completed_at: str | None) -> DiscontinueItem:
    """The pass's state: pending (in the sparse ``ByStatus`` index under ``discontinue``, where the
    sweeper finds one whose message was lost), from the first product of the supplier."""
    at = completed_at or ""
    return DiscontinueItem(
        job_pk(item.id),
        DISCONTINUE_SK,
        job_id=item.id,
        supplier_id=item.supplier_id,
        job_started_at=item.started_at,
        discontinued_at=at,
        updated_at=at,
        gsi_status=DISCONTINUE_PENDING,
        gsi_sort=f"{at}#{item.id}",
    )
