"""Reading sync jobs: list, get, and a job's per-product errors."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from apihub.api.app import endpoint, json_response
from apihub.api.routes import JobId, JobType, NextToken, page
from apihub.dal.jobs.listing import JobListing  # reads only: not the outcome and lifecycle writers
from apihub.dal.suppliers import SuppliersRepository
from apihub.models import JobError, JobStatus, SyncJob


@endpoint("GET", "/api/sync-jobs", "List sync jobs, newest first", errors=(400, 404))
def list_sync_jobs(
    status: Annotated[JobStatus | None, Query(description="Only jobs with this status")] = None,
    job_type: Annotated[JobType | None, Query(description="import:<mode>")] = None,
    supplier_id: Annotated[
        str | None, Query(description="Only this supplier's jobs (its id or slug)", min_length=1, max_length=64)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most jobs per page (1-1000): fewer only past 5 MB")] = 100,
    next_token: NextToken = None,
) -> Response[list[SyncJob]]:
    filters = {}
    if status is not None:
        filters["status"] = status.value
    if job_type is not None:
        filters["job_type"] = str(job_type)
    if supplier_id is not None:  # an unknown supplier is a 404, not an empty list
        filters["supplier_id"] = SuppliersRepository().get(supplier_id).id
    jobs, cursor = JobListing().list(filters, limit, next_token)
    return page([j.model_dump(mode="json") for j in jobs], cursor)


@endpoint("GET", "/api/sync-jobs/{job_id}", "Get one sync job", errors=(404,))
def get_sync_job(job_id: JobId) -> Response[SyncJob]:
    return json_response(200, JobListing().get(str(job_id)).model_dump(mode="json"))


@endpoint("GET", "/api/sync-jobs/{job_id}/errors", "Every per-product error of a job", errors=(400, 404))
def list_sync_job_errors(
    job_id: JobId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: NextToken = None,
) -> Response[list[JobError]]:
    repo = JobListing()
    repo.get_item(str(job_id))  # 404 for an unknown job, not an empty list
    errors, cursor = repo.list_errors(str(job_id), limit, next_token)
    return page([e.model_dump() for e in errors], cursor)
