"""Hydration of one SQS batch: fetch each product, then record every outcome exactly once.

``handle_batch`` is the hydrate function's whole work: records go closest-to-last-receive first
through Powertools' ``BatchProcessor`` (one ``HydrateBatch.handle`` each, partial failures
reported). Every supplier call has a deadline (the remaining time minus the commit reserve);
outcomes are committed as they become ready (``pipeline.commits``); work that meets the deadline
or our own limiter is handed on as a fresh message (no receive burnt); then completed jobs are
finalised and retries get their backoff, recorded on the job (``pipeline.retry_timing``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from apihub.dal import queues
from apihub.dal.jobs import JobsRepository
from apihub.errors import OutOfTime, Throttled
from apihub.models import JobStatus, ProductRef, iso_from_epoch
from apihub.observability import HYDRATE_LATENCY, bind_job, duration_ms, logger, unbind_job
from apihub.pipeline.adapter_factory import adapter_for, limit_calls
from apihub.pipeline.commits import Committer, JobState
from apihub.pipeline.messages import HydrateMessage
from apihub.pipeline.product_outcome import product_outcome
from apihub.pipeline.retry_timing import NextAttempts, backoff_seconds, delay_seconds
from apihub.settings import get_settings


class PoisonedMessage(Exception):
    """The body is not a hydrate message: it will reach the DLQ after its receives."""


class RetryLater(Exception):
    """Some refs of this message hit a transient error: redeliver it (after ``delay`` seconds)."""

    def __init__(self, message: str, delay: int) -> None:
        super().__init__(message)
        self.delay = delay


class HydrateBatch:
    def __init__(self, remaining_ms: Callable[[], int], jobs: JobsRepository | None = None) -> None:
        self.remaining_ms = remaining_ms
        self.jobs = jobs or JobsRepository()
        self.settings = get_settings()
        self.states: dict[str, JobState] = {}
        self.committer = Committer(self.jobs, remaining_ms, self.settings.hydrate_commit_every_s)
        self.next_attempts = NextAttempts()
        self.hydrated = 0
        # Set once our own limiter said "wait", or the deadline came: the rest goes back on the queue.
        self.throttled_for: float | None = None
        self.out_of_time = False
        self.requeued = 0

    def time_left(self) -> float:
        """Seconds before this invocation's supplier calls must be done (its deadline)."""
        return (self.remaining_ms() - self.settings.hydrate_time_reserve_ms) / 1000

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

    def _state(self, job_id: str) -> JobState:
        state = self.states.get(job_id)
        if state is None:
            item = self.jobs.find_item(job_id)
            ended = item is None or item.status != JobStatus.running.value
            state = JobState(item=item, ended=ended)
            self.states[job_id] = state
        return state

    def _hand_on_now(self) -> bool:
        """Throttled by our own limiter, out of time, or too little time for another product: the
        rest goes on as a fresh message. At least one product per invocation is attempted."""
        if self.throttled_for is not None or self.out_of_time:
            return True
        return bool(self.hydrated) and self.time_left() < self.settings.call_min_s

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
        done = state.done()
        todo = [sku for sku in msg.skus if sku not in done]
        for position, sku in enumerate(todo):
            if self._hand_on_now():
                self._requeue(msg.job_id, todo[position:], message_id)
                break
            self.hydrated += 1
            try:
                fetch = partial(self._fetch, state, sku)
                verdict = product_outcome(fetch, sku, receive_count, last_attempt, first=self.hydrated == 1)
            except (Throttled, OutOfTime) as exc:
                # Handed on unspent, the product in flight included: it burns no receive and can
                # never be dead-lettered or failed for our own reasons.
                if isinstance(exc, Throttled):
                    self.throttled_for = exc.retry_after
                self.out_of_time = isinstance(exc, OutOfTime)
                self._requeue(msg.job_id, todo[position:], message_id)
                break
            if verdict.fail_job is not None:
                self._fail_job(state, verdict.fail_job)
                return
            if verdict.outcome is None:
                needs_retry += 1
                retry_hint = max(retry_hint or 0, verdict.retry_hint or 0) or None
            else:
                state.add(verdict.outcome, self.remaining_ms())
                self.committer.commit_ready(state)
                if state.ended:
                    return  # the commit found the job ended: late messages change nothing
        if needs_retry:
            delay = backoff_seconds(receive_count, retry_hint)
            self.next_attempts.schedule(msg.job_id, delay)
            raise RetryLater(f"{needs_retry} product(s) to retry", delay)

    def _fetch(self, state: JobState, sku: str) -> Any:
        """The product from the supplier, through its limiter and under this invocation's deadline."""
        assert state.item is not None
        if state.adapter is None:
            state.adapter = adapter_for(state.item.supplier_id)
            job_id = state.item.id
            state.limiter = limit_calls(
                state.adapter,
                lease_s=self.remaining_ms() / 1000 + 5,
                on_throttled=lambda until: self.jobs.set_throttled(job_id, iso_from_epoch(until)),
                time_left=self.time_left if self.settings.call_deadlines else None,
            )
        product = state.adapter.hydrate(ProductRef(product_id=sku))
        if product.product_id != sku:
            product = product.model_copy(update={"product_id": sku})
        return product

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
        delay = delay_seconds(self.throttled_for) if self.throttled_for is not None else 0
        queues.send_hydrate_batch([HydrateMessage(job_id=job_id, skus=skus).model_dump()], delay_seconds=delay)
        self.next_attempts.schedule(job_id, delay)
        if message_id:
            self.jobs.mark_handed_on(job_id, message_id, skus)
        self.requeued += len(skus)

    def _fail_job(self, state: JobState, text: str) -> None:
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
        """Commit the outcomes still pending (exactly once), finalise any job the batch completed,
        and record on each job when its handed-on or retried work is due."""
        self.committer.finish(self.states)
        self.next_attempts.record(self.jobs)


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
            batch.close()  # release the supplier slots before the (DynamoDB-only) last commit
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
