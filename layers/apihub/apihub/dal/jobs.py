"""Jobs table access: job items, per-product outcomes, import locks, discovery ref chunks.

Every invariant of DESIGN.md that lives in DynamoDB is enforced here with conditional writes:
exactly-once outcomes (1), one import per supplier and mode (4), finalise once (5), and "a terminal
job never changes" (3).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from apihub import observability
from apihub.dal.tables import (
    JOB_LIST_INDEXES,
    EpochItem,
    HandoffItem,
    JobItem,
    LockItem,
    OutcomeItem,
    ProductItem,
    RefsChunkItem,
    SupplierItem,
    bind_tables,
)
from apihub.errors import ImportAlreadyRunning, InvalidTransition, JobNotFound
from apihub.models import (
    DiscoveryMode,
    JobError,
    JobStatus,
    SyncJob,
    iso,
    utcnow,
)
from apihub.pagination import decode_cursor, encode_cursor
from apihub.settings import Settings, get_settings

META = "META"
EPOCH_PK = "META#JOBS"
EPOCH_SK = "EPOCH"
# DynamoDB allows 100 items per transaction; each product needs up to 2 (outcome + product) and
# the job and supplier updates take 2 more.
PRODUCTS_PER_TRANSACTION = 45
ERROR_TEXT_MAX = 1000


def job_pk(job_id: str) -> str:
    return f"JOB#{job_id}"


def lock_pk(supplier_id: str, mode: str) -> str:
    return f"LOCK#{supplier_id}#{mode}"


def month_bucket(started_at: str) -> str:
    return f"JOBS#{started_at[:7]}"


def _status_keys(supplier_id: str, job_type: str, status: str) -> dict[str, str]:
    return {
        "gsi_status": status,
        "gsi_status_type": f"{status}#{job_type}",
        "gsi_supplier_status": f"{supplier_id}#{status}",
        "gsi_supplier_status_type": f"{supplier_id}#{status}#{job_type}",
    }


def _index_values(filters: dict[str, str]) -> str:
    """The hash-key value of the index serving this filter combination (see JOB_LIST_INDEXES)."""
    parts = [filters[k] for k in ("supplier_id", "status", "job_type") if k in filters]
    return "#".join(parts)


@dataclass
class Outcome:
    """One product's result within a hydrate batch."""

    sku: str
    error: str | None = None  # None: success
    product: Any = None  # apihub.models.Product on success
    message_id: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class RecordResult:
    recorded: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    job_terminal: bool = False
    products_written: int = 0


def to_model(item: JobItem) -> SyncJob:
    return SyncJob(
        id=item.id,
        supplier_id=item.supplier_id,
        supplier_name=item.supplier_name,
        job_type=item.job_type,
        status=JobStatus(item.status),
        discovery_mode=DiscoveryMode(item.discovery_mode),
        total_products=int(item.total_products) if item.total_products is not None else None,
        success_count=int(item.success_count or 0),
        failed_count=int(item.failed_count or 0),
        records_processed=int(item.records_processed)
        if item.records_processed is not None
        else int(item.success_count or 0) + int(item.failed_count or 0),
        errors=[JobError(sku=e["sku"], error=e["error"]) for e in (item.errors or [])],
        errors_truncated=bool(item.errors_truncated),
        error_log=item.error_log,
        started_at=item.started_at,
        completed_at=item.completed_at,
        updated_at=item.updated_at,
        retry_of=item.retry_of,
        params=item.params or {},
        throttled_until=item.throttled_until,
    )


def _cancel_codes(exc: TransactWriteError) -> list[str | None]:
    return [r.code if r else None for r in (exc.cancellation_reasons or [])]


class JobsRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.conn = bind_tables(self.settings)

    # ------------------------------------------------------------------ create / lock
    def create_with_lock(self, job: SyncJob) -> None:
        """Store a new pending job and take its supplier+mode lock in one transaction (invariant 4)."""
        for _ in range(3):
            try:
                self._create(job)
                return
            except TransactWriteError as exc:
                codes = _cancel_codes(exc)
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
        mode = job.discovery_mode.value
        lock = LockItem(lock_pk(job.supplier_id, mode), "LOCK", job_id=job.id, acquired_at=job.started_at)
        item = self._new_item(job)
        epoch = EpochItem(EPOCH_PK, EPOCH_SK)
        with TransactWrite(connection=self.conn) as tw:
            tw.save(lock, condition=LockItem.pk.does_not_exist())
            tw.save(item, condition=JobItem.pk.does_not_exist())
            # First month that holds jobs: the all-jobs listing walks month buckets down to it.
            tw.update(epoch, actions=[EpochItem.first_month.set(EpochItem.first_month | job.started_at[:7])])

    def store_without_lock(self, job: SyncJob) -> None:
        """Store a job record as is, taking no lock (seeding history, benchmarks, tests)."""
        self._new_item(job).save(condition=JobItem.pk.does_not_exist())
        month = job.started_at[:7]
        try:  # an older record moves the first month back; a newer one leaves it
            EpochItem(EPOCH_PK, EPOCH_SK).update(
                actions=[EpochItem.first_month.set(month)],
                condition=EpochItem.first_month.does_not_exist() | (EpochItem.first_month > month),
            )
        except UpdateError as exc:
            if not _is_condition_failure(exc):
                raise

    def _new_item(self, job: SyncJob) -> JobItem:
        status = job.status.value
        return JobItem(
            job_pk(job.id),
            META,
            id=job.id,
            supplier_id=job.supplier_id,
            supplier_name=job.supplier_name,
            job_type=job.job_type,
            status=status,
            discovery_mode=job.discovery_mode.value,
            total_products=job.total_products,
            success_count=0,
            failed_count=0,
            errors=[],
            errors_truncated=False,
            started_at=job.started_at,
            updated_at=job.updated_at,
            retry_of=job.retry_of,
            params=job.params.model_dump(exclude_none=True),
            discovery={},
            discovery_complete=False,
            gsi_sort=f"{job.started_at}#{job.id}",
            gsi_all=month_bucket(job.started_at),
            gsi_type=job.job_type,
            gsi_supplier=job.supplier_id,
            gsi_supplier_type=f"{job.supplier_id}#{job.job_type}",
            **_status_keys(job.supplier_id, job.job_type, status),
        )

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
        holder = self._lock_holder(supplier_id, mode)
        return holder.job_id if holder else None

    # ------------------------------------------------------------------ reads
    def find_item(self, job_id: str) -> JobItem | None:
        try:
            return JobItem.get(job_pk(job_id), META, consistent_read=True)
        except DoesNotExist:
            return None

    def get_item(self, job_id: str) -> JobItem:
        item = self.find_item(job_id)
        if item is None:
            raise JobNotFound(job_id)
        return item

    def get(self, job_id: str) -> SyncJob:
        return to_model(self.get_item(job_id))

    def list(
        self, filters: dict[str, str], limit: int, next_token: str | None = None
    ) -> tuple[list[SyncJob], str | None]:
        """Newest first; exactly ``limit`` jobs whenever that many match. One Query per page on the
        index for this filter combination, then a BatchGet of the (keys-only) hits."""
        index_name, _ = JOB_LIST_INDEXES[frozenset(filters)]
        index = next(i for i in JobItem._indexes.values() if i.Meta.index_name == index_name)
        state = decode_cursor(next_token) or {}
        if state and state.get("i") != index_name:
            from apihub.errors import InvalidInput

            raise InvalidInput("next_token: issued for a different filter combination")
        keys: list[tuple[str, str]] = []
        if filters:
            buckets = [_index_values(filters)]
        else:
            buckets = self._month_buckets(state.get("b"))
        last_key = state.get("k")
        next_state: dict[str, Any] | None = None
        for bucket in buckets:
            while len(keys) < limit:
                query = index.query(
                    bucket,
                    scan_index_forward=False,
                    limit=limit - len(keys),
                    last_evaluated_key=last_key,
                    page_size=limit - len(keys),
                )
                for hit in query:
                    keys.append((hit.pk, hit.sk))
                last_key = query.last_evaluated_key
                if not last_key:
                    break
            if len(keys) >= limit:
                if last_key:
                    next_state = {"i": index_name, "b": bucket, "k": last_key}
                elif bucket != buckets[-1]:
                    next_state = {"i": index_name, "b": buckets[buckets.index(bucket) + 1], "k": None}
                break
            last_key = None
        items = {(i.pk, i.sk): i for i in JobItem.batch_get(keys)} if keys else {}
        jobs = [to_model(items[k]) for k in keys if k in items]
        return jobs, encode_cursor(next_state)

    def _month_buckets(self, start: str | None) -> list[str]:
        try:
            first_month = EpochItem.get(EPOCH_PK, EPOCH_SK, consistent_read=True).first_month
        except DoesNotExist:
            return []
        if not first_month:
            return []
        first = f"JOBS#{first_month}"
        now = utcnow()
        year, month = now.year, now.month
        buckets = []
        while True:
            bucket = f"JOBS#{year:04d}-{month:02d}"
            buckets.append(bucket)
            if bucket <= first:
                break
            month -= 1
            if month == 0:
                year, month = year - 1, 12
        if start and start in buckets:
            buckets = buckets[buckets.index(start) :]
        return buckets

    def list_errors(self, job_id: str, limit: int, next_token: str | None = None) -> tuple[list[JobError], str | None]:
        state = decode_cursor(next_token) or {}
        query = OutcomeItem.errors_index.query(job_id, limit=limit, page_size=limit, last_evaluated_key=state.get("k"))
        errors = [JobError(sku=hit.sk.removeprefix("PRODUCT#"), error=hit.error or "") for hit in query]
        last = query.last_evaluated_key
        return errors, encode_cursor({"k": last} if last else None)

    def handed_on(self, job_id: str, message_id: str) -> set[str]:
        """SKUs some copy of hydrate message ``message_id`` has already handed on (``mark_handed_on``)."""
        try:
            item = HandoffItem.get(job_pk(job_id), f"HANDOFF#{message_id}", consistent_read=True)
        except DoesNotExist:
            return set()
        return set(item.skus or ())

    def mark_handed_on(self, job_id: str, message_id: str, skus: Iterable[str]) -> None:
        """Add ``skus`` to what copies of ``message_id`` have handed on (one UpdateItem, an upsert)."""
        values = set(skus)
        if values:
            HandoffItem(job_pk(job_id), f"HANDOFF#{message_id}").update(actions=[HandoffItem.skus.add(values)])

    def recorded_skus(self, job_id: str, skus: Iterable[str]) -> set[str]:
        """Which of ``skus`` already have an outcome for this job (duplicate deliveries skip them)."""
        keys = [(job_pk(job_id), f"PRODUCT#{sku}") for sku in dict.fromkeys(skus)]
        if not keys:
            return set()
        return {
            item.sk.removeprefix("PRODUCT#") for item in OutcomeItem.batch_get(keys, attributes_to_get=["pk", "sk"])
        }

    # ------------------------------------------------------------------ status changes
    def _status_actions(self, item: JobItem, status: JobStatus, now: str) -> list[Any]:
        keys = _status_keys(item.supplier_id, item.job_type, status.value)
        actions = [JobItem.status.set(status.value), JobItem.updated_at.set(now)]
        actions += [getattr(JobItem, name).set(value) for name, value in keys.items()]
        return actions

    def mark_running(self, job_id: str) -> JobItem:
        """pending -> running (idempotent for an already-running job)."""
        item = self.get_item(job_id)
        if item.status == JobStatus.running.value:
            return item
        if item.status != JobStatus.pending.value:
            raise InvalidTransition(f"status: job is {item.status}; it cannot start running")
        try:
            item.update(
                actions=self._status_actions(item, JobStatus.running, iso(utcnow()) or ""),
                condition=JobItem.status == JobStatus.pending.value,
            )
        except UpdateError:
            item.refresh(consistent_read=True)
            if item.status != JobStatus.running.value:
                raise InvalidTransition(f"status: job is {item.status}; it cannot start running") from None
        return item

    def update_discovery(self, item: JobItem, changes: dict[str, Any], **attrs: Any) -> bool:
        """Advance the discovery state with optimistic concurrency on its version: two invocations
        working on one job (a duplicated discovery message) cannot both advance it."""
        version = int(item.discovery_version or 0)
        new_state = {**(item.discovery or {}), **changes}
        actions = [
            JobItem.discovery.set(new_state),
            JobItem.discovery_version.set(version + 1),
            JobItem.updated_at.set(iso(utcnow()) or ""),
        ]
        actions += [getattr(JobItem, name).set(value) for name, value in attrs.items()]
        condition = (JobItem.status == JobStatus.running.value) & (JobItem.discovery_version == version)
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def put_ref_chunk(self, job_id: str, number: int, skus: list[str]) -> None:
        RefsChunkItem(job_pk(job_id), f"REFS#{number:06d}", skus=skus).save()

    def get_ref_chunk(self, job_id: str, number: int) -> list[str]:
        try:
            return list(RefsChunkItem.get(job_pk(job_id), f"REFS#{number:06d}", consistent_read=True).skus)
        except DoesNotExist:
            return []

    def fail(self, job_id: str, error_log: str, *, expect: JobStatus | None = None) -> bool:
        """Fail a pending or running job and release its lock. False when it was already terminal."""
        item = self.find_item(job_id)
        if item is None:
            return False
        return self._terminate(item, JobStatus.failed, error_log=error_log)

    def _terminate(
        self,
        item: JobItem,
        status: JobStatus,
        *,
        error_log: str | None = None,
        condition: Condition | None = None,
        extra_actions: Sequence[Any] = (),
        supplier_sync: str | None = None,
        completed_at: str | None = None,
    ) -> bool:
        """One transaction: the job becomes terminal, its lock goes, and (on success) the supplier's
        last sync time moves. Exactly one caller wins (conditional on the job not being terminal)."""
        now = iso(utcnow()) or ""
        actions = self._status_actions(item, status, now)
        actions.append(JobItem.completed_at.set(completed_at or now))
        if error_log is not None:
            actions.append(JobItem.error_log.set(error_log[: ERROR_TEXT_MAX * 4]))
        actions += list(extra_actions)
        cond = JobItem.status.is_in(JobStatus.pending.value, JobStatus.running.value)
        if condition is not None:
            cond = cond & condition
        lock = LockItem(lock_pk(item.supplier_id, item.discovery_mode), "LOCK")
        with_lock, with_supplier = True, supplier_sync is not None
        for _ in range(3):
            try:
                with TransactWrite(connection=self.conn) as tw:
                    tw.update(JobItem(item.pk, item.sk), actions=actions, condition=cond)
                    if with_lock:
                        tw.delete(lock, condition=LockItem.pk.does_not_exist() | (LockItem.job_id == item.id))
                    if with_supplier:
                        attr = (
                            SupplierItem.last_full_sync
                            if item.discovery_mode == DiscoveryMode.full_sellable.value
                            else SupplierItem.last_delta_sync
                        )
                        tw.update(
                            SupplierItem(item.supplier_id),
                            actions=[attr.set(supplier_sync)],
                            condition=SupplierItem.id.exists(),
                        )
                observability.job_finished(item.id, item.supplier_id, status.value)  # the one winner
                return True
            except TransactWriteError as exc:
                codes = _cancel_codes(exc)
                if not codes or codes[0] == "ConditionalCheckFailed":
                    if codes and codes[0] == "ConditionalCheckFailed":
                        return False  # someone else ended it (or the counts moved): they won
                    raise
                # The job itself was fine; drop an optional item whose condition failed (a lock
                # held by another job, a deleted supplier) and try again.
                if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                    with_lock = False
                if with_supplier and codes[-1] == "ConditionalCheckFailed":
                    with_supplier = False
                if "TransactionConflict" in codes:
                    continue
        return False

    def try_finalize(self, job_id: str) -> SyncJob | None:
        """Finalise if every discovered product has an outcome and discovery is complete.
        The conditional update on the exact counters read makes one caller the winner (invariant 5)."""
        item = self.find_item(job_id)
        if item is None or item.status != JobStatus.running.value or not item.discovery_complete:
            return None
        total = int(item.total_products or 0)
        success, failed = int(item.success_count or 0), int(item.failed_count or 0)
        if success + failed < total:
            return None
        if failed == 0:
            final = JobStatus.success
        elif success == 0:
            final = JobStatus.failed
        else:
            final = JobStatus.partial_success
        sync_modes = (DiscoveryMode.full_sellable.value, DiscoveryMode.delta.value)
        supplier_sync = (
            item.started_at
            if final in (JobStatus.success, JobStatus.partial_success) and item.discovery_mode in sync_modes
            else None
        )
        won = self._terminate(
            item,
            final,
            condition=(JobItem.success_count == success)
            & (JobItem.failed_count == failed)
            & (JobItem.discovery_complete == True),  # noqa: E712 - a PynamoDB condition, not a bool test
            extra_actions=[JobItem.records_processed.set(success + failed)],
            supplier_sync=supplier_sync,
        )
        return self.get(job_id) if won else None

    def patch(self, job_id: str, changes: dict[str, Any]) -> SyncJob:
        """PATCH /api/sync-jobs/{id}: validated status transitions and fields; terminal jobs are frozen."""
        item = self.get_item(job_id)
        current = JobStatus(item.status)
        if current.terminal:
            raise InvalidTransition(f"status: job {job_id} is {current.value}; a finished job cannot change")
        new_status: JobStatus | None = changes.get("status")
        allowed = {
            JobStatus.pending: {JobStatus.pending, JobStatus.running, JobStatus.failed},
            JobStatus.running: {JobStatus.running, JobStatus.success, JobStatus.partial_success, JobStatus.failed},
        }[current]
        if new_status is not None and new_status not in allowed:
            raise InvalidTransition(f"status: cannot go from {current.value} to {new_status.value}")
        extra: list[Any] = []
        if "records_processed" in changes:
            extra.append(JobItem.records_processed.set(changes["records_processed"]))
        if new_status is not None and new_status.terminal:
            completed = changes.get("completed_at")
            ok = self._terminate(
                item,
                new_status,
                error_log=changes.get("error_log"),
                extra_actions=extra,
                completed_at=iso(completed) if isinstance(completed, datetime) else None,
            )
            if not ok:
                raise InvalidTransition(f"status: job {job_id} finished meanwhile; a finished job cannot change")
            return self.get(job_id)
        now = iso(utcnow()) or ""
        actions: list[Any] = list(extra)
        if new_status is not None and new_status != current:
            actions += self._status_actions(item, new_status, now)
        else:
            actions.append(JobItem.updated_at.set(now))
        if "error_log" in changes:
            actions.append(JobItem.error_log.set(changes["error_log"]))
        if isinstance(changes.get("completed_at"), datetime):
            actions.append(JobItem.completed_at.set(iso(changes["completed_at"])))
        try:
            item.update(actions=actions, condition=JobItem.status == current.value)
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise InvalidTransition(f"status: job {job_id} changed meanwhile; read it and try again") from None
            raise
        return to_model(item)

    def set_total(self, item: JobItem, total: int) -> None:
        item.update(actions=[JobItem.total_products.set(total)], condition=JobItem.status == JobStatus.running.value)

    def set_throttled(self, job_id: str, until: str | None) -> None:
        try:
            JobItem(job_pk(job_id), META).update(
                actions=[JobItem.throttled_until.set(until)] if until else [JobItem.throttled_until.remove()],
                condition=JobItem.status == JobStatus.running.value,
            )
        except UpdateError:
            pass

    # ------------------------------------------------------------------ outcomes (invariant 1)
    def record_outcomes(
        self,
        item: JobItem,
        outcomes: Sequence[Outcome],
        existing_hashes: dict[str, str],
    ) -> RecordResult:
        """Record each outcome exactly once and add it to the job's counters atomically.

        Per transaction: one outcome item per product (``attribute_not_exists``), the changed
        products, and the counter ADD on the job (conditional on it still running). A cancellation
        names the outcome items that already existed (a duplicate delivery): they are dropped and
        the rest is committed again, so the counters move once per product whatever is redelivered.
        """
        result = RecordResult()
        unique = list({o.sku: o for o in outcomes}.values())
        for start in range(0, len(unique), PRODUCTS_PER_TRANSACTION):
            chunk = unique[start : start + PRODUCTS_PER_TRANSACTION]
            if not self._record_chunk(item, chunk, existing_hashes, result):
                result.job_terminal = True
                break
        return result

    def _record_chunk(
        self, item: JobItem, chunk: list[Outcome], existing_hashes: dict[str, str], result: RecordResult
    ) -> bool:
        pending = list(chunk)
        hashes = dict(existing_hashes)
        for _ in range(len(chunk) + 3):
            if not pending:
                return True
            now = iso(utcnow()) or ""
            ops: list[tuple[str, Outcome | None]] = []
            writes = []
            for o in pending:
                ops.append(("outcome", o))
                if o.ok and o.product is not None:
                    new_hash = o.product.compute_hash()
                    if hashes.get(o.sku) != new_hash:
                        writes.append((o, new_hash))
            new_products = sum(1 for o, _ in writes if o.sku not in hashes)
            success = sum(1 for o in pending if o.ok)
            failed = len(pending) - success
            new_errors = [{"sku": o.sku, "error": (o.error or "")[:ERROR_TEXT_MAX]} for o in pending if not o.ok]
            # Progress clears "throttled" (it is shown while our limiter or a 429 holds the job back).
            job_actions: list[Any] = [JobItem.updated_at.set(now), JobItem.throttled_until.remove()]
            if success:
                job_actions.append(JobItem.success_count.add(success))
            if failed:
                job_actions.append(JobItem.failed_count.add(failed))
            # The job item keeps a capped sample of errors; /errors has them all. Concurrent batches
            # may each append once past the cap, so the overshoot is bounded by the worker count.
            if new_errors:
                kept = len(item.errors or [])
                room = max(0, self.settings.job_errors_cap - kept)
                if room:
                    job_actions.append(JobItem.errors.set(JobItem.errors.append(new_errors[:room])))
                if len(new_errors) > room:
                    job_actions.append(JobItem.errors_truncated.set(True))
            try:
                with TransactWrite(connection=self.conn) as tw:
                    for o in pending:
                        tw.save(
                            OutcomeItem(
                                item.pk,
                                f"PRODUCT#{o.sku}",
                                status="success" if o.ok else "failed",
                                error=None if o.ok else (o.error or "")[:ERROR_TEXT_MAX],
                                err_job=None if o.ok else item.id,
                                recorded_at=now,
                            ),
                            condition=OutcomeItem.sk.does_not_exist(),
                        )
                    for o, new_hash in writes:
                        ops.append(("product", o))
                        old = hashes.get(o.sku)
                        tw.save(
                            ProductItem(
                                item.supplier_id,
                                o.sku,
                                content_hash=new_hash,
                                data=zlib.compress(o.product.model_dump_json().encode(), 6),
                                updated_at=now,
                                last_job_id=item.id,
                            ),
                            condition=ProductItem.product_id.does_not_exist()
                            if old is None
                            else ProductItem.content_hash == old,
                        )
                    ops.append(("job", None))
                    tw.update(
                        JobItem(item.pk, item.sk),
                        actions=job_actions,
                        condition=JobItem.status == JobStatus.running.value,
                    )
                    if new_products:
                        ops.append(("supplier", None))
                        tw.update(
                            SupplierItem(item.supplier_id),
                            actions=[SupplierItem.product_count.add(new_products)],
                            condition=SupplierItem.id.exists(),
                        )
            except TransactWriteError as exc:
                codes = _cancel_codes(exc)
                if not codes:
                    raise
                failed_ops = [
                    (kind, o) for (kind, o), code in zip(ops, codes, strict=False) if code == "ConditionalCheckFailed"
                ]
                if not failed_ops and "TransactionConflict" in codes:
                    continue
                if not failed_ops:
                    raise
                kinds = {kind for kind, _ in failed_ops}
                if "job" in kinds:
                    return False  # the job ended (PATCH to failed, sweeper): late messages change nothing
                if "supplier" in kinds:
                    # Supplier deleted mid-import: still record outcomes, skip the product count.
                    new_products = 0
                dup = {o.sku for kind, o in failed_ops if kind == "outcome" and o is not None}
                result.duplicates += sorted(dup)
                pending = [o for o in pending if o.sku not in dup]
                stale = [o.sku for kind, o in failed_ops if kind == "product" and o is not None]
                if stale:
                    hashes.update(self._product_hashes(item.supplier_id, stale))
                continue
            result.recorded += [o.sku for o in pending]
            result.products_written += len(writes)
            if new_errors:
                item.errors = (item.errors or []) + new_errors
            return True
        raise RuntimeError("could not record outcomes after repeated transaction conflicts")

    def _product_hashes(self, supplier_id: str, skus: Iterable[str]) -> dict[str, str]:
        keys = [(supplier_id, s) for s in skus]
        return {
            p.product_id: p.content_hash
            for p in ProductItem.batch_get(keys, attributes_to_get=["supplier_id", "product_id", "content_hash"])
        }

    product_hashes = _product_hashes

    # ------------------------------------------------------------------ sweeper support
    def active_jobs(self, started_before: str | None = None) -> list[JobItem]:
        """Pending and running jobs (a Query per status on ``ByStatus``). ``started_before`` (ISO)
        skips jobs started since: their ``updated_at`` cannot be older than that."""
        out: list[JobItem] = []
        for status in (JobStatus.pending.value, JobStatus.running.value):
            cond = JobItem.gsi_sort < started_before if started_before else None
            keys = [(hit.pk, hit.sk) for hit in JobItem.idx_status.query(status, range_key_condition=cond)]
            out += list(JobItem.batch_get(keys)) if keys else []
        return out

    def fail_if_idle(self, item: JobItem, error_log: str) -> bool:
        """``fail``, but only if the job made no progress since ``item`` was read (its ``updated_at``
        is unchanged): a batch recorded meanwhile keeps the job alive. Releases the lock."""
        return self._terminate(
            item, JobStatus.failed, error_log=error_log, condition=JobItem.updated_at == item.updated_at
        )


def _is_condition_failure(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


__all__ = ["JobsRepository", "Outcome", "PutError", "RecordResult", "job_pk", "to_model"]
