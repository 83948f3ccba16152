"""Finalising a job: the last step of every import. When every discovered product has an outcome
and discovery is complete, the job ends in the status its counters give (``jobs.rules``), its lock
is released, its supplier's last sync time moves and its ``job.finished`` event is logged (with,
for a complete full_sellable import, the start of its discontinuation pass), in one conditional transaction that exactly
one of the callers racing to do it wins (docs/architecture.md, Invariants 5).

Called after every committed hydrate batch, at the end of discovery (an empty or fully duplicate
catalog), and by the sweeper for a complete job that nobody finalised."""

from __future__ import annotations

from apihub.dal.jobs import JobsRepository
from apihub.jobs import rules
from apihub.models import DiscoveryMode, JobStatus, SyncJob
from apihub.modes.table import mode_spec
from apihub.pipeline import discontinuation


def if_complete(jobs: JobsRepository, job_id: str) -> SyncJob | None:
    """End ``job_id`` if it is complete; the finished job when this call won, else None."""
    item = jobs.find_item(job_id)
    if item is None or item.status != JobStatus.running.value:
        return None
    total = int(item.total_products or 0)
    success, failed = int(item.success_count or 0), int(item.failed_count or 0)
    if not rules.is_complete(total, success, failed, bool(item.discovery_complete)):
        return None
    final = rules.final_status(success, failed)
    mode = DiscoveryMode(item.discovery_mode)
    sync = rules.supplier_sync(mode, final, item.started_at)
    discontinue = rules.discontinues(mode, final, bool(item.discovery_complete))
    if not jobs.finalise_counted(item, final, success, failed, sync, discontinue):
        return None
    if discontinue:
        # The marker was committed with the ending; this message starts the pass now (the sweeper
        # sends it again if it is lost).
        discontinuation.request(job_id)
    finished = jobs.get(job_id)
    mode_spec(mode).fetches.after_finish(AfterJob(), finished)
    return finished


class AfterJob:
    """What a mode's fetch kind may ask for once its job has ended (``FetchKind.after_finish``)."""

    def summarise_stock(self, job: SyncJob) -> None:
        from apihub.inventory.freshness import record_stock_summary  # only stock jobs load it

        record_stock_summary(job)
