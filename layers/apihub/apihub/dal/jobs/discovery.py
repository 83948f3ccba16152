"""A job's discovery state (on the job item, advanced with optimistic concurrency) and its ref
chunks (``REFS#<n>``: the de-duplicated SKUs listing found, fanned out from there)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from apihub.dal.jobs.items import JobItems
from apihub.dal.jobs.keys import cancel_codes, is_condition_failure, job_pk, ref_chunk_sk
from apihub.dal.retries import call_with_retries
from apihub.dal.tables import JobItem, RefsChunkItem
from apihub.models import JobStatus, now_iso

# Ref chunks stored in one transaction with the state that counts them. A chunk item is at most
# 400 KB, and so is the job item: 8 of the one and the other stay under a transaction's 4 MB.
CHUNKS_PER_WRITE = 8


class DiscoveryState(JobItems):
    def update_discovery(self, item: JobItem, changes: dict[str, Any], **attrs: Any) -> bool:
        """Advance the discovery state with optimistic concurrency on its version: two invocations
        working on one job (a duplicated discovery message) cannot both advance it."""
        values, condition = _advance(item, changes, attrs)
        try:
            call_with_retries(
                lambda: item.update(actions=_set_all(values), condition=condition), what="advance discovery"
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def record_listing(self, item: JobItem, chunks: dict[int, list[str]], changes: dict[str, Any]) -> bool:
        """Store ref chunks (number -> SKUs, at most ``CHUNKS_PER_WRITE``) and advance the discovery
        state in one transaction, conditional on the discovery version as ``update_discovery`` is.
        Of two invocations listing one job, the one that loses writes no chunk at all, so a chunk
        always holds what the state counting it says, even when the two listings differed."""
        if not chunks:
            return self.update_discovery(item, changes)
        if len(chunks) > CHUNKS_PER_WRITE:
            raise ValueError(f"at most {CHUNKS_PER_WRITE} ref chunks per write, got {len(chunks)}")
        values, condition = _advance(item, changes, {})

        def write() -> None:
            with TransactWrite(connection=self.conn) as tw:
                for number, skus in chunks.items():
                    tw.save(RefsChunkItem(job_pk(item.id), ref_chunk_sk(number), skus=skus))
                tw.update(JobItem(item.pk, item.sk), actions=_set_all(values), condition=condition)

        try:  # contention (a concurrent write to the job item) is retried with backoff
            call_with_retries(write, what="store ref chunks")
        except TransactWriteError as exc:
            if "ConditionalCheckFailed" in cancel_codes(exc):
                return False  # another invocation advanced the state, or the job ended
            raise
        for name, value in values.items():  # what item.update would have read back
            setattr(item, name, value)
        return True

    def get_ref_chunk(self, job_id: str, number: int) -> list[str]:
        try:
            return list(RefsChunkItem.get(job_pk(job_id), ref_chunk_sk(number), consistent_read=True).skus)
        except DoesNotExist:
            return []


def _advance(item: JobItem, changes: dict[str, Any], attrs: dict[str, Any]) -> tuple[dict[str, Any], Condition]:
    """The job attributes one step of discovery sets, and the condition that it is still the step
    this invocation read (the job running, its discovery version unchanged)."""
    version = int(item.discovery_version or 0)
    values = {
        "discovery": {**(item.discovery or {}), **changes},
        "discovery_version": version + 1,
        "updated_at": now_iso(),
        **attrs,
    }
    condition = (JobItem.status == JobStatus.running.value) & (JobItem.discovery_version == version)
    return values, condition


def _set_all(values: dict[str, Any]) -> list[Any]:
    return [getattr(JobItem, name).set(value) for name, value in values.items()]
