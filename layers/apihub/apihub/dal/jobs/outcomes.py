"""Per-product outcomes: each product of a job is counted exactly once (invariant 1), in one
transaction with its product write and the job's counter ADDs, and a product that cannot be stored
fails alone (invariant 8: ``writes`` checks before the transaction, ``cancellations`` after it).

The record that makes it exactly once is the SKU's outcome group (``OutcomeGroupItem``,
``OUTCOMES#<n>``, ``n = keys.outcome_group(sku)``): the transaction ADDs the SKUs to their groups'
string sets on the condition that none of them is there yet, so of two commits of one SKU (a
duplicate delivery, two copies running at once, a hand-on and its original) one cancels. A
transaction writes one group item per group it touches, not one item per product: a chunk of 45
outcomes costs a few WRU. A failed product also gets its detail item (``PRODUCT#<sku>``, for
``/errors``). A job listed before groups existed (no ``outcome_groups``) keeps the former record,
one ``PRODUCT#<sku>`` item per product written only if absent.

Also the reads that let a redelivered message skip work already done, the readers of what a job
recorded, and the hand-off markers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from apihub.dal import bodies
from apihub.dal.fetch_stores import FetchStores
from apihub.dal.jobs.batch import Attempt, Batch, Outcome, Plan, RecordResult, note_committed, plan
from apihub.dal.jobs.cancellations import learn, whole_request_invalid
from apihub.dal.jobs.keys import (
    group_member,
    group_sk,
    job_pk,
    outcome_groups_of,
)
from apihub.dal.jobs.outcome_reads import OutcomeReads
from apihub.dal.jobs.writes import StoredState, chunked, outcome_item, prepare
from apihub.dal.retries import call_with_retries
from apihub.dal.tables import HandoffItem, JobItem, OutcomeGroupItem, OutcomeItem, SupplierItem
from apihub.models import JobStatus, now_iso
from apihub.modes.table import mode_spec

__all__ = ["Outcome", "Outcomes", "RecordResult", "StoredState"]


class Outcomes(OutcomeReads):
    @cached_property
    def stores(self) -> FetchStores:
        """Where each fetch kind writes and what it holds (``FetchKind.plan_write``, ``stored``)."""
        return FetchStores(self.settings)

    def record_outcomes(
        self, item: JobItem, outcomes: Sequence[Outcome], existing: Mapping[str, StoredState]
    ) -> RecordResult:
        """Record each outcome exactly once and add it to the job's counters atomically.

        ``existing``: what the job's table holds for these SKUs (``stored_hashes``). Per
        transaction: one conditional ADD per outcome group it touches (none of its SKUs recorded
        yet) and a detail item per failure, the changed products, and the counter ADD on the job
        (conditional on it still running). A cancellation names the groups that held some SKU
        already (a duplicate delivery); a consistent read of each says which: they are dropped and
        the rest is committed again, so the counters move once per product whatever is
        redelivered. A product that cannot be stored is recorded as failed with the reason (the
        caller's ``Outcome`` becomes a failure, in place) and the others are committed.
        """
        unique = list({o.sku: o for o in outcomes}.values())
        ok_before = {o.sku for o in unique if o.ok}
        now = now_iso()
        counts_products = mode_spec(item.discovery_mode).fetches.counts_products
        groups = outcome_groups_of(item)
        batch = Batch(
            item, dict(existing), prepare(item, unique, existing, now, self.stores), now, counts_products, groups
        )
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
        attempt = Attempt(list(chunk), count_products=batch.counts_products)
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
                if lesson.recheck:
                    batch.result.duplicates += self._drop_recorded(batch, attempt, lesson.recheck)
                if lesson.stale:
                    batch.stored.update(self.stored_hashes(batch.job, lesson.stale))
                continue
            note_committed(batch, next_plan)
            return True
        raise RuntimeError("could not record outcomes after repeated transaction cancellations")

    def _drop_recorded(self, batch: Batch, attempt: Attempt, numbers: list[int]) -> list[str]:
        """Drop from ``attempt`` the SKUs these groups already hold (a consistent read of each: the
        cancellation only said that some SKU of the group was there). Returns them."""
        assert batch.groups is not None
        held = self._group_members(batch.job.id, numbers, consistent=True)
        done = [o.sku for o in attempt.pending if group_member(o.sku) in held]
        attempt.pending = [o for o in attempt.pending if group_member(o.sku) not in held]
        return done

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
            if batch.groups is None:  # a job from before groups: one outcome item each
                for o in plan.pending:
                    tw.save(outcome_item(job, o, batch.now), condition=OutcomeItem.sk.does_not_exist())
            for o in plan.pending:
                if batch.groups is not None and not o.ok:  # the failure's detail, for /errors
                    tw.save(outcome_item(job, o, batch.now))
            for o, write in plan.writes:
                tw.save(write.item, condition=write.condition(plan.stored.get(o.sku)))
            for number, members in plan.groups.items():
                _add_to_group(tw, job, number, members)
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

    def stored_hashes(self, job: JobItem, skus: Iterable[str]) -> dict[str, StoredState]:
        """What the table the job's fetch kind writes to (products, stock, ...) holds for these SKUs."""
        return dict(mode_spec(job.discovery_mode).fetches.stored(self.stores, job.supplier_id, skus))

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


def _add_to_group(tw: TransactWrite, job: JobItem, number: int, outcomes: Sequence[Outcome]) -> None:
    """Add these outcomes' SKUs to outcome group ``number``, on the condition that the group holds
    none of them yet: the exactly-once guard (a duplicate cancels the transaction)."""
    members = {group_member(o.sku) for o in outcomes}
    actions: list[Any] = [OutcomeGroupItem.skus.add(members)]
    failed = {group_member(o.sku) for o in outcomes if not o.ok}
    if failed:
        actions.append(OutcomeGroupItem.failed.add(failed))
    tw.update(OutcomeGroupItem(job.pk, group_sk(number)), actions=actions, condition=none_recorded(members))


def none_recorded(members: Iterable[str]) -> Any:
    """``NOT contains(skus, :m1) AND NOT contains(skus, :m2) ...``: about 31 bytes of expression
    per SKU (the values go apart, as placeholders), so the most one transaction can add to one
    group, ``OUTCOME_ITEMS_PER_TRANSACTION`` (a stock job's 98 unchanged SKUs), stays under
    DynamoDB's 4 KB per expression."""
    condition: Any = None
    for member in sorted(members):
        clause = ~OutcomeGroupItem.skus.contains(member)
        condition = clause if condition is None else condition & clause
    return condition
