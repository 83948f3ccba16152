"""When a job's work is tried again, and the record of it the sweeper reads.

Every delay the pipeline asks SQS for (a redelivery's backoff, a supplier's ``Retry-After``, our own
limiter's wait) comes from here, within the settings' bounds, and is recorded on the job as
``next_attempt_at`` (``JobsRepository.expect_attempt``): the sweeper counts a job's idleness from
the later of its last progress and that time, so no job is swept while a retry is still due.
"""

from __future__ import annotations

from datetime import timedelta

from apihub.dal.jobs import JobsRepository
from apihub.models import iso, utcnow
from apihub.observability import logger
from apihub.settings import get_settings


def backoff_seconds(receive_count: int, hint: float | None = None) -> int:
    """Redelivery delay after a transient error: exponential (10 s, 20 s, 40 s ... capped at
    5 min), or the supplier's Retry-After when it gave one (up to 15 min)."""
    settings = get_settings()
    if hint:
        return delay_seconds(hint)
    return int(min(settings.retry_backoff_max_s, settings.retry_backoff_base_s * 2 ** max(0, receive_count - 1)))


def delay_seconds(wait: float) -> int:
    """A delay to ask SQS for: at least 1 s, at most ``retry_delay_max_s`` (SQS allows 900 s)."""
    return int(min(get_settings().retry_delay_max_s, max(1, wait)))


def expect_attempt(jobs: JobsRepository, job_id: str, delay_s: float) -> None:
    """Record that the job's work is tried again ``delay_s`` from now. Best effort: an attempt
    never recorded is still within the sweeper's stall limit (derived from the template)."""
    try:
        jobs.expect_attempt(job_id, iso(utcnow() + timedelta(seconds=delay_s)) or "")
    except Exception:
        logger.warning("could not record the next attempt", extra={"job_id": job_id}, exc_info=True)


class NextAttempts:
    """The latest attempt scheduled for each job during one invocation, recorded at its end."""

    def __init__(self) -> None:
        self.delays: dict[str, float] = {}

    def schedule(self, job_id: str, delay_s: float) -> None:
        self.delays[job_id] = max(self.delays.get(job_id, 0.0), delay_s)

    def record(self, jobs: JobsRepository) -> None:
        for job_id, delay_s in self.delays.items():
            expect_attempt(jobs, job_id, delay_s)
