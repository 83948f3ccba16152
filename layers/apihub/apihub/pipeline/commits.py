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

import time
from collections.abc import Callable
from dataclasses import dataclass, field

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
        an error they stay pending and ``finish`` commits them (its failure redelivers the batch)."""
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

    def finish(self, states: dict[str, JobState]) -> None:
        """Commit what is left and finalise every job this batch completed. A redelivery whose
        SKUs all had outcomes finalises too: the invocation that recorded them may have died before
        finalising, and no other message is left to do it."""
        for job_id, state in states.items():
            if state.ended or state.item is None:
                continue
            self.commit(state)
            if not state.ended and (state.committed or state.recorded):
                finalise.if_complete(self.jobs, job_id)
