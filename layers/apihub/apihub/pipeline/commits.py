"""Progressive commits of a hydrate batch's outcomes.

A batch's outcomes are committed as they become ready, not only at its end: as soon as one job has
a transaction's worth (``transaction_worth``) or its oldest uncommitted outcome is
``APIHUB_HYDRATE_COMMIT_EVERY_S`` old by the invocation's clock. An invocation that dies (a Lambda
timeout, out of memory) then loses at most that much work, never the whole batch. Each commit is
the exactly-once transaction of ``Outcomes.record_outcomes``, so committing early, late or twice
counts every product once. After the last commit, every job the batch touched that is complete is
finalised (``pipeline.finalise``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from apihub.adapters.base import SupplierAdapter
from apihub.dal.jobs import JobsRepository, Outcome
from apihub.dal.jobs.keys import OUTCOME_ITEMS_PER_TRANSACTION
from apihub.dal.tables import JobItem
from apihub.modes.fetch import PRODUCT
from apihub.modes.table import mode_spec
from apihub.observability import logger, products_recorded
from apihub.pipeline import finalise
from apihub.ratelimit import SupplierLimiter


@dataclass
class JobState:
    """One job's part of a hydrate batch."""

    item: JobItem | None
    adapter: SupplierAdapter | None = None
    limiter: SupplierLimiter | None = None
    ended: bool = False
    failing: bool = False  # a product's verdict fails the job: start no more of its products
    outcomes: list[Outcome] = field(default_factory=list)  # not committed yet
    recorded: set[str] = field(default_factory=set)  # had an outcome before this batch
    committed: set[str] = field(default_factory=set)  # committed by this batch
    oldest_ms: int | None = None  # the invocation's remaining time when ``outcomes`` began

    def done(self) -> set[str]:
        """SKUs that need no more work in this batch."""
        return {o.sku for o in self.outcomes} | self.committed | self.recorded

    def add(self, outcome: Outcome, remaining_ms: int) -> None:
        if not self.outcomes:
            self.oldest_ms = remaining_ms
        self.outcomes.append(outcome)


def transaction_worth(item: JobItem | None) -> int:
    """Outcomes that make a commit due: a transaction's worth for the job's fetch kind
    (``FetchKind.outcomes_per_commit``; a job not read yet counts as a product job)."""
    fetches = mode_spec(item.discovery_mode).fetches if item is not None else PRODUCT
    return fetches.outcomes_per_commit(OUTCOME_ITEMS_PER_TRANSACTION)


class Committer:
    """Commits the outcomes of one invocation's job states (``try_commit`` when ``ready`` says a
    commit is due, ``finish`` once at the end)."""

    def __init__(self, jobs: JobsRepository, remaining_ms: Callable[[], int], every_s: float) -> None:
        self.jobs = jobs
        self.remaining_ms = remaining_ms
        self.every_ms = every_s * 1000

    def ready(self, state: JobState) -> bool:
        if state.ended or not state.outcomes:
            return False
        age_ms = (state.oldest_ms or 0) - self.remaining_ms()
        return len(state.outcomes) >= transaction_worth(state.item) or age_ms >= self.every_ms

    def try_commit(self, state: JobState) -> None:
        """Commit ``state``'s outcomes (the caller judged them due with ``ready``). Best effort: on
        an error they stay pending and ``finish`` commits them (its failure redelivers the job's records)."""
        try:
            self.commit(state)
        except Exception:
            logger.warning("progressive commit failed; retried at the end of the batch", exc_info=True)

    def commit(self, state: JobState) -> None:
        """Record ``state``'s pending outcomes exactly once."""
        if state.item is None or state.ended or not state.outcomes:
            return
        started = time.monotonic()
        item, outcomes = state.item, list(state.outcomes)
        hashes = self.jobs.stored_hashes(item, [o.sku for o in outcomes if o.ok])
        result = self.jobs.record_outcomes(item, outcomes, hashes)
        products_recorded(outcomes, result.recorded)  # ProductsHydrated/Failed, per commit
        state.outcomes, state.oldest_ms = [], None
        state.committed |= {o.sku for o in outcomes}
        state.ended = state.ended or result.job_terminal
        logger.info(
            "recorded outcomes",
            extra={
                "job_id": item.id,
                "supplier_id": item.supplier_id,
                "recorded": len(result.recorded),
                "duplicates": len(result.duplicates),
                "products_written": result.products_written,
                "commit_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )

    def finish(self, states: dict[str, JobState]) -> set[str]:
        """Commit what is left and finalise every job this batch completed; the jobs whose outcomes
        could not be committed (their records are then reported failed, and redelivered: outcomes
        are exactly-once). A redelivery whose SKUs all had outcomes finalises too: the invocation
        that recorded them may have died before finalising, and no other message is left to do it."""
        uncommitted: set[str] = set()
        for job_id, state in states.items():
            if state.ended or state.item is None:
                continue
            try:
                self.commit(state)
            except Exception:
                logger.exception("last commit failed; the job's records are redelivered", extra={"job_id": job_id})
                uncommitted.add(job_id)
                continue
            if not state.ended and (state.committed or state.recorded):
                finalise.if_complete(self.jobs, job_id)
        return uncommitted


class CommitLane:
    """The commits of one hydrate invocation: a job's outcomes, once a commit is due, run on one
    commit thread of their own, so the fetching threads go straight on to their next call (with one
    call in flight, no thread: on the caller's). One commit per job at a time, in the order taken.

    The thread is made with the lane, before any fetch starts, and joined by ``join`` before the
    batch answers: made on first use by whichever fetch thread got there, two jobs could each make
    one, and the one not kept was never joined, its failed commit lost while SQS heard success.
    ``lock`` is the invocation's one lock over the job states (shared with the fetches)."""

    def __init__(self, committer: Committer, lock: threading.Lock, remaining_ms: Callable[[], int], threaded: bool):
        self.committer = committer
        self.remaining_ms = remaining_ms
        self._lock = lock
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="commit") if threaded else None
        self._committing: set[str] = set()  # jobs with a commit in progress

    def add(self, state: JobState, outcome: Outcome) -> None:
        """A new outcome of ``state``'s job; committed at once if that makes a commit due."""
        with self._lock:
            if state.ended:
                return
            state.add(outcome, self.remaining_ms())
            taking = self._take_if_due(state)
        if taking is not None:
            self._run(self._commit_taken, state, taking)

    def commit_rest(self, states: Iterable[JobState]) -> None:
        """Once the fetches are over: commit what each job still has pending, on the commit thread
        after the commits queued before it, while the caller hands the supplier slots back (with no
        thread, ``Committer.finish`` does). What fails stays pending, for ``Committer.finish``."""
        if self._thread is not None:
            for state in states:
                self._thread.submit(self._commit_rest, state)

    def join(self) -> None:
        """Wait for every commit queued; no thread may outlive the invocation (Lambda freezes it)."""
        if self._thread is not None:
            self._thread.shutdown(wait=True)

    def _run(self, commit: Callable[..., None], *args: Any) -> None:
        if self._thread is None:
            commit(*args)
        else:
            self._thread.submit(commit, *args)

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
        ``now``, any are left). What a commit could not commit goes back to the pending outcomes."""
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
        with self._lock:
            taking = self._take_if_due(state, now=True)
        self._commit_taken(state, taking, now=True)
