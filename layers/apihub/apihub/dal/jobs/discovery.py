"""A job's discovery state (on the job item, advanced with optimistic concurrency) and its ref
chunks (``REFS#<n>``: the de-duplicated SKUs listing found, fanned out from there)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from apihub.dal.jobs.items import JobItems
from apihub.dal.jobs.keys import is_condition_failure, job_pk, ref_chunk_sk
from apihub.dal.tables import JobItem, RefsChunkItem
from apihub.models import JobStatus, iso, utcnow


class DiscoveryState(JobItems):
    def update_discovery(self, item: JobItem, changes: dict[str, Any], **attrs: Any) -> bool:
        """Advance the discovery state with optimistic concurrency on its version: two invocations
        working on one job (a duplicated discovery message) cannot both advance it."""
        version = int(item.discovery_version or 0)
        actions = [
            JobItem.discovery.set({**(item.discovery or {}), **changes}),
            JobItem.discovery_version.set(version + 1),
            JobItem.updated_at.set(iso(utcnow()) or ""),
        ]
        actions += [getattr(JobItem, name).set(value) for name, value in attrs.items()]
        condition = (JobItem.status == JobStatus.running.value) & (JobItem.discovery_version == version)
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def put_ref_chunk(self, job_id: str, number: int, skus: list[str]) -> None:
        RefsChunkItem(job_pk(job_id), ref_chunk_sk(number), skus=skus).save()

    def get_ref_chunk(self, job_id: str, number: int) -> list[str]:
        try:
            return list(RefsChunkItem.get(job_pk(job_id), ref_chunk_sk(number), consistent_read=True).skus)
        except DoesNotExist:
            return []
