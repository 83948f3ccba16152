"""The time one supplier call may take: its own total timeout, clamped to the invocation's deadline.

The deadline is the invocation's (the pipeline sets it on the call guard: Lambda's remaining time
minus the reserve the commit needs). A call that meets it raises ``OutOfTime``, so its work goes
back on the queue unspent; a call that meets only its own timeouts is a ``TransientError``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from apihub.errors import OutOfTime

# A timeout this close to the deadline is the deadline's doing (clocks and socket timers round).
DEADLINE_SLACK_S = 0.05


@dataclass(frozen=True)
class CallTime:
    ends: float  # monotonic: the earlier of the call's total timeout and the deadline
    deadline: float | None  # monotonic: the invocation's deadline, if it has one

    @classmethod
    def start(cls, total_timeout: float, time_left: float | None, min_call_s: float, what: str) -> CallTime:
        """A call starting now; ``OutOfTime`` when fewer than ``min_call_s`` seconds are left."""
        now = time.monotonic()
        if time_left is None:
            return cls(ends=now + total_timeout, deadline=None)
        if time_left < min_call_s:
            raise OutOfTime(f"{max(0.0, time_left):.1f} s left before this invocation's deadline; {what} not called")
        return cls(ends=now + min(total_timeout, time_left), deadline=now + time_left)

    def left(self) -> float:
        return self.ends - time.monotonic()

    def deadline_met(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline - DEADLINE_SLACK_S


def out_of_time(what: str) -> OutOfTime:
    return OutOfTime(f"this invocation's deadline came before {what} answered in full")


def limit_next_read(resp: Any, seconds: float) -> None:
    """Make the response's next socket read wait at most ``seconds`` (a blocking read would
    otherwise outlive the deadline by up to a whole read timeout)."""
    sock = getattr(getattr(resp, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(0.001, seconds))
