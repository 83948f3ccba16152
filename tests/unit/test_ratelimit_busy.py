"""The supplier limiter when its own DynamoDB items stay busy past the retry bound: reading waits it
out like a busy slot (Throttled: the work goes back on the queue, no product fails); storing a
penalty or handing a slot back is best effort. Without AWS (a fake repository)."""

from __future__ import annotations

import pytest
from apihub.dal.limits import Slot
from apihub.errors import ServiceBusy, Throttled
from apihub.ratelimit import Limits, SupplierLimiter


class BusyRepo:
    def __init__(self, busy: set[str]) -> None:
        self.busy = busy
        self.released = 0

    def _maybe_busy(self, what: str) -> None:
        if what in self.busy:
            raise ServiceBusy(f"{what}: AWS is busy", retry_after_s=2)

    def acquire_slot(self, *args: object) -> Slot:
        self._maybe_busy("acquire")
        return Slot(0, None, None)

    def release_slot(self, *args: object) -> None:
        self._maybe_busy("release")
        self.released += 1

    def penalty(self, supplier_id: str) -> tuple[int, float]:
        self._maybe_busy("penalty")
        return 0, 1.0

    def penalize(self, *args: object) -> None:
        self._maybe_busy("penalize")


def _limiter(repo: BusyRepo, throttled: list[float]) -> SupplierLimiter:
    return SupplierLimiter(
        "sup",
        Limits(rate=100, burst=100, max_concurrency=2),
        lease_s=30,
        repo=repo,  # type: ignore[arg-type]
        clock=lambda: 1000.0,
        sleep=lambda s: None,
        on_throttled=throttled.append,
    )


@pytest.mark.parametrize("busy", ["acquire", "penalty"])
def test_a_busy_limiter_table_throttles_the_worker_instead_of_failing(busy: str) -> None:
    throttled: list[float] = []
    limiter = _limiter(BusyRepo({busy}), throttled)
    with pytest.raises(Throttled) as info:
        limiter.before_call()
    # The work is handed back for the Retry-After the retries suggested, and the job shows it
    assert info.value.retry_after == 2.0 and throttled == [1002.0]


def test_storing_a_penalty_and_releasing_a_slot_are_best_effort() -> None:
    repo = BusyRepo({"penalize", "release"})
    limiter = _limiter(repo, [])
    limiter.before_call()
    # A 429 still slows this worker down although the penalty could not be stored
    limiter.after_call(429, None)
    assert limiter.factor == 0.5 and limiter.tokens == 0.0
    # And closing gives the slot up locally (its lease expires on its own)
    limiter.close()
    assert limiter.slot is None and repo.released == 0
