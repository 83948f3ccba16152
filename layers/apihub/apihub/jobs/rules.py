"""The rules of a sync job's life, apart from where it is stored: which status a finished job ends
in, which changes PATCH allows, and what a finished import sets on its supplier. The data layer
executes what these decide (conditional writes); it decides nothing itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apihub.errors import InvalidInput, InvalidTransition
from apihub.models import DiscoveryMode, JobStatus
from apihub.modes.table import mode_spec

# PATCH: from a non-terminal status, where a job may go (docs/architecture.md, Invariants: the status rules).
PATCH_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.pending: frozenset({JobStatus.pending, JobStatus.running, JobStatus.failed}),
    JobStatus.running: frozenset({JobStatus.running, JobStatus.success, JobStatus.partial_success, JobStatus.failed}),
}


def final_status(success: int, failed: int) -> JobStatus:
    """No failures -> success (also for zero products); no successes -> failed; else partial."""
    if failed == 0:
        return JobStatus.success
    if success == 0:
        return JobStatus.failed
    return JobStatus.partial_success


def is_complete(total: int, success: int, failed: int, discovery_complete: bool) -> bool:
    """Every discovered product has an outcome and discovery will add no more."""
    return discovery_complete and success + failed >= total


def supplier_sync(mode: DiscoveryMode, final: JobStatus, started_at: str) -> tuple[str, str] | None:
    """(supplier field, value) a finished import sets (its mode's row in ``modes.table``), or None."""
    field = mode_spec(mode).sets_supplier_field
    if field is None or final not in (JobStatus.success, JobStatus.partial_success):
        return None
    return field, started_at


def discontinues(mode: DiscoveryMode, final: JobStatus, discovery_complete: bool) -> bool:
    """Whether a finished job discontinues its supplier's products it did not list: only a mode whose
    listing is the whole sellable catalog (``ModeSpec.discontinues_unlisted``), only with discovery
    complete, only in success or partial success (a failed job's listing proves nothing)."""
    return (
        mode_spec(mode).discontinues_unlisted
        and discovery_complete
        and final in (JobStatus.success, JobStatus.partial_success)
    )


def check_patch(job_id: str, current: JobStatus, changes: Mapping[str, Any]) -> JobStatus | None:
    """Validate a PATCH against the job's current status; returns the new status (or None).

    A finished job never changes (409); a status change must be one the state machine allows (409);
    ``completed_at`` only comes with a terminal status (422): a running job has no completion time."""
    if current.terminal:
        raise InvalidTransition(f"status: job {job_id} is {current.value}; a finished job cannot change")
    new_status: JobStatus | None = changes.get("status")
    if new_status is not None and new_status not in PATCH_TRANSITIONS[current]:
        raise InvalidTransition(f"status: cannot go from {current.value} to {new_status.value}")
    if changes.get("completed_at") is not None and (new_status is None or not new_status.terminal):
        raise InvalidInput(
            "completed_at: only allowed together with a terminal status (success, partial_success, failed)"
        )
    return new_status
