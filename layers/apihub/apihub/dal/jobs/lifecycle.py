"""Status changes of a job item: start, progress marks, and the one conditional transaction that
ends a job (its lock released, its supplier's sync time moved, its ``job.finished`` change event
logged, and for a complete full_sellable import the marker of its discontinuation pass) with exactly
one winner (invariants 3, 5 and 9). What status to end in is decided by ``apihub.jobs.rules`` and
``apihub.pipeline.finalise``; this module only executes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from apihub import observability
from apihub.dal.changes import ChangesRepository
from apihub.dal.jobs.ending_items import discontinue_marker, finished_event
from apihub.dal.jobs.items import JobItems, to_model
from apihub.dal.jobs.keys import (
    ERROR_TEXT_MAX,
    META,
    cancel_codes,
    is_condition_failure,
    job_pk,
    lock_pk,
    status_keys,
)
from apihub.dal.retries import call_with_retries
from apihub.dal.tables import DiscontinueItem, JobItem, LockItem, SupplierItem
from apihub.errors import InvalidTransition
from apihub.models import JobStatus, SyncJob, iso, now_iso

ACTIVE = (JobStatus.pending.value, JobStatus.running.value)


@dataclass
class Ending:
    """How a job ends: its status and what else the ending transaction writes."""

    status: JobStatus
    error_log: str | None = None
    condition: Condition | None = None  # on top of "not terminal yet"
    extra_actions: Sequence[Any] = ()
    supplier_sync: tuple[str, str] | None = None  # (SupplierItem attribute, value)
    completed_at: str | None = None
    counters: tuple[int, int] | None = None  # (success, failed) as decided; else as the item was read
    discontinue: bool = False  # start the discontinuation pass (apihub.jobs.rules.discontinues)
    with_lock: bool = field(default=True, init=False)
    ops: list[str] = field(default_factory=list, init=False)  # the transaction's items, in order


def status_actions(item: JobItem, status: JobStatus, now: str) -> list[Any]:
    """Set the status and every index key that depends on it."""
    keys = status_keys(item.supplier_id, item.job_type, status.value)
    actions = [JobItem.status.set(status.value), JobItem.updated_at.set(now)]
    actions += [getattr(JobItem, name).set(value) for name, value in keys.items()]
    return actions


class JobLifecycle(JobItems):
    def mark_running(self, job_id: str) -> JobItem:
        """pending -> running (idempotent for an already-running job)."""
        item = self.get_item(job_id)
        if item.status == JobStatus.running.value:
            return item
        if item.status != JobStatus.pending.value:
            raise InvalidTransition(f"status: job is {item.status}; it cannot start running")
        try:
            item.update(
                actions=status_actions(item, JobStatus.running, now_iso()),
                condition=JobItem.status == JobStatus.pending.value,
            )
        except UpdateError:
            item.refresh(consistent_read=True)
            if item.status != JobStatus.running.value:
                raise InvalidTransition(f"status: job is {item.status}; it cannot start running") from None
        return item

    def set_total(self, item: JobItem, total: int) -> None:
        item.update(actions=[JobItem.total_products.set(total)], condition=JobItem.status == JobStatus.running.value)

    def set_throttled(self, job_id: str, until: str | None) -> None:
        """Show (or clear) that our limiter or the supplier's 429 holds the job back until ``until``."""
        try:
            JobItem(job_pk(job_id), META).update(
                actions=[JobItem.throttled_until.set(until)] if until else [JobItem.throttled_until.remove()],
                condition=JobItem.status == JobStatus.running.value,
            )
        except UpdateError:
            pass

    def expect_attempt(self, job_id: str, at: str) -> None:
        """Record that work for the job is scheduled for ``at`` (ISO): ``next_attempt_at`` moves
        there unless it is already later. Only while the job is active; best effort (the sweeper's
        stall limit covers an attempt that was never recorded)."""
        condition = JobItem.status.is_in(*ACTIVE) & (
            JobItem.next_attempt_at.does_not_exist() | (JobItem.next_attempt_at < at)
        )
        try:
            JobItem(job_pk(job_id), META).update(actions=[JobItem.next_attempt_at.set(at)], condition=condition)
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise

    def fail(self, job_id: str, error_log: str) -> bool:
        """Fail a pending or running job and release its lock. False when it was already terminal."""
        item = self.find_item(job_id)
        if item is None:
            return False
        return self.end(item, Ending(JobStatus.failed, error_log=error_log))

    def fail_if_idle(self, item: JobItem, error_log: str) -> bool:
        """``fail``, but only if the job made no progress and got no new attempt since ``item`` was
        read (``updated_at`` and ``next_attempt_at`` unchanged): a batch recorded or a retry
        scheduled meanwhile keeps the job alive. Releases the lock."""
        due = item.next_attempt_at
        unchanged = JobItem.next_attempt_at == due if due else JobItem.next_attempt_at.does_not_exist()
        ending = Ending(
            JobStatus.failed, error_log=error_log, condition=(JobItem.updated_at == item.updated_at) & unchanged
        )
        return self.end(item, ending)

    def finalise_counted(
        self,
        item: JobItem,
        final: JobStatus,
        success: int,
        failed: int,
        supplier_sync: tuple[str, str] | None,
        discontinue: bool = False,
    ) -> bool:
        """End a complete job with ``final``, conditional on the exact counters read: of several
        callers that saw the same complete job, exactly one wins (invariant 5). ``discontinue``:
        also write the marker of its discontinuation pass (``DiscontinueItem``)."""
        condition = (
            (JobItem.success_count == success) & (JobItem.failed_count == failed) & (JobItem.discovery_complete == True)  # noqa: E712 - a PynamoDB condition, not a bool test
        )
        ending = Ending(
            final,
            condition=condition,
            extra_actions=[JobItem.records_processed.set(success + failed)],
            supplier_sync=supplier_sync,
            counters=(success, failed),
            discontinue=discontinue,
        )
        return self.end(item, ending)

    def apply_patch(self, item: JobItem, new_status: JobStatus | None, changes: dict[str, Any]) -> SyncJob:
        """Write a PATCH that ``jobs.rules.check_patch`` allowed, conditional on the status read."""
        extra: list[Any] = []
        if "records_processed" in changes:
            extra.append(JobItem.records_processed.set(changes["records_processed"]))
        completed = changes.get("completed_at")
        if new_status is not None and new_status.terminal:
            ending = Ending(
                new_status,
                error_log=changes.get("error_log"),
                extra_actions=extra,
                completed_at=iso(completed) if isinstance(completed, datetime) else None,
            )
            if not self.end(item, ending):
                raise InvalidTransition(f"status: job {item.id} finished meanwhile; a finished job cannot change")
            return self.get(item.id)
        now = now_iso()
        actions: list[Any] = list(extra)
        if new_status is not None and new_status.value != item.status:
            actions += status_actions(item, new_status, now)
        else:
            actions.append(JobItem.updated_at.set(now))
        if "error_log" in changes:
            actions.append(JobItem.error_log.set(changes["error_log"]))
        try:
            item.update(actions=actions, condition=JobItem.status == item.status)
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise InvalidTransition(f"status: job {item.id} changed meanwhile; read it and try again") from None
            raise
        return to_model(item)

    def end(self, item: JobItem, ending: Ending) -> bool:
        """One transaction: the job becomes terminal, its lock goes, and (on success) the supplier's
        last sync time moves. Exactly one caller wins (conditional on the job not being terminal).
        False when the job was already terminal or ``ending.condition`` did not hold."""
        ending.completed_at = ending.completed_at or now_iso()
        actions = self._ending_actions(item, ending)
        condition = JobItem.status.is_in(*ACTIVE)
        if ending.condition is not None:
            condition = condition & ending.condition
        for _ in range(3):
            try:  # contention alone is retried with backoff; an answer (a condition) comes back at once
                call_with_retries(lambda: self._end_transaction(item, ending, actions, condition), what="end the job")
            except TransactWriteError as exc:
                codes = cancel_codes(exc)
                if not codes:
                    raise
                if codes[0] == "ConditionalCheckFailed":
                    return False  # someone else ended it (or the counts moved): they won
                self._drop_optional_parts(ending, codes)
                continue
            observability.job_finished(item.id, item.supplier_id, ending.status.value)  # the one winner
            return True
        return False

    def _ending_actions(self, item: JobItem, ending: Ending) -> list[Any]:
        now = now_iso()
        actions = status_actions(item, ending.status, now)
        actions.append(JobItem.completed_at.set(ending.completed_at or now))
        if ending.error_log is not None:
            actions.append(JobItem.error_log.set(ending.error_log[: ERROR_TEXT_MAX * 4]))
        return actions + list(ending.extra_actions)

    def _end_transaction(self, item: JobItem, ending: Ending, actions: list[Any], condition: Condition) -> None:
        lock = LockItem(lock_pk(item.supplier_id, item.discovery_mode), "LOCK")
        changes = ChangesRepository(self.settings)
        ops: list[str] = []
        # Through the log's client, with job.finished positioned here, at each attempt: the
        # transaction is bounded like every log write (docs/changes.md, "Nothing is skipped").
        with TransactWrite(connection=changes.log_connection()) as tw:
            tw.update(JobItem(item.pk, item.sk), actions=actions, condition=condition)
            ops.append("job")
            if ending.with_lock:
                tw.delete(lock, condition=LockItem.pk.does_not_exist() | (LockItem.job_id == item.id))
                ops.append("lock")
            # job.finished exists iff this transaction commits (invariant 9).
            tw.save(
                changes.item(finished_event(item, ending.status.value, ending.counters, ending.completed_at)),
                condition=changes.put_condition(),
            )
            ops.append("change")
            if ending.discontinue:
                tw.save(discontinue_marker(item, ending.completed_at), condition=DiscontinueItem.pk.does_not_exist())
                ops.append("discontinue")
            if ending.supplier_sync is not None:
                attr, value = ending.supplier_sync
                tw.update(
                    SupplierItem(item.supplier_id),
                    actions=[getattr(SupplierItem, attr).set(value)],
                    condition=SupplierItem.id.exists(),
                )
                ops.append("supplier")
            ending.ops = ops

    @staticmethod
    def _drop_optional_parts(ending: Ending, codes: list[str | None]) -> None:
        """The job itself was fine; drop an optional item whose condition failed (a lock held by
        another job, a deleted supplier) so that the next try can commit."""
        failed = {op for op, code in zip(ending.ops, codes, strict=False) if code == "ConditionalCheckFailed"}
        if "lock" in failed:
            ending.with_lock = False
        if "supplier" in failed:
            ending.supplier_sync = None
