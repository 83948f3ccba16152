"""Jobs table access, one module per kind of item: job items (``items``), import locks (``locks``),
lists (``listing``), discovery state and ref chunks (``discovery``), per-product outcomes
(``outcomes``, with ``batch``, ``writes`` and ``cancellations``), status changes (``lifecycle``) and
the discontinuation passes of complete full_sellable jobs (``discontinuations``); ``repository``
joins them into ``JobsRepository``, and a caller that only reads jobs can use ``listing.JobListing``.

Every invariant (docs/architecture.md, Invariants) that lives in DynamoDB is enforced there with conditional writes:
exactly-once outcomes (1), one import per supplier and mode (4), finalise once (5), and "a terminal
job never changes" (3). The rules that decide (final status, allowed transitions, the supplier
field a mode sets) live in ``apihub.jobs.rules``; this package only executes them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apihub.dal.jobs.batch import Outcome, RecordResult
    from apihub.dal.jobs.items import to_model
    from apihub.dal.jobs.keys import job_pk
    from apihub.dal.jobs.lifecycle import Ending
    from apihub.dal.jobs.repository import JobsRepository

# The names above, each imported from its module on first use (PEP 562): a module that needs one
# part (``keys``, ``writes``, ``listing``) then loads that part and not the whole package, whose
# outcome and lifecycle modules would weigh on the cold start of every function that imported any
# of it (docs/benchmarks.md, "Cold imports").
_LAZY = {
    "Ending": "apihub.dal.jobs.lifecycle",
    "JobsRepository": "apihub.dal.jobs.repository",
    "Outcome": "apihub.dal.jobs.batch",
    "RecordResult": "apihub.dal.jobs.batch",
    "job_pk": "apihub.dal.jobs.keys",
    "to_model": "apihub.dal.jobs.items",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["Ending", "JobsRepository", "Outcome", "RecordResult", "job_pk", "to_model"]
