"""Hydration of one SQS batch: fetch each product, then record every outcome exactly once.

``handle_batch`` is the hydrate function's whole work: records go closest-to-last-receive first
through Powertools' ``BatchProcessor`` (one ``HydrateBatch.handle`` each, partial failures
reported). The batch's products are fetched by a small thread pool, up to
``APIHUB_HYDRATE_CALLS_IN_FLIGHT`` calls at once (as many as the supplier's free slots allow),
started as soon as the batch arrives; a commit that falls due runs on a thread of its own, so the
fetching threads go straight on to their next call and the store's work overlaps the supplier's
(the main thread judges each message's outcomes meanwhile). Every
supplier call has a deadline (the remaining time minus the commit reserve);
outcomes are committed as they become ready (``pipeline.commits``); work that meets the deadline
or our own limiter is handed on as a fresh message (no receive burnt); then completed jobs are
finalised and retries get their backoff, recorded on the job (``pipeline.retry_timing``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from pydantic import ValidationError

from apihub.batch import BatchProcessor, EventType, PartialItemFailureResponse, SQSRecord
from apihub.dal import queues
from apihub.dal.jobs import JobsRepository
from apihub.dal.jobs.keys import outcome_groups_of
from apihub.errors import OutOfTime, Throttled
from apihub.models import JobStatus, ProductRef, iso_from_epoch
from apihub.modes.table import mode_spec
from apihub.observability import HYDRATE_LATENCY, bind_job, duration_ms, logger, unbind_job
from apihub.pipeline.adapter_factory import adapter_for, limit_calls
from apihub.pipeline.commits import Committer, JobState, transaction_worth
from apihub.pipeline.messages import HydrateMessage
from apihub.pipeline.product_outcome import Verdict, product_outcome
from apihub.pipeline.retry_timing import NextAttempts, backoff_seconds, delay_seconds
from apihub.settings import get_settings


class PoisonedMessage(Exception):
    """The body is not a hydrate message: it will reach the DLQ after its receives."""


class HandOn(Exception):
    """Not fetched: the invocation was throttled or out of time before this product's turn."""


