"""The fetching part of a hydrate invocation: each SKU of the batch fetched once, through the job's
adapter and limiter, up to ``APIHUB_HYDRATE_CALLS_IN_FLIGHT`` calls at once, under the invocation's
deadline, and judged (``product_outcome``). Each outcome goes to the invocation's commits
(``pipeline.commits.CommitLane``) as soon as it is known; the batch's wiring (``pipeline.hydrate``)
collects the verdicts in message order."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from apihub.adapters.answers import answered_product
from apihub.errors import OutOfTime, Throttled
from apihub.models import ProductRef, iso_from_epoch
from apihub.modes.table import mode_spec
from apihub.pipeline.adapter_factory import adapter_for, limit_calls
from apihub.pipeline.commits import CommitLane, JobState
from apihub.pipeline.product_outcome import Verdict, product_outcome
from apihub.settings import Settings


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


Fetch = Future[Verdict] | InlineFetch


class Fetcher:
    """The batch's fetches, by (job, SKU). ``lock`` is the invocation's one lock over the job states
    (shared with the commits); ``on_throttled(job_id, until)`` records our limiter's wait on the job."""

    def __init__(
        self,
        settings: Settings,
        commits: CommitLane,
        lock: threading.Lock,
        remaining_ms: Callable[[], int],
        on_throttled: Callable[[str, str], None],
    ) -> None:
        self.settings = settings
        self.commits = commits
        self.remaining_ms = remaining_ms
        self.on_throttled = on_throttled
        self._lock = lock
        self.hydrated = 0  # fetches started
        self.finished = 0  # fetches that came back with a verdict
        # Set once our own limiter said "wait", or the deadline came: the rest goes back on the queue.
        self.throttled_for: float | None = None
        self.out_of_time = False
        calls = settings.hydrate_calls_in_flight
        self._pool = ThreadPoolExecutor(calls, thread_name_prefix="fetch") if calls > 1 else None
        self._fetches: dict[tuple[str, str], Fetch] = {}

    @property
    def threaded(self) -> bool:
        return self._pool is not None

    def time_left(self) -> float:
        """Seconds before this invocation's supplier calls must be done (its deadline)."""
        return (self.remaining_ms() - self.settings.hydrate_time_reserve_ms) / 1000

    def hand_on_now(self) -> bool:
        """Throttled by our own limiter, out of time, or too little time for another product: the
        rest goes on as a fresh message. At least one product per invocation is attempted."""
        if self.throttled_for is not None or self.out_of_time:
            return True
        return bool(self.hydrated) and self.time_left() < self.settings.call_min_s

    def submit(self, state: JobState, sku: str, receive_count: int, last_attempt: bool) -> Fetch:
        """The fetch of ``sku`` for ``state``'s job, started once per batch (a SKU that two copies
        of a message carry is fetched once). With one call in flight, no thread: the fetch runs
        on the caller's, when its result is asked for (one product after another)."""
        assert state.item is not None
        key = (state.item.id, sku)
        future = self._fetches.get(key)
        if future is None:
            attempt = partial(self._attempt, state, sku, receive_count, last_attempt)
            future = InlineFetch(attempt) if self._pool is None else self._pool.submit(attempt)
            self._fetches[key] = future
        return future

    def cancel(self, job_id: str) -> None:
        """Drop the fetches of ``job_id`` that have not started (the job ended)."""
        for (owner, _), future in self._fetches.items():
            if owner == job_id:
                future.cancel()

    def stop(self) -> None:
        """Wait for the fetches in flight; those not started are dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def release(self, states: Iterable[JobState]) -> None:
        """Hand the supplier slots back: each job's limiter closed, its adapter's guard cleared."""
        for state in states:
            if state.limiter is not None:
                state.limiter.close()
                if state.adapter is not None:
                    state.adapter.context.guard.target = None
                state.limiter = None

    def _attempt(self, state: JobState, sku: str, receive_count: int, last_attempt: bool) -> Verdict:
        """One product's fetch and verdict; its outcome goes to the commits at once, so a crash
        loses no more than the progressive commits allow. Raises ``HandOn`` (not its turn any
        more), ``Throttled`` or ``OutOfTime`` (handed on unspent)."""
        with self._lock:
            if state.ended or state.failing or self.hand_on_now():
                raise HandOn(sku)
            self.hydrated += 1
        verdict = self._judge(state, sku, receive_count, last_attempt)
        with self._lock:
            self.finished += 1
            if verdict.fail_job is not None:
                # No more calls for a job that will fail (rejected credentials): only those
                # already in flight are made. The main thread fails it, in message order.
                state.failing = True
        if verdict.outcome is not None:
            self.commits.add(state, verdict.outcome)
        return verdict

    def _judge(self, state: JobState, sku: str, receive_count: int, last_attempt: bool) -> Verdict:
        try:
            return product_outcome(partial(self._fetch, state, sku), sku, receive_count, last_attempt, first=False)
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
            return product_outcome(partial(_raise, exc), sku, receive_count, last_attempt, first=True)

    def _fetch(self, state: JobState, sku: str) -> Any:
        """The product (or its stock) from the supplier, through its limiter and under this invocation's deadline."""
        adapter = self._adapter(state)
        assert state.item is not None
        ref = ProductRef(product_id=sku)
        # The job's mode says what one SKU's work reads (the product, its stock levels, ...): all
        # commit through the same exactly-once outcomes, each into its kind's table.
        result = mode_spec(state.item.discovery_mode).fetches.read(adapter, ref)
        # A reply naming another product fails this one (docs/inventory.md, "Replies by rule"): it
        # is never stored under the asked SKU.
        kept = answered_product(sku, result.product_id, "hydrate")
        if result.product_id != kept:
            result = result.model_copy(update={"product_id": kept})
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
                    on_throttled=lambda until: self.on_throttled(job_id, iso_from_epoch(until)),
                    time_left=self.time_left if self.settings.call_deadlines else None,
                    calls_in_flight=self.settings.hydrate_calls_in_flight,
                )
        state.adapter.context.guard.target = state.limiter  # the guard is per thread
        return state.adapter


def _raise(exc: Exception) -> Any:
    raise exc
