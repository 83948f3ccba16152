"""Hydration of one SQS batch: fetch each product, then record every outcome exactly once.

``handle_batch`` is the hydrate function's whole work: records go closest-to-last-receive first
through Powertools' ``BatchProcessor`` (one ``HydrateBatch.handle`` each, partial failures
reported). ``HydrateBatch`` wires three parts together: the per-job state (``commits.JobState``),
the fetches (``fetching.Fetcher``: a small thread pool, up to ``APIHUB_HYDRATE_CALLS_IN_FLIGHT``
calls at once, as many as the supplier's free slots allow, started as soon as the batch arrives)
and the commits (``commits.CommitLane``: a commit that falls due runs on the invocation's one
commit thread, so the fetching threads go straight on to their next call and the store's work
overlaps the supplier's; the main thread judges each message's outcomes meanwhile). Every
supplier call has a deadline (the remaining time minus the commit reserve); outcomes are committed
as they become ready; work that meets the deadline or our own limiter is handed on as a fresh
message (no receive burnt); then completed jobs are finalised and retries get their backoff,
recorded on the job (``pipeline.retry_timing``). A job whose last commit fails has its records
reported as batch item failures (redelivered; outcomes are exactly-once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from apihub.batch import BatchProcessor, EventType, PartialItemFailureResponse, SQSRecord
from apihub.dal import queues
from apihub.dal.jobs import JobsRepository
from apihub.dal.jobs.keys import outcome_groups_of
from apihub.errors import OutOfTime, Throttled
from apihub.models import JobStatus
from apihub.observability import HYDRATE_LATENCY, bind_job, duration_ms, logger, unbind_job
from apihub.pipeline.commits import CommitLane, Committer, JobState
from apihub.pipeline.fetching import Fetcher, HandOn
from apihub.pipeline.messages import HydrateMessage
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
        lock = threading.Lock()  # the job states, shared by the fetching threads and the commit thread
        self._lock = lock
        threaded = self.settings.hydrate_calls_in_flight > 1
        # Both made here, before any fetch starts (the commit thread is joined in ``close``).
        self.commits = CommitLane(self.committer, lock, remaining_ms, threaded)
        self.fetcher = Fetcher(self.settings, self.commits, lock, remaining_ms, self.jobs.set_throttled)
        self.requeued = 0
        self.uncommitted: set[str] = set()  # jobs whose last commit failed: their records fail

    @property
    def hydrated(self) -> int:
        return self.fetcher.hydrated

    # ------------------------------------------------------------------ per record
    def parse(self, body: str) -> HydrateMessage:
        try:
            return HydrateMessage.model_validate_json(body)
        except ValidationError as exc:
            raise PoisonedMessage(f"not a hydrate message: {exc.error_count()} problem(s)") from None

    def prefetch(self, bodies: list[str]) -> None:
        """One read per job for the SKUs of this batch that already have an outcome (duplicates):
        the outcome groups they belong to (a few items, as the fan-out keeps a group's SKUs together)."""
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
                state.recorded |= self.jobs.recorded_skus(job_id, skus, outcome_groups_of(state.item))

    def _state(self, job_id: str) -> JobState:
        state = self.states.get(job_id)
        if state is None:
            item = self.jobs.find_item(job_id)
            ended = item is None or item.status != JobStatus.running.value
            state = JobState(item=item, ended=ended)
            self.states[job_id] = state
        return state

    def start_fetches(self, records: list[tuple[str, int]]) -> None:
        """Start fetching every product of the batch (``(body, receive count)`` in the order the
        records will be handled), so the supplier works while earlier messages are committed."""
        for body, receive_count in records:
            try:
                msg = self.parse(body)
            except PoisonedMessage:
                continue
            state = self._state(msg.job_id)
            if state.ended or state.item is None:
                continue
            done = state.done()
            last_attempt = receive_count >= self.settings.hydrate_max_receive_count
            for sku in msg.skus:
                if sku not in done:
                    self.fetcher.submit(state, sku, receive_count, last_attempt)

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
        with self._lock:
            done = state.done()
        todo = [sku for sku in dict.fromkeys(msg.skus) if sku not in done]
        fetches = [self.fetcher.submit(state, sku, receive_count, last_attempt) for sku in todo]
        handed_on: list[str] = []
        for sku, fetch in zip(todo, fetches, strict=True):
            try:
                verdict = fetch.result()
            except (HandOn, Throttled, OutOfTime):
                # Handed on unspent, the product in flight included: it burns no receive and can
                # never be dead-lettered or failed for our own reasons.
                handed_on.append(sku)
                continue
            if state.ended:
                self.fetcher.cancel(msg.job_id)
                return  # a commit found the job ended: late messages change nothing
            if verdict.fail_job is not None:
                self._fail_job(state, verdict.fail_job)
                return
            if verdict.outcome is None:
                needs_retry += 1
                retry_hint = max(retry_hint or 0, verdict.retry_hint or 0) or None
        if state.ended:
            self.fetcher.cancel(msg.job_id)
            return
        if handed_on:
            self._requeue(msg.job_id, handed_on, message_id)
        if needs_retry:
            delay = backoff_seconds(receive_count, retry_hint)
            self.next_attempts.schedule(msg.job_id, delay)
            raise RetryLater(f"{needs_retry} product(s) to retry", delay)

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
        throttled_for = self.fetcher.throttled_for
        delay = delay_seconds(throttled_for) if throttled_for is not None else 0
        queues.send_hydrate_batch([HydrateMessage(job_id=job_id, skus=skus).model_dump()], delay_seconds=delay)
        self.next_attempts.schedule(job_id, delay)
        if message_id:
            self.jobs.mark_handed_on(job_id, message_id, skus)
        self.requeued += len(skus)

    def _fail_job(self, state: JobState, text: str) -> None:
        assert state.item is not None
        self.jobs.fail(state.item.id, text)
        with self._lock:
            state.ended = True
            state.outcomes.clear()
        self.fetcher.cancel(state.item.id)

    # ------------------------------------------------------------------ per batch
    def close(self) -> None:
        """Once the batch's records are handled (even on error): wait for the fetches in flight,
        commit what is pending on the commit thread while the supplier slots are handed back, and
        join that thread. No thread outlives the invocation (Lambda freezes it)."""
        states = list(self.states.values())
        self.fetcher.stop()
        try:
            self.commits.commit_rest(states)
            self.fetcher.release(states)
        finally:
            self.commits.join()

    def commit(self) -> None:
        """Commit the outcomes still pending (exactly once), finalise any job the batch completed,
        and record on each job when its handed-on or retried work is due. A job whose outcomes
        could not be committed is kept in ``uncommitted``: its records are reported failed."""
        self.uncommitted |= self.committer.finish(self.states)
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
    batch.start_fetches([(r["body"], int(r["attributes"].get("ApproximateReceiveCount", 1))) for r in records])
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
        batch.commit()
    finally:
        unbind_job()
    for receipt_handle, seconds in delays.items():
        try:
            delay_redelivery(receipt_handle, seconds)
        except Exception:  # backoff is best effort; the visibility timeout still applies
            logger.warning("could not delay redelivery", exc_info=True)
    return _with_uncommitted(processor.response(), batch, records)


def _with_uncommitted(
    response: PartialItemFailureResponse, batch: HydrateBatch, records: list[dict[str, Any]]
) -> PartialItemFailureResponse:
    """The processor's answer plus the records of the jobs whose last commit failed."""
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    for record in records:
        try:
            job_id = batch.parse(record["body"]).job_id
        except PoisonedMessage:
            continue
        if job_id in batch.uncommitted and record["messageId"] not in failed:
            failed.append(record["messageId"])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _bind(batch: HydrateBatch, body: str) -> None:
    """This record's job and supplier on every log line (the batch already read the job)."""
    try:
        job_id = batch.parse(body).job_id
    except PoisonedMessage:
        unbind_job()
        return
    state = batch.states.get(job_id)
    bind_job(job_id, state.item.supplier_id if state and state.item else None)
