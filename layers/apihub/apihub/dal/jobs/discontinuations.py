"""The discontinuation pass of a complete full_sellable job (``DISCONTINUE`` marker items): its
progress, the SKUs the job listed, and the passes still pending. What the pass does is
``apihub.pipeline.discontinuation``; the marker is written by the transaction that ends the job."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from apihub.dal.jobs.items import JobItems
from apihub.dal.jobs.keys import DISCONTINUE_PENDING, DISCONTINUE_SK, is_condition_failure, job_pk
from apihub.dal.tables import DiscontinueItem, JobItem, RefsChunkItem
from apihub.models import now_iso


class Discontinuations(JobItems):
    def discontinue_marker(self, job_id: str) -> DiscontinueItem | None:
        try:
            return DiscontinueItem.get(job_pk(job_id), DISCONTINUE_SK, consistent_read=True)
        except DoesNotExist:
            return None

    def listed_skus(self, job_id: str) -> set[str]:
        """Every SKU the job's listing stored (its ref chunks): its sellable list."""
        query = RefsChunkItem.query(job_pk(job_id), RefsChunkItem.sk.startswith("REFS#"), consistent_read=True)
        return {sku for chunk in query for sku in chunk.skus}

    def advance_discontinue(self, marker: DiscontinueItem, cursor: str | None, discontinued: int, done: bool) -> bool:
        """Move the pass on to ``cursor`` (the last product done), conditional on the cursor it
        started from: of two invocations running the pass, the one behind stops. ``done`` takes the
        marker out of the pending index."""
        now = now_iso()
        actions: list[Action] = [DiscontinueItem.updated_at.set(now), DiscontinueItem.discontinued.add(discontinued)]
        actions.append(DiscontinueItem.cursor.set(cursor) if cursor is not None else DiscontinueItem.cursor.remove())
        if done:
            actions += [
                DiscontinueItem.done_at.set(now),
                DiscontinueItem.gsi_status.remove(),
                DiscontinueItem.gsi_sort.remove(),
            ]
        same = (
            DiscontinueItem.cursor == marker.cursor
            if marker.cursor is not None
            else DiscontinueItem.cursor.does_not_exist()
        )
        try:
            marker.update(actions=actions, condition=same & DiscontinueItem.done_at.does_not_exist())
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def pending_discontinuations(self, limit: int = 100) -> list[str]:
        """Job ids whose discontinuation pass has not finished, oldest first."""
        query = JobItem.idx_status.query(DISCONTINUE_PENDING, limit=limit, scan_index_forward=True)
        return [item.pk.removeprefix("JOB#") for item in query]
