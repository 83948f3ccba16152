"""The change feed: ``GET /api/changes`` (docs/changes.md, "Pull API"), and what one job changed."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from apihub.api.app import endpoint, json_response
from apihub.api.routes import JobId, NextToken, page
from apihub.changes.events import ChangeEvent, EventType
from apihub.dal.changes import ChangesRepository
from apihub.dal.jobs.listing import JobListing  # reads only: not the outcome and lifecycle writers
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import InvalidCursor, InvalidInput
from apihub.models import ApihubModel, iso, parse_iso
from apihub.pagination import VERSION

Since = Annotated[
    str | None,
    Query(
        description="An ISO 8601 time (events logged at or after it), or the X-Next-Token of the previous page",
        max_length=4096,
    ),
]


@endpoint("GET", "/api/changes", "Change events, oldest first", errors=(400, 404))
def list_changes(
    supplier_id: Annotated[
        str | None, Query(description="Only this supplier's events: its id or slug", min_length=1, max_length=64)
    ] = None,
    type: Annotated[EventType | None, Query(description="Only events of this type")] = None,
    job_id: Annotated[
        str | None, Query(description="Only the events of this sync job", min_length=1, max_length=64)
    ] = None,
    since: Since = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Most events per page (1-1000): fewer only past 5 MB")
    ] = 100,
    next_token: NextToken = None,
) -> Response[list[ChangeEvent]]:
    if job_id is not None and supplier_id is not None:
        raise InvalidInput("job_id: cannot be combined with supplier_id (a job has one supplier)")
    filters = {}
    if supplier_id is not None:
        # An id or a slug, like the supplier routes; the log keys the id. Unknown: 404, not [].
        filters["supplier_id"] = SuppliersRepository().get(supplier_id).id
    if type is not None:
        filters["type"] = type.value
    since_floor = None
    if job_id is not None:
        # 404 for an unknown job; its events were all logged after it started: read from there.
        since_floor = JobListing().get_item(job_id).started_at
        filters["job_id"] = job_id
    token, since_time = next_token, None
    if since is not None:
        if since.startswith(f"{VERSION}."):
            if next_token is not None:
                raise InvalidInput("since: give a cursor in since or in next_token, not both")
            token = since
        else:
            since_time = _since_time(since)
    if token is None and since_floor is not None:
        since_time = max(since_time or "", _since_time(since_floor))
    try:
        events, cursor = ChangesRepository().list(filters, limit, since=since_time, next_token=token)
    except InvalidCursor as exc:
        if token is since:
            raise InvalidCursor(str(exc).replace("next_token", "since", 1)) from None
        raise
    return page([e.model_dump(mode="json") for e in events], cursor)


class JobChanges(ApihubModel):
    job_id: str
    counts: dict[str, int]  # events of each type the job produced (types with none left out)
    changes: str  # where to list them


@endpoint("GET", "/api/sync-jobs/{job_id}/changes", "How many change events of each type a job produced", errors=(404,))
def get_sync_job_changes(job_id: JobId) -> Response[JobChanges]:
    JobListing().get_item(str(job_id))  # 404 for an unknown job
    counts = ChangesRepository().counts_for_job(str(job_id))
    body = JobChanges(job_id=str(job_id), counts=counts, changes=f"/api/changes?job_id={job_id}")
    return json_response(200, body.model_dump())


def _since_time(value: str) -> str:
    """``since`` as the log writes times (ISO 8601 UTC, milliseconds), or a 422 naming it."""
    try:
        parsed = parse_iso(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput("since: must be an ISO 8601 time (2026-11-30T08:00:00Z) or an X-Next-Token cursor")
    return iso(parsed) or value
