"""Hydration of one SQS batch: fetch each product, then record every outcome exactly once.

``handle_batch`` is the hydrate function's whole work: records go closest-to-last-receive first
through Powertools' ``BatchProcessor`` (one ``HydrateBatch.handle`` each, partial failures
reported); outcomes are collected and committed per batch (``commit``), one transaction per up to
45 products, so counters move once per SQS batch rather than once per product; then any job they
complete is finalised and the refs to retry get their backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from apihub.adapters.base import SupplierAdapter
from apihub.dal import queues
from apihub.dal.jobs import JobsRepository, Outcome
from apihub.dal.tables import JobItem
from apihub.errors import (
    AdapterError,
    AuthError,
    NotFound,
    ProductError,
    SupplierNotImportable,
    Throttled,
    TransientError,
)
from apihub.models import JobStatus, ProductRef, iso_from_epoch
from apihub.observability import HYDRATE_LATENCY, bind_job, duration_ms, logger, products_recorded, unbind_job
from apihub.pipeline import finalise
from apihub.pipeline.adapter_factory import adapter_for, limit_calls
from apihub.pipeline.messages import HydrateMessage
from apihub.ratelimit import SupplierLimiter
from apihub.settings import get_settings


class PoisonedMessage(Exception):
    """The body is not a hydrate message: it will reach the DLQ after its receives."""


class RetryLater(Exception):
    """Some refs of this message hit a transient error: redeliver it (after ``delay`` seconds)."""

    def __init__(self, message: str, delay: int) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass
class _JobState:
    item: JobItem | None
    adapter: SupplierAdapter | None = None
    limiter: SupplierLimiter | None = None
    ended: bool = False
    outcomes: list[Outcome] = field(default_factory=list)
    recorded: set[str] = field(default_factory=set)


def backoff_seconds(receive_count: int, hint: float | None = None) -> int:
    """Exponential backoff for redelivery (10 s, 20 s, 40 s ... capped at 5 min), or the supplier's
    Retry-After when it gave one."""
    if hint:
        return int(min(900, max(1, hint)))
    return int(min(300, 10 * 2 ** max(0, receive_count - 1)))


class HydrateBatch:
    def __init__(self, remaining_ms: Callable[[], int], jobs: JobsRepository | None = None) -> None:
        self.remaining_ms = remaining_ms
        self.jobs = jobs or JobsRepository()
        self.settings = get_settings()
        self.states: dict[str, _JobState] = {}
        self.hydrated = 0
        # Set once our own limiter said "wait": the rest of the batch goes back on the queue.
        self.throttled_for: float | None = None
        self.requeued = 0

    # ------------------------------------------------------------------ per record
    def parse(self, body: str) -> HydrateMessage:
        try:
            return HydrateMessage.model_validate_json(body)
        except ValidationError as exc:
            raise PoisonedMessage(f"not a hydrate message: {exc.error_count()} problem(s)") from None

    def prefetch(self, bodies: list[str]) -> None:
        """One read per job for the SKUs of this batch that already have an outcome (duplicates)."""
        by_job: dict[str, list[str]] = {}
        for body in bodies:
            try:
                msg = self.parse(body)
            except PoisonedMessage:
                continue
            by_job.setdefault(msg.job_id, []).extend(msg.skus)
        for job_id, skus in by_job.items():
            state = self._state(job_id)
            if state.item is not None and not state.ended:
                state.recorded |= self.jobs.recorded_skus(job_id, skus)

    def _state(self, job_id: str) -> _JobState:
        state = self.states.get(job_id)
        if state is None:
            item = self.jobs.find_item(job_id)
            ended = item is None or item.status != JobStatus.running.value
            state = _JobState(item=item, ended=ended)
            self.states[job_id] = state
        return state

    def handle(self, body: str, receive_count: int, message_id: str = "") -> None:
        """Hydrate one message's refs. Raises ``RetryLater`` to have the message redelivered.

        ``message_id`` (the SQS message id) lets duplicate copies of one message hand on each
        leftover SKU once between them, instead of once each (``_requeue``)."""
        msg = self.parse(body)
        state = self._state(msg.job_id)
        if state.ended or state.item is None:
            return  # the job is over (or gone): late messages change nothing
        last_attempt = receive_count >= self.settings.hydrate_max_receive_count
        retry_hint: float | None = None
        needs_retry = 0
        done = {o.sku for o in state.outcomes} | state.recorded
        todo = [sku for sku in msg.skus if sku not in done]
        for position, sku in enumerate(todo):
            # Throttled by our own limiter, or low on time: hand the rest on as a fresh message, so
            # it burns no receive and can never be dead-lettered or failed for our own reasons.
            # At least one SKU per invocation is attempted, so low time still makes progress.
            if self.throttled_for is not None or (
                self.hydrated and self.remaining_ms() < self.settings.hydrate_time_reserve_ms
            ):
                self._requeue(msg.job_id, todo[position:], message_id)
                break
            self.hydrated += 1
            try:
                outcome, hint = self._hydrate_one(state, sku, receive_count, last_attempt)
            except Throttled as exc:
                self.throttled_for = exc.retry_after
                self._requeue(msg.job_id, todo[position:], message_id)
                break
            if state.ended:
                return
            if outcome is None:
                needs_retry += 1
                retry_hint = max(retry_hint or 0, hint or 0) or None
            else:
                state.outcomes.append(outcome)
                done.add(sku)
        if needs_retry:
            raise RetryLater(f"{needs_retry} product(s) to retry", backoff_seconds(receive_count, retry_hint))

    def _hydrate_one(
        self, state: _JobState, sku: str, receive_count: int, last_attempt: bool
    ) -> tuple[Outcome | None, float | None]:
        assert state.item is not None
        try:
            if state.adapter is None:
                state.adapter = adapter_for(state.item.supplier_id)
                job_id = state.item.id
                state.limiter = limit_calls(
                    state.adapter,
                    lease_s=self.remaining_ms() / 1000 + 5,
                    on_throttled=lambda until: self.jobs.set_throttled(job_id, iso_from_epoch(until)),
                )
            product = state.adapter.hydrate(ProductRef(product_id=sku))
            if product.product_id != sku:
                product = product.model_copy(update={"product_id": sku})
            return Outcome(sku=sku, product=product), None
        except ProductError as exc:
            return Outcome(sku=sku, error=exc.describe()), None
        except AuthError as exc:
            self._fail_job(state, f"{exc.describe()} (credentials rejected while hydrating {sku})")
            return None, None
        except (SupplierNotImportable, NotFound) as exc:
            self._fail_job(state, f"{type(exc).__name__}: {exc}")
            return None, None
        except TransientError as exc:
            if last_attempt:
                return Outcome(sku=sku, error=f"{exc.describe()} (gave up after {receive_count} attempts)"), None
            return None, exc.retry_after
        except AdapterError as exc:
            return Outcome(sku=sku, error=exc.describe()), None
        except Exception as exc:  # an adapter bug must not lose the product (invariant 2)
            logger.exception("unexpected error hydrating", extra={"sku": sku})
            if last_attempt:
                return Outcome(
                    sku=sku, error=f"InternalError: {type(exc).__name__} (gave up after {receive_count} attempts)"
                ), None
            return None, None

    def _requeue(self, job_id: str, skus: list[str], message_id: str) -> None:
        """Hand ``skus`` on as a fresh message (no receive burnt). SQS may deliver a message twice;
        without care both copies would hand their leftovers on, and the work would double at every
        hop. So each copy skips the SKUs an earlier copy already handed on, and records its own
        after sending. Sending first means a crash between the two can only cause a duplicate
        (outcomes are exactly-once), never a SKU that nobody hands on."""
        if message_id:
            already = self.jobs.handed_on(job_id, message_id)
            skus = [sku for sku in skus if sku not in already]
            if not skus:
                return
        delay = int(min(900, max(1, self.throttled_for or 0)))
        queues.send_hydrate_batch(
            [HydrateMessage(job_id=job_id, skus=skus).model_dump()],
            delay_seconds=delay if self.throttled_for is not None else 0,
        )
        if message_id:
            self.jobs.mark_handed_on(job_id, message_id, skus)
        self.requeued += len(skus)

    def _fail_job(self, state: _JobState, text: str) -> None:
        assert state.item is not None
        self.jobs.fail(state.item.id, text)
        state.ended = True
        state.outcomes.clear()

    # ------------------------------------------------------------------ per batch
    def close(self) -> None:
        """Release this invocation's supplier slots (call once the batch is done, even on error)."""
        for state in self.states.values():
            if state.limiter is not None:
                state.limiter.close()
                if state.adapter is not None:
                    state.adapter.context.guard.target = None
                state.limiter = None

    def commit(self) -> None:
        """Record the batch's outcomes (exactly once) and finalise any job they complete."""
        for job_id, state in self.states.items():
            if state.ended or state.item is None:
                continue
            if not state.outcomes:
                # A redelivery whose SKUs all had outcomes: the invocation that recorded them may
                # have died before finalising, and no other message is left to do it.
                if state.recorded:
                    finalise.if_complete(self.jobs, job_id)
                continue
            started = time.monotonic()
            hashes = self.jobs.product_hashes(state.item.supplier_id, [o.sku for o in state.outcomes if o.ok])
            result = self.jobs.record_outcomes(state.item, state.outcomes, hashes)
            products_recorded(state.outcomes, result.recorded)  # ProductsHydrated/Failed, per batch
            logger.info(
                "recorded outcomes",
                extra={
                    "job_id": job_id,
                    "supplier_id": state.item.supplier_id,
                    "recorded": len(result.recorded),
                    "duplicates": len(result.duplicates),
                    "products_written": result.products_written,
                    "commit_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            if not result.job_terminal:
                finalise.if_complete(self.jobs, job_id)


def delay_redelivery(receipt_handle: str, seconds: int) -> None:
    queues.delay_retry(get_settings().hydrate_queue_url, receipt_handle, seconds)


def handle_batch(records: list[dict[str, Any]], context: Any) -> PartialItemFailureResponse:
    """Hydrate one SQS batch; the partial-failure response for the event source mapping."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    batch = HydrateBatch(context.get_remaining_time_in_millis)
    # Messages closest to their last receive go first, so running low on time never costs them.
    records = sorted(records, key=lambda r: -int(r["attributes"].get("ApproximateReceiveCount", 1)))
    batch.prefetch([r["body"] for r in records])  # reads each job of the batch once
    delays: dict[str, int] = {}

    def record_handler(record: SQSRecord) -> None:
        _bind(batch, record.body)
        try:
            batch.handle(record.body, int(record.attributes.approximate_receive_count), record.message_id)
        except RetryLater as exc:
            delays[record.receipt_handle] = exc.delay
            raise
        except Exception:
            logger.exception("hydrate record failed", extra={"message_id": record.message_id})
            raise

    try:
        started = time.monotonic()
        try:
            with processor(records=records, handler=record_handler, lambda_context=context):
                processor.process()
        finally:
            batch.close()  # release the supplier slots before the (DynamoDB-only) commit
        if batch.hydrated:  # mean supplier round trip per product, once per batch
            duration_ms(HYDRATE_LATENCY, (time.monotonic() - started) * 1000 / batch.hydrated)
        batch.commit()  # raises -> the whole batch is redelivered; outcomes are idempotent
    finally:
        unbind_job()
    for receipt_handle, seconds in delays.items():
        try:
            delay_redelivery(receipt_handle, seconds)
        except Exception:  # backoff is best effort; the visibility timeout still applies
            logger.warning("could not delay redelivery", exc_info=True)
    return processor.response()


def _bind(batch: HydrateBatch, body: str) -> None:
    """This record's job and supplier on every log line (the batch already read the job)."""
    try:
        job_id = batch.parse(body).job_id
    except PoisonedMessage:
        unbind_job()
        return
    state = batch.states.get(job_id)
    bind_job(job_id, state.item.supplier_id if state and state.item else None)
