"""When a webhook delivery is tried again, and when it is given up.

Attempt 1 is made as soon as the event is dispatched. After a failed attempt ``n`` the next one is
due ``base x 2^(n - 1)`` seconds later (base 60 s: 1, 2, 4, 8, ... minutes), and never later than
``max_age`` (24 h) after the first attempt: the last retry lands on it exactly. An attempt that
fails at or past ``max_age`` is the last one; the delivery goes to the DLQ. With the defaults the
attempts fall at 0, 1, 3, 7, 15, 31, 63, 127, 255, 511 and 1023 minutes and at 24 h: 12 attempts.

SQS delays a message by at most 900 s, so a longer wait is made of hops: the message carries its
``not_before`` time and is re-sent with ``min(900, time left)`` until it is due (``hop_delay``).
"""

from __future__ import annotations

from apihub.settings import Settings, get_settings

SQS_MAX_DELAY_S = 900


def next_attempt_at(
    first_attempt_at: float, attempt: int, now: float, settings: Settings | None = None
) -> float | None:
    """When the next attempt is due after attempt ``attempt`` (1-based) failed at ``now``, as epoch
    seconds; ``None`` when that attempt was the last (made at or past the give-up age)."""
    s = settings or get_settings()
    give_up_at = first_attempt_at + s.webhook_max_age_s
    if now >= give_up_at:
        return None
    delay: float = s.webhook_retry_base_s * (1 << (attempt - 1))
    return min(now + delay, give_up_at)


def due_times(first_attempt_at: float = 0.0, settings: Settings | None = None) -> list[float]:
    """Every attempt's due time when each one fails on time (the documented schedule)."""
    times = [first_attempt_at]
    while (nxt := next_attempt_at(first_attempt_at, len(times), times[-1], settings)) is not None:
        times.append(nxt)
    return times


def hop_delay(not_before: float, now: float) -> int:
    """The SQS DelaySeconds that brings a message closer to ``not_before`` (0: it is due)."""
    return max(0, min(SQS_MAX_DELAY_S, int(not_before - now + 0.999)))