class InlineFetch:
    """A fetch made on the thread that asks for its result (``APIHUB_HYDRATE_CALLS_IN_FLIGHT`` 1:
    one call at a time, no pool; the timing simulation runs so, its virtual clock knowing one
    thread per invocation)."""

    def __init__(self, attempt: Callable[[], Verdict]) -> None:
        self._attempt: Callable[[], Verdict] | None = attempt
        self._verdict: Verdict | None = None
        self._error: BaseException | None = None

    def result(self) -> Verdict:
        if self._attempt is not None:
            attempt, self._attempt = self._attempt, None
            try:
                self._verdict = attempt()
            except BaseException as exc:  # kept and raised as a Future's result() would
                self._error = exc
        if self._error is not None:
            raise self._error
        assert self._verdict is not None
        return self._verdict

    def cancel(self) -> bool:
        if self._attempt is None:
            return False
        self._attempt = None
        self._error = CancelledError()
        return True


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
        self.finished = 0  # fetches that came back with a verdict
        self._lock = threading.Lock()  # the counters above and each job's adapter and limiter
        self._pool: ThreadPoolExecutor | None = None
        # The progressive commits' thread (with a pool of fetches): a commit held a fetching
        # thread, and its supplier slot, for 150 ms each (docs/benchmarks.md, "What changed").
        self._commits: ThreadPoolExecutor | None = None
        self._fetches: dict[tuple[str, str], Future[Verdict] | InlineFetch] = {}
        self._committing: set[str] = set()  # jobs with a commit in progress on some thread
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

    def _hand_on_now(self) -> bool:
        """Throttled by our own limiter, out of time, or too little time for another product: the
        rest goes on as a fresh message. At least one product per invocation is attempted."""
        if self.throttled_for is not None or self.out_of_time:
            return True
        return bool(self.hydrated) and self.time_left() < self.settings.call_min_s

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
                    self._submit(state, sku, receive_count, last_attempt)

    def _submit(
        self, state: JobState, sku: str, receive_count: int, last_attempt: bool
    ) -> Future[Verdict] | InlineFetch:
        """The fetch of ``sku`` for ``state``'s job, started once per batch (a SKU that two copies
        of a message carry is fetched once). With one call in flight, no thread: the fetch runs
        on the caller's, when its result is asked for (one product after another)."""
        assert state.item is not None
        key = (state.item.id, sku)
        future = self._fetches.get(key)
        if future is None:
            if self.settings.hydrate_calls_in_flight == 1:
                future = InlineFetch(partial(self._attempt, state, sku, receive_count, last_attempt))
            else:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.settings.hydrate_calls_in_flight, thread_name_prefix="fetch")
                future = self._pool.submit(self._attempt, state, sku, receive_count, last_attempt)
            self._fetches[key] = future
        return future

    def _attempt(self, state: JobState, sku: str, receive_count: int, last_attempt: bool) -> Verdict:
        """One product's fetch and verdict, on a pool thread; an outcome is added to the job's
        pending ones (and committed if that makes a commit due) as soon as it is known, so a crash
        loses no more than the progressive commits allow. Raises ``HandOn`` (not its turn any
        more), ``Throttled`` or ``OutOfTime`` (handed on unspent)."""
        with self._lock:
            if state.ended or state.failing or self._hand_on_now():
                raise HandOn(sku)
            self.hydrated += 1
        fetch = partial(self._fetch, state, sku)
        try:
            verdict = product_outcome(fetch, sku, receive_count, last_attempt, first=False)
        except Throttled as exc:  # the threads still to start hand their products on at once
            self.throttled_for = exc.retry_after
            raise
        except OutOfTime as exc:
            with self._lock:
                alone = self.finished == 0
            if not alone:
                self.out_of_time = True
                raise
            # Nothing else of this invocation ended while it ran: it had the invocation's whole
            # time (product_outcome's "first"), so it is retried as transient and costs a receive.
            verdict = product_outcome(partial(_raise, exc), sku, receive_count, last_attempt, first=True)
        with self._lock:
            self.finished += 1
            if verdict.fail_job is not None:
                # No more calls for a job that will fail (rejected credentials): only those
                # already in flight are made. The main thread fails it, in message order.
                state.failing = True
            if verdict.outcome is None or state.ended:
                return verdict
            state.add(verdict.outcome, self.remaining_ms())
            taking = self._take_if_due(state)
        if taking is not None:
            if self._pool is None:  # one call at a time: the commit runs here, in order
                self._commit_taken(state, taking)
            else:
                self._commit_thread().submit(self._commit_taken, state, taking)
        return verdict

    def _commit_thread(self) -> ThreadPoolExecutor:
        """The batch's one commit thread (started on first use): commits run in the order given."""
        if self._commits is None:
            self._commits = ThreadPoolExecutor(1, thread_name_prefix="commit")
        return self._commits

    def _take_if_due(self, state: JobState, now: bool = False) -> JobState | None:
        """``state``'s pending outcomes, up to a transaction's worth, moved to a commit of their
        own, if a commit is due (or ``now``: any pending) and none of this job is in progress
        (call under the lock). The worth at most: outcomes that other threads added since it
        became due wait for the next commit rather than make this one a transaction and a small
        leftover."""
        if state.item is None or state.item.id in self._committing or state.ended or not state.outcomes:
            return None
        if not (now or self.committer.ready(state)):
            return None
        self._committing.add(state.item.id)
        worth = transaction_worth(state.item)
        taking = JobState(item=state.item, outcomes=state.outcomes[:worth], oldest_ms=state.oldest_ms)
        state.outcomes = state.outcomes[worth:]
        state.oldest_ms = self.remaining_ms() if state.outcomes else None
        return taking

    def _commit_taken(self, state: JobState, taking: JobState | None, now: bool = False) -> None:
        """Commit the outcomes ``_take_if_due`` moved to ``taking``, outside the lock, so the other
        threads' calls and outcomes go on meanwhile; then again if more became due while it ran (or,
        ``now``, any are left; a crash must not lose more than the progressive commits allow). What a commit could not
        commit goes back to the pending outcomes, for the batch's last commit."""
        while taking is not None:
            assert state.item is not None
            try:
                self.committer.try_commit(taking)
            finally:
                with self._lock:
                    self._committing.discard(state.item.id)
                    state.committed |= taking.committed
                    state.ended = state.ended or taking.ended
                    failed = bool(taking.outcomes)
                    if failed and not state.ended:  # pending again, for the end of the batch
                        state.outcomes = taking.outcomes + state.outcomes
                        state.oldest_ms = taking.oldest_ms
                    taking = None if failed or state.ended else self._take_if_due(state, now)

    def _commit_rest(self, state: JobState) -> None:
        """On the commit thread, after the commits queued before it: every outcome still pending."""
        with self._lock:
            taking = self._take_if_due(state, now=True)
        self._commit_taken(state, taking, now=True)

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
        fetches = [self._submit(state, sku, receive_count, last_attempt) for sku in todo]
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
                self._cancel(state)
                return  # a commit found the job ended: late messages change nothing
            if verdict.fail_job is not None:
                self._fail_job(state, verdict.fail_job)
                return
            if verdict.outcome is None:
                needs_retry += 1
                retry_hint = max(retry_hint or 0, verdict.retry_hint or 0) or None
        if state.ended:
            self._cancel(state)
            return
        if handed_on:
            self._requeue(msg.job_id, handed_on, message_id)
        if needs_retry:
            delay = backoff_seconds(receive_count, retry_hint)
            self.next_attempts.schedule(msg.job_id, delay)
            raise RetryLater(f"{needs_retry} product(s) to retry", delay)

    def _cancel(self, state: JobState) -> None:
        """Drop the fetches of ``state``'s job that have not started (the job ended)."""
        assert state.item is not None
        for (job_id, _), future in self._fetches.items():
            if job_id == state.item.id:
                future.cancel()

    def _fetch(self, state: JobState, sku: str) -> Any:
        """The product (or its stock) from the supplier, through its limiter and under this invocation's deadline."""
        adapter = self._adapter(state)
        assert state.item is not None
        ref = ProductRef(product_id=sku)
        # The job's mode says what one SKU's work reads (the product, its stock levels, ...): all
        # commit through the same exactly-once outcomes, each into its kind's table.
        result = mode_spec(state.item.discovery_mode).fetches.read(adapter, ref)
        if result.product_id != sku:
            result = result.model_copy(update={"product_id": sku})
        return result

    def _adapter(self, state: JobState) -> Any:
        """``state``'s adapter, its calls going through this invocation's limiter on this thread
        (one limiter per job, shared by the pool's threads: it holds their supplier slots)."""
        assert state.item is not None
        with self._lock:
            if state.adapter is None:
                state.adapter = adapter_for(state.item.supplier_id)
                job_id = state.item.id
                state.limiter = limit_calls(
                    state.adapter,
                    lease_s=self.remaining_ms() / 1000 + 5,
                    on_throttled=lambda until: self.jobs.set_throttled(job_id, iso_from_epoch(until)),
                    time_left=self.time_left if self.settings.call_deadlines else None,
                    calls_in_flight=self.settings.hydrate_calls_in_flight,
                )
        state.adapter.context.guard.target = state.limiter  # the guard is per thread
        return state.adapter

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
        with self._lock:
            state.ended = True
            state.outcomes.clear()
        self._cancel(state)

    # ------------------------------------------------------------------ per batch
    def close(self) -> None:
        """Release this invocation's supplier slots (call once the batch is done, even on error),
        once no fetch is in flight any more, and commit what is pending meanwhile."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            # The fetches are over: what is still pending is committed now, on the commit thread,
            # while the slots are handed back (the batch's last commit waited for that; about
            # 100 ms of every invocation's end, its slots idle, on the local stack).
            for state in self.states.values():
                self._commit_thread().submit(self._commit_rest, state)
        for state in self.states.values():
            if state.limiter is not None:
                state.limiter.close()
                if state.adapter is not None:
                    state.adapter.context.guard.target = None
                state.limiter = None
        if self._commits is not None:  # no thread may outlive the invocation (Lambda freezes it)
            self._commits.shutdown(wait=True)
            self._commits = None

    def commit(self) -> None:
        """Commit the outcomes still pending (exactly once), finalise any job the batch completed,
        and record on each job when its handed-on or retried work is due."""
        self.committer.finish(self.states)
        self.next_attempts.record(self.jobs)


def _raise(exc: Exception) -> Any:
    raise exc


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
