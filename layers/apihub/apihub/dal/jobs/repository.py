"""``JobsRepository``: the whole jobs table in one object (``apihub.dal.jobs`` names it lazily)."""

from __future__ import annotations

from apihub.dal.jobs.discontinuations import Discontinuations
from apihub.dal.jobs.discovery import DiscoveryState
from apihub.dal.jobs.lifecycle import JobLifecycle
from apihub.dal.jobs.locks import JobLocks
from apihub.dal.jobs.outcomes import Outcomes


class JobsRepository(JobLocks, DiscoveryState, Outcomes, JobLifecycle, Discontinuations):
    """The jobs table: one object over the parts above (they share settings and the connection)."""
