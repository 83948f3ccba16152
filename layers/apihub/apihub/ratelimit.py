"""Per-supplier limits across every worker: at most ``max_concurrency`` calls in flight and about
``rate_limit_per_s`` calls per second, with adaptive backoff when the supplier answers 429.

How it holds under any number of Lambda workers, with almost no DynamoDB traffic per call:

* A worker leases one of the supplier's ``max_concurrency`` **slots** (a conditional write on a slot
  item) for its invocation, and up to ``calls_in_flight - 1`` more if they are free at that moment
  (never waiting for them). It keeps at most one call in flight per slot it holds (its threads wait
  for one of its own calls to end), so calls in flight never exceed the slot count. A crashed
  worker's slots free themselves when their lease (the invocation's time) ends.
* Each slot carries an equal **share of the token bucket**: refill ``rate / max_concurrency`` per
  second, capacity ``max(1, burst / max_concurrency)``. The share's state is written back to the
  slot when it is released and picked up by the next holder, so over any one-second window the
  supplier sees at most ``rate + burst`` calls (``burst`` defaults to the rate; the effective burst
  is at least ``max_concurrency``, one call per slot).
* A **429** (or ``Retry-After``) halves the supplier's rate (down to a tenth) for the longer of
  ``Retry-After`` and 30 s; the penalty is stored for every worker, which re-reads it every few
  seconds.
* A worker that cannot get a slot or a token within ``max_wait_s`` raises ``Throttled``: the
  pipeline puts its work back on the queue with a delay. It never fails a product.
* The limiter's own table being busy (``ServiceBusy`` from ``dal.limits`` once its retries ran out)
  is waited out the same way when reading (slots, penalty); storing a penalty or handing a slot
  back is best effort (the worker still slows down itself; an unreturned lease expires).
* No wait outlives the invocation's deadline (``time_left``): a wait that would raises
  ``OutOfTime`` (the work goes back on the queue at once), and the HTTP client clamps every call
  to the time left (``apihub.adapters.deadline``).

Written by hand: no library offers a DynamoDB-backed distributed limiter with leases.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NoReturn

from apihub.dal.limits import LimitsRepository, Slot
from apihub.errors import OutOfTime, ServiceBusy, Throttled
from apihub.observability import logger

DEFAULT_RATE = 5.0
DEFAULT_CONCURRENCY = 4
PENALTY_MIN_S = 30.0
PENALTY_FLOOR = 0.1
PENALTY_REFRESH_S = 2.0
# A worker waiting for a slot looks again at most this long after the last look (from 0.1 s,
# doubling): slots change hands every batch, and a slot that waits for its next holder is a
# supplier call not made. A look is one consistent Query (1 RRU).
SLOT_POLL_MAX_S = 0.25


@dataclass(frozen=True)
class Limits:
    rate: float
    burst: float
    max_concurrency: int

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Limits:
        rate = float(config.get("rate_limit_per_s", DEFAULT_RATE))
        concurrency = int(config.get("max_concurrency", DEFAULT_CONCURRENCY))
        burst = float(config.get("rate_burst", rate))
        return cls(rate=max(rate, 0.001), burst=max(burst, 1.0), max_concurrency=max(1, concurrency))


class SupplierLimiter:
    """A ``CallGuard`` for one worker invocation. ``close()`` releases the slot."""

    def __init__(
        self,
        supplier_id: str,
        limits: Limits,
        *,
        lease_s: float,
        repo: LimitsRepository | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_s: float = 5.0,
        on_throttled: Callable[[float], None] | None = None,
        time_left: Callable[[], float] | None = None,
        calls_in_flight: int = 1,
    ) -> None:
        self.supplier_id = supplier_id
        # Slots wanted: a limiter shared by that many threads (a hydrate invocation's fetch pool).
        self.calls_in_flight = max(1, calls_in_flight)
        self.extra_slots: list[Slot] = []
        self.in_flight = 0
        self._cond = threading.Condition()
        self._time_left = time_left
        self._wait_ends_at_deadline = False
        self.limits = limits
        self.lease_ms = int(lease_s * 1000)
        self.repo = repo or LimitsRepository()
        self.clock = clock
        self.sleep = sleep
        self.max_wait_s = max_wait_s
        self.on_throttled = on_throttled
        self.holder = uuid.uuid4().hex
        self.slot: Slot | None = None
        self.tokens = 0.0
        self.refilled = 0.0
        self.factor = 1.0
        self.penalty_until = 0.0
        self.penalty_checked = -1e18
        self.calls = 0

    # ------------------------------------------------------------------ shares
    @property
    def held(self) -> int:
        """Slots this worker holds (each one call in flight and one share of the bucket)."""
        return (self.slot is not None) + len(self.extra_slots)

    @property
    def share_rate(self) -> float:
        return self.limits.rate * self.factor / self.limits.max_concurrency * max(1, self.held)

    @property
    def share_capacity(self) -> float:
        return max(1.0, self.limits.burst / self.limits.max_concurrency) * max(1, self.held)

    def _refill(self, now: float) -> None:
        self.tokens = min(self.share_capacity, self.tokens + max(0.0, now - self.refilled) * self.share_rate)
        self.refilled = now

    # ------------------------------------------------------------------ CallGuard
    def time_left(self) -> float | None:
        """Seconds before this invocation's supplier calls must be done (None: no deadline)."""
        return self._time_left() if self._time_left is not None else None

    def before_call(self) -> None:
        """Wait for a slot of ours and a token (thread safe: a hydrate invocation's fetch threads
        share one limiter). Raises ``Throttled`` or ``OutOfTime`` instead of waiting too long."""
        penalty = self._read_penalty_when_due()
        with self._cond:
            left = self.time_left()
            wait = self.max_wait_s if left is None else min(self.max_wait_s, max(0.0, left))
            self._wait_ends_at_deadline = wait < self.max_wait_s
            deadline = self.clock() + wait
            if self.slot is None:
                self._acquire_slot(deadline)
            if self.calls_in_flight > 1:
                self._wait_for_own_call()
            if penalty is not None:
                self._apply_penalty(*penalty)
            self._refresh_penalty()
            now = self.clock()
            self._refill(now)
            token_wait = 0.0
            if self.tokens < 1.0:
                token_wait = (1.0 - self.tokens) / self.share_rate
                if now + token_wait > deadline:
                    self._throttled(token_wait, f"supplier rate limit: next call allowed in {token_wait:.1f} s")
            # The token is taken now (the share may go below zero: a reservation), the wait made
            # outside the lock, so other threads' calls can end meanwhile.
            self.tokens -= 1.0
            self.calls += 1
            self.in_flight += 1
        if token_wait > 0:
            self.sleep(token_wait)

    def _wait_for_own_call(self) -> None:
        """More threads than slots: wait (until the deadline) for one of our calls to end. Calls
        end by the deadline themselves, so this never needs the supplier's limit to throttle."""
        while self.in_flight >= self.held:
            left = self.time_left()
            if left is not None and left <= 0:
                raise OutOfTime("this invocation's deadline came while its other supplier calls were in flight")
            self._cond.wait(timeout=None if left is None else left)

    def after_call(self, status: int | None, retry_after: float | None) -> None:
        with self._cond:
            self.in_flight = max(0, self.in_flight - 1)
            self._cond.notify()
            if status == 429:
                self._penalize(retry_after)

    def _penalize(self, retry_after: float | None) -> None:
        now = self.clock()
        hold = max(retry_after or 0.0, PENALTY_MIN_S)
        within = now < self.penalty_until
        self.factor = max(PENALTY_FLOOR, (self.factor if within else 1.0) * 0.5)
        self.penalty_until = now + hold
        self.tokens = 0.0
        try:
            self.repo.penalize(self.supplier_id, int(self.penalty_until * 1000), self.factor)
        except ServiceBusy as exc:
            logger.warning("429 penalty not stored: DynamoDB busy", extra={"reason": exc.detail})
        if self.on_throttled:
            self.on_throttled(self.penalty_until)

    def close(self) -> None:
        """Hand every slot back, each with its part of the bucket's tokens."""
        with self._cond:
            if self.slot is None:
                return
            self._refill(self.clock())
            slots = [self.slot, *self.extra_slots]
            tokens = self.tokens / len(slots)
            refilled_ms = int(self.refilled * 1000)

            def release(slot: Slot) -> None:
                try:
                    self.repo.release_slot(self.supplier_id, slot.number, self.holder, tokens, refilled_ms)
                except ServiceBusy as exc:  # the lease runs out on its own
                    logger.warning("supplier slot not released: DynamoDB busy", extra={"reason": exc.detail})

            if len(slots) == 1:
                release(slots[0])
            else:  # at once: the next worker may be waiting for them
                with ThreadPoolExecutor(len(slots), thread_name_prefix="release") as pool:
                    list(pool.map(release, slots))
            self.slot = None
            self.extra_slots = []

    # ------------------------------------------------------------------ internals
    def _acquire_slot(self, deadline: float) -> None:
        pause = 0.1
        while True:
            now = self.clock()
            extra: list[Slot] = []
            slot: Slot | None = None
            try:
                if self.calls_in_flight > 1:
                    # Up to all it wants with one read: the first is waited for, the others taken
                    # only if free now (a busy supplier leaves it with one).
                    leased = self.repo.acquire_slots(
                        self.supplier_id,
                        self.limits.max_concurrency,
                        self.holder,
                        self.lease_ms,
                        int(now * 1000),
                        self.calls_in_flight,
                    )
                    if leased:
                        slot, extra = leased[0], leased[1:]
                else:
                    slot = self.repo.acquire_slot(
                        self.supplier_id, self.limits.max_concurrency, self.holder, self.lease_ms, int(now * 1000)
                    )
            except ServiceBusy as exc:
                self._throttled(float(exc.retry_after_s), f"supplier limiter busy: {exc.detail}")
            if slot is not None:
                self.slot = slot
                if slot.tokens is None or slot.refilled_ms is None:
                    self.tokens, self.refilled = self.share_capacity, now  # a fresh share starts full
                else:
                    self.tokens, self.refilled = slot.tokens, slot.refilled_ms / 1000
                self._add_extra_slots(extra, now)
                return
            if now + pause > deadline:
                self._throttled(
                    max(pause, 1.0), f"supplier concurrency limit: all {self.limits.max_concurrency} slots busy"
                )
            self.sleep(pause)
            pause = min(pause * 2, SLOT_POLL_MAX_S)

    def _add_extra_slots(self, slots: list[Slot], now: float) -> None:
        """Slots leased beside the first: their shares join the bucket."""
        self._refill(now)
        for slot in slots:
            # Its share joins the bucket: a fresh one full, a released one as its last holder left it.
            if slot.tokens is None or slot.refilled_ms is None:
                self.tokens += self.share_capacity / self.held
            else:
                self.tokens += slot.tokens
            self.extra_slots.append(slot)

    def _read_penalty_when_due(self) -> tuple[int, float] | None:
        """The stored penalty when a look is due, read *outside* the lock: the other threads'
        calls start and end meanwhile (a read under it held every one of them for a DynamoDB round
        trip every ``PENALTY_REFRESH_S``). One thread claims each look. None: not due, not this
        thread's, or before the first slot (that look is made under the lock, with the slot's)."""
        with self._cond:
            if self.slot is None or self.clock() - self.penalty_checked < PENALTY_REFRESH_S:
                return None
            claimed = self.penalty_checked
            self.penalty_checked = self.clock()
        try:
            return self.repo.penalty(self.supplier_id)
        except ServiceBusy:
            with self._cond:  # looked at again under the lock, which waits it out or throttles
                self.penalty_checked = claimed
            return None

    def _refresh_penalty(self) -> None:
        now = self.clock()
        if now - self.penalty_checked < PENALTY_REFRESH_S:
            return
        self.penalty_checked = now
        try:
            until_ms, factor = self.repo.penalty(self.supplier_id)
        except ServiceBusy as exc:
            self._throttled(float(exc.retry_after_s), f"supplier limiter busy: {exc.detail}")
        self._apply_penalty(until_ms, factor)

    def _apply_penalty(self, until_ms: int, factor: float) -> None:
        """Take the stored penalty in; a penalty of our own still in force is never lifted by it
        (a read made before our 429, or our penalty not stored: DynamoDB busy)."""
        now = self.clock()
        until = until_ms / 1000
        in_force = now < self.penalty_until
        if until > now:
            self.factor = min(self.factor, factor) if in_force else factor
            self.penalty_until = max(until, self.penalty_until) if in_force else until
        elif not in_force:
            self.factor = 1.0

    def _throttled(self, retry_after: float, message: str) -> NoReturn:
        if self._wait_ends_at_deadline and retry_after <= self.max_wait_s:
            # Not the supplier's limit: this invocation's time. The next one can wait for it.
            raise OutOfTime(f"{message}; this invocation's deadline comes first")
        if self.on_throttled:
            self.on_throttled(self.clock() + retry_after)
        raise Throttled(message, retry_after=retry_after)


class GuardProxy:
    """What adapters hand their HTTP client: the pipeline points it at this invocation's limiter.
    Per thread, because the local stack runs several invocations of one function in one process
    (Lambda runs one per container) and they share the cached adapter."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def target(self) -> SupplierLimiter | None:
        return getattr(self._local, "target", None)

    @target.setter
    def target(self, limiter: SupplierLimiter | None) -> None:
        self._local.target = limiter

    def before_call(self) -> None:
        if self.target is not None:
            self.target.before_call()

    def after_call(self, status: int | None, retry_after: float | None) -> None:
        if self.target is not None:
            self.target.after_call(status, retry_after)

    def time_left(self) -> float | None:
        return self.target.time_left() if self.target is not None else None
