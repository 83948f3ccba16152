"""Per-product outcomes (``PRODUCT#<sku>`` items): each product of a job is counted exactly once
(invariant 1), in one transaction with its product write and the job's counter ADDs. Also the
reads that let a redelivered message skip work already done, and the hand-off markers."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from apihub.dal.jobs.items import JobItems
from apihub.dal.jobs.keys import ERROR_TEXT_MAX, PRODUCTS_PER_TRANSACTION, cancel_codes, job_pk, outcome_sk
from apihub.dal.tables import HandoffItem, JobItem, OutcomeItem, ProductItem, SupplierItem
from apihub.models import JobStatus, iso, utcnow


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


@dataclass
class _Chunk:
    """One transaction's worth of outcomes, and what each transaction item stands for (in request
    order, so a cancellation's reasons can be matched to them)."""

    pending: list[Outcome]
    writes: list[tuple[Outcome, str]]  # products whose content changed, with their new hash
    ops: list[tuple[str, Outcome | None]]
    new_errors: list[dict[str, str]]
    new_products: int
    hashes: dict[str, str]  # stored content hash per SKU, as read: the product writes' condition


def _error_text(outcome: Outcome) -> str:
    return (outcome.error or "")[:ERROR_TEXT_MAX]


class Outcomes(JobItems):
    def record_outcomes(
        self, item: JobItem, outcomes: Sequence[Outcome], existing_hashes: dict[str, str]
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
            if not self._record_chunk(item, chunk, dict(existing_hashes), result):
                result.job_terminal = True
                break
        return result

    def _record_chunk(self, item: JobItem, chunk: list[Outcome], hashes: dict[str, str], result: RecordResult) -> bool:
        """Commit one chunk, dropping what a cancellation shows to be done already. False when the
        job has ended (late messages change nothing)."""
        pending, count_products = list(chunk), True
        for _ in range(len(chunk) + 3):
            if not pending:
                return True
            plan = self._plan(item, pending, hashes, count_products)
            try:
                self._commit(item, plan)
            except TransactWriteError as exc:
                codes = cancel_codes(exc)
                failed = [op for op, code in zip(plan.ops, codes, strict=False) if code == "ConditionalCheckFailed"]
                if not codes or (not failed and "TransactionConflict" not in codes):
                    raise
                kinds = {kind for kind, _ in failed}
                if "job" in kinds:
                    return False  # the job ended (PATCH to failed, sweeper)
                if "supplier" in kinds:
                    count_products = False  # supplier deleted mid-import: outcomes still count
                done = {o.sku for kind, o in failed if kind == "outcome" and o is not None}
                result.duplicates += sorted(done)
                pending = [o for o in pending if o.sku not in done]
                stale = [o.sku for kind, o in failed if kind == "product" and o is not None]
                if stale:
                    hashes.update(self.product_hashes(item.supplier_id, stale))
                continue
            result.recorded += [o.sku for o in pending]
            result.products_written += len(plan.writes)
            if plan.new_errors:
                item.errors = (item.errors or []) + plan.new_errors
            return True
        raise RuntimeError("could not record outcomes after repeated transaction conflicts")

    @staticmethod
    def _plan(item: JobItem, pending: list[Outcome], hashes: dict[str, str], count_products: bool) -> _Chunk:
        writes = []
        for o in pending:
            if o.ok and o.product is not None:
                new_hash = o.product.compute_hash()
                if hashes.get(o.sku) != new_hash:
                    writes.append((o, new_hash))
        ops: list[tuple[str, Outcome | None]] = [("outcome", o) for o in pending]
        ops += [("product", o) for o, _ in writes]
        ops.append(("job", None))
        new_products = sum(1 for o, _ in writes if o.sku not in hashes) if count_products else 0
        if new_products:
            ops.append(("supplier", None))
        new_errors = [{"sku": o.sku, "error": _error_text(o)} for o in pending if not o.ok]
        return _Chunk(pending, writes, ops, new_errors, new_products, dict(hashes))

    def _job_actions(self, item: JobItem, plan: _Chunk, now: str) -> list[Any]:
        success = sum(1 for o in plan.pending if o.ok)
        failed = len(plan.pending) - success
        # Progress clears "throttled" (it is shown while our limiter or a 429 holds the job back).
        actions: list[Any] = [JobItem.updated_at.set(now), JobItem.throttled_until.remove()]
        if success:
            actions.append(JobItem.success_count.add(success))
        if failed:
            actions.append(JobItem.failed_count.add(failed))
        # The job item keeps a capped sample of errors; /errors has them all. Concurrent batches
        # may each append once past the cap, so the overshoot is bounded by the worker count.
        if plan.new_errors:
            room = max(0, self.settings.job_errors_cap - len(item.errors or []))
            if room:
                actions.append(JobItem.errors.set(JobItem.errors.append(plan.new_errors[:room])))
            if len(plan.new_errors) > room:
                actions.append(JobItem.errors_truncated.set(True))
        return actions

    def _commit(self, item: JobItem, plan: _Chunk) -> None:
        now = iso(utcnow()) or ""
        with TransactWrite(connection=self.conn) as tw:
            for o in plan.pending:
                outcome = OutcomeItem(
                    item.pk,
                    outcome_sk(o.sku),
                    status="success" if o.ok else "failed",
                    error=None if o.ok else _error_text(o),
                    err_job=None if o.ok else item.id,
                    recorded_at=now,
                )
                tw.save(outcome, condition=OutcomeItem.sk.does_not_exist())
            for o, new_hash in plan.writes:
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
                    if o.sku not in plan.hashes
                    else ProductItem.content_hash == plan.hashes[o.sku],
                )
            tw.update(
                JobItem(item.pk, item.sk),
                actions=self._job_actions(item, plan, now),
                condition=JobItem.status == JobStatus.running.value,
            )
            if plan.new_products:
                tw.update(
                    SupplierItem(item.supplier_id),
                    actions=[SupplierItem.product_count.add(plan.new_products)],
                    condition=SupplierItem.id.exists(),
                )

    def product_hashes(self, supplier_id: str, skus: Iterable[str]) -> dict[str, str]:
        """The stored content hash of each of these products that exists."""
        keys = [(supplier_id, s) for s in skus]
        attributes = ["supplier_id", "product_id", "content_hash"]
        return {p.product_id: p.content_hash for p in ProductItem.batch_get(keys, attributes_to_get=attributes)}

    def recorded_skus(self, job_id: str, skus: Iterable[str]) -> set[str]:
        """Which of ``skus`` already have an outcome for this job (duplicate deliveries skip them)."""
        keys = [(job_pk(job_id), outcome_sk(sku)) for sku in dict.fromkeys(skus)]
        if not keys:
            return set()
        found = OutcomeItem.batch_get(keys, attributes_to_get=["pk", "sk"])
        return {item.sk.removeprefix("PRODUCT#") for item in found}

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
