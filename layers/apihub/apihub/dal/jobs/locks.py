"""Import locks (``LOCK#<supplier>#<mode>``): one import per supplier and mode at a time (invariant 4).

A new job and its lock are written in one transaction, so a job exists iff it took the lock. A lock
whose job is over (a crash between ending the job and releasing it cannot happen, but a lock left by
an older release of the code could) is broken and taken again."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from apihub.dal.jobs.items import new_item
from apihub.dal.jobs.keys import cancel_codes, lock_pk
from apihub.dal.jobs.listing import JobListing
from apihub.dal.retries import call_with_retries
from apihub.dal.tables import JobItem, LockItem
from apihub.errors import ImportAlreadyRunning
from apihub.models import JobStatus, SyncJob


class JobLocks(JobListing):
    def create_with_lock(self, job: SyncJob) -> None:
        """Store a new pending job and take its supplier+mode lock in one transaction (invariant 4)."""
        self.note_month(job.started_at)
        for _ in range(3):
            try:  # contention (TransactionConflict, throttling) is retried with backoff, then 503
                call_with_retries(lambda: self._create(job), what="create the job and its lock")
                return
            except TransactWriteError as exc:
                codes = cancel_codes(exc)
                if not codes or codes[0] != "ConditionalCheckFailed":
                    raise
            holder = self._lock_holder(job.supplier_id, job.discovery_mode.value)
            if holder is None:
                continue  # released meanwhile: try again
            holder_job = self.find_item(holder.job_id)
            if holder_job is None or JobStatus(holder_job.status).terminal:
                self._break_stale_lock(holder)  # the job it names is over: the lock is stale
                continue
            raise ImportAlreadyRunning(job.supplier_name, job.discovery_mode.value, holder.job_id)
        raise ImportAlreadyRunning(job.supplier_name, job.discovery_mode.value, "unknown")

    def _create(self, job: SyncJob) -> None:
        lock = LockItem(
            lock_pk(job.supplier_id, job.discovery_mode.value), "LOCK", job_id=job.id, acquired_at=job.started_at
        )
        with TransactWrite(connection=self.conn) as tw:
            tw.save(lock, condition=LockItem.pk.does_not_exist())
            tw.save(new_item(job), condition=JobItem.pk.does_not_exist())

    def _lock_holder(self, supplier_id: str, mode: str) -> LockItem | None:
        try:
            return LockItem.get(lock_pk(supplier_id, mode), "LOCK", consistent_read=True)
        except DoesNotExist:
            return None

    def _break_stale_lock(self, lock: LockItem) -> None:
        try:
            lock.delete(condition=LockItem.job_id == lock.job_id)
        except DeleteError:  # someone else broke or replaced it meanwhile: the caller's retry decides
            return

    def lock_holder_job(self, supplier_id: str, mode: str) -> str | None:
        """The id of the job holding this supplier+mode lock, if any."""
        holder = self._lock_holder(supplier_id, mode)
        return holder.job_id if holder else None
