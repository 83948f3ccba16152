"""The supplier limiter's look at the stored 429 penalty, made every few seconds by one of the
invocation's fetch threads: it must not hold the others' calls while it waits on DynamoDB, and a
look that raced our own 429 must not lift it. Without AWS (a fake repository, a settable clock)."""

from __future__ import annotations

import threading

from apihub.dal.limits import Slot
from apihub.ratelimit import PENALTY_REFRESH_S, Limits, SupplierLimiter


class SlowPenaltyRepo:
    """Two free slots; ``penalty`` answers at once until ``hold`` is set, then waits for ``go``."""

    def __init__(self) -> None:
        self.hold = False
        self.reading = threading.Event()
        self.go = threading.Event()

    def acquire_slots(self, *args: object) -> list[Slot]:
        return [Slot(0, None, None), Slot(1, None, None)]

    def release_slot(self, *args: object) -> None:
        pass

    def penalty(self, supplier_id: str) -> tuple[int, float]:
        if self.hold:
            self.reading.set()
            self.go.wait(timeout=10)
        return 0, 1.0

    def penalize(self, *args: object) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limiter(repo: SlowPenaltyRepo, clock: Clock) -> SupplierLimiter:
    return SupplierLimiter(
        "sup",
        Limits(rate=1000, burst=1000, max_concurrency=2),
        lease_s=30,
        repo=repo,  # type: ignore[arg-type]
        clock=clock,
        sleep=lambda s: None,
        calls_in_flight=2,
    )


def test_a_penalty_look_at_dynamodb_does_not_hold_the_other_threads_calls() -> None:
    # Given a limiter of two threads, its slots leased and one call made
    repo, clock = SlowPenaltyRepo(), Clock()
    limiter = _limiter(repo, clock)
    limiter.before_call()
    limiter.after_call(200, None)
    # When a look at the stored penalty is due and one thread's look waits on DynamoDB
    clock.now += PENALTY_REFRESH_S + 1
    repo.hold = True
    looking = threading.Thread(target=limiter.before_call)
    looking.start()
    try:
        assert repo.reading.wait(timeout=5)
        # Then another thread's call still starts and ends meanwhile
        other = threading.Thread(target=lambda: (limiter.before_call(), limiter.after_call(200, None)))
        other.start()
        other.join(timeout=2)
        assert not other.is_alive(), "a call waited for another thread's penalty look"
    finally:
        repo.go.set()
        looking.join(timeout=5)
    assert not looking.is_alive()


def test_a_look_that_raced_our_own_429_does_not_lift_it() -> None:
    # Given a limiter whose stored penalty is none (the look below is read before our 429 is stored)
    repo, clock = SlowPenaltyRepo(), Clock()
    limiter = _limiter(repo, clock)
    limiter.before_call()
    full_rate = limiter.share_rate
    # When the supplier answers 429, and a look at the stored penalty comes back empty
    limiter.after_call(429, None)
    clock.now += PENALTY_REFRESH_S + 1
    limiter.before_call()
    # Then the worker still runs at the lowered rate for the penalty's time
    assert limiter.share_rate == full_rate / 2
