"""Jobs table access, one module per kind of item: job items (``items``), import locks (``locks``),
lists (``listing``), discovery state and ref chunks (``discovery``), per-product outcomes
(``outcomes``, with ``batch``, ``writes`` and ``cancellations``) and status changes (``lifecycle``).

Every invariant of DESIGN.md that lives in DynamoDB is enforced there with conditional writes:
exactly-once outcomes (1), one import per supplier and mode (4), finalise once (5), and "a terminal
job never changes" (3). The rules that decide (final status, allowed transitions, the supplier
field a mode sets) live in ``apihub.jobs.rules``; this package only executes them.
"""

from __future__ import annotations

from apihub.dal.jobs.discovery import DiscoveryState
from apihub.dal.jobs.items import to_model
from apihub.dal.jobs.keys import job_pk
from apihub.dal.jobs.lifecycle import Ending, JobLifecycle
from apihub.dal.jobs.locks import JobLocks
from apihub.dal.jobs.outcomes import Outcome, Outcomes, RecordResult


class JobsRepository(JobLocks, DiscoveryState, Outcomes, JobLifecycle):
    """The jobs table: one object over the parts above (they share settings and the connection)."""


__all__ = ["Ending", "JobsRepository", "Outcome", "RecordResult", "job_pk", "to_model"]
