"""Per-product outcomes (``PRODUCT#<sku>`` items): each product of a job is counted exactly once
(invariant 1), in one transaction with its product write and the job's counter ADDs, and a product
that cannot be stored fails alone (invariant 8: ``writes`` checks before the transaction,
``cancellations`` after it). Also the reads that let a redelivered message skip work already done,
and the hand-off markers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from apihub.dal import bodies
from apihub.dal.jobs.batch import Attempt, Batch, Outcome, Plan, RecordResult, note_committed, plan
from apihub.dal.jobs.cancellations import learn, whole_request_invalid
from apihub.dal.jobs.items import JobItems
from apihub.dal.jobs.keys import job_pk, outcome_sk, sku_fits
from apihub.dal.jobs.writes import StoredState, chunked, outcome_item, prepare
from apihub.dal.retries import call_with_retries
from apihub.dal.tables import HandoffItem, JobItem, OutcomeItem, ProductItem, SupplierItem
from apihub.models import JobStatus, iso, utcnow

__all__ = ["Outcome", "Outcomes", "RecordResult", "StoredState"]


class Outcomes(JobItems):
    def record_outcomes(
        self, item: JobItem, outcomes: Sequence[Outcome], existing: Mapping[str, StoredState]
    ) -> RecordResult:
        """Record each outcome exactly once and add it to the job's counters atomically.

        ``existing``: what the products table holds for these SKUs (``product_hashes``). Per
        transaction: one outcome item per product (``attribute_not_exists``), the changed products,
        and the counter ADD on the job (conditional on it still running). A cancellation names the
        outcome items that already existed (a duplicate delivery): they are dropped and the rest is
        committed again, so the counters move once per product whatever is redelivered. A product
        that cannot be stored is recorded as failed with the reason (the caller's ``Outcome``
        becomes a failure, in place) and the others are committed.
        """
        unique = list({o.sku: o for o in outcomes}.values())
        ok_before = {o.sku for o in unique if o.ok}
        now = iso(utcnow()) or ""
        batch = Batch(item, dict(existing), prepare(item, unique, existing, now), now)
        uploaded = {w.body_ref for w in batch.writes.values() if w.body_ref}
        for chunk in chunked(item, unique, batch.writes, now):
            if not self._record_chunk(batch, chunk):
                batch.result.job_terminal = True
                break
        recorded = set(batch.result.recorded)
        batch.result.unstorable = [o.sku for o in unique if o.sku in ok_before and not o.ok and o.sku in recorded]
        # S3 bodies uploaded for writes that did not commit, and those a committed write replaced:
        # nothing points at them (each write attempt has a key of its own).
        unreferenced = (uploaded - batch.committed) | batch.replaced
        if unreferenced and bodies.enabled():
            bodies.delete(unreferenced)
        return batch.result

    def _record_chunk(self, batch: Batch, chunk: list[Outcome]) -> bool:
        """Commit one chunk, dropping what a cancellation shows to be done already and failing
        what it shows cannot be stored. False when the job has ended (late messages change nothing)."""
        attempt = Attempt(list(chunk))
        for _ in range(2 * len(chunk) + 4):
            if not attempt.pending:
                return True
            next_plan = plan(batch, attempt)
            try:  # contention alone (TransactionConflict, throttling) is retried with backoff here
                call_with_retries(lambda: self._commit(batch, next_plan), what="record outcomes")  # noqa: B023
            except TransactWriteError as exc:
                if whole_request_invalid(exc) and len(attempt.pending) > 1:
                    # Nothing says which item: commit each half on its own, down to the one at fault.
                    half = len(attempt.pending) // 2
                    first, second = attempt.pending[:half], attempt.pending[half:]
                    return self._record_chunk(batch, first) and self._record_chunk(batch, second)
                lesson = learn(attempt, next_plan, exc)
                if lesson.job_ended:
                    return False
                batch.result.duplicates += lesson.duplicates
                if lesson.stale:
                    batch.stored.update(self.product_hashes(batch.job.supplier_id, lesson.stale))
                continue
            note_committed(batch, next_plan)
            return True
        raise RuntimeError("could not record outcomes after repeated transaction cancellations")

    def _job_actions(self, batch: Batch, plan: Plan) -> list[Any]:
        success = sum(1 for o in plan.pending if o.ok)
        failed = len(plan.pending) - success
        # Progress clears "throttled" (it is shown while our limiter or a 429 holds the job back).
        actions: list[Any] = [JobItem.updated_at.set(batch.now), JobItem.throttled_until.remove()]
        if success:
            actions.append(JobItem.success_count.add(success))
        if failed:
            actions.append(JobItem.failed_count.add(failed))
        # The job item keeps a capped sample of errors; /errors has them all. Concurrent batches
        # may each append once past the cap, so the overshoot is bounded by the worker count.
        if plan.new_errors:
            room = max(0, self.settings.job_errors_cap - len(batch.job.errors or [])) if plan.keep_errors else 0
            if room:
                actions.append(JobItem.errors.set(JobItem.errors.append(plan.new_errors[:room])))
            if len(plan.new_errors) > room:
                actions.append(JobItem.errors_truncated.set(True))
        return actions

    def _commit(self, batch: Batch, plan: Plan) -> None:
        job = batch.job
        with TransactWrite(connection=self.conn) as tw:
            for o in plan.pending:
                tw.save(outcome_item(job, o, batch.now), condition=OutcomeItem.sk.does_not_exist())
            for o, write in plan.writes:
                known = plan.stored.get(o.sku)
                tw.save(
                    write.item,
                    condition=ProductItem.product_id.does_not_exist()
                    if known is None
                    else ProductItem.content_hash == known.content_hash,
                )
            tw.update(
                JobItem(job.pk, job.sk),
                actions=self._job_actions(batch, plan),
                condition=JobItem.status == JobStatus.running.value,
            )
            if plan.new_products:
                tw.update(
                    SupplierItem(job.supplier_id),
                    actions=[SupplierItem.product_count.add(plan.new_products)],
                    condition=SupplierItem.id.exists(),
                )

    def product_hashes(self, supplier_id: str, skus: Iterable[str]) -> dict[str, StoredState]:
        """What is stored for each of these products that exists: its content hash and, for a body
        kept in S3, the body's key. (A SKU too long to be a key is never stored: not asked for.)"""
        keys = [(supplier_id, s) for s in dict.fromkeys(skus) if sku_fits(s)]
        if not keys:
            return {}
        attributes = ["supplier_id", "product_id", "content_hash", "body_ref"]
        found = ProductItem.batch_get(keys, attributes_to_get=attributes)
        return {p.product_id: StoredState(p.content_hash, p.body_ref) for p in found}

    def recorded_skus(self, job_id: str, skus: Iterable[str]) -> set[str]:
        """Which of ``skus`` already have an outcome for this job (duplicate deliveries skip them)."""
        by_key = {outcome_sk(sku): sku for sku in dict.fromkeys(skus)}
        if not by_key:
            return set()
        found = OutcomeItem.batch_get([(job_pk(job_id), sk) for sk in by_key], attributes_to_get=["pk", "sk"])
        return {by_key[item.sk] for item in found}

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
