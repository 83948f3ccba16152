"""Changing sync jobs: start an import, retry a job, PATCH its status or fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from apihub.api.app import endpoint, json_response
from apihub.api.routes import JobId, SupplierRef
from apihub.errors import InvalidInput
from apihub.jobs import service
from apihub.models import ImportAccepted, ImportRequest, JobStatus, SyncJob


@endpoint("POST", "/api/suppliers/{supplier_id}/import", "Start an import", 202, errors=(404, 409, 503))
def start_import(supplier_id: SupplierRef, body: Annotated[ImportRequest, Body()]) -> Response[ImportAccepted]:
    accepted = service.start_import(supplier_id, body)
    return json_response(202, accepted.model_dump(mode="json"))


@endpoint("POST", "/api/sync-jobs/{job_id}/retry", "Retry a job as a new job", 201, errors=(404, 409, 503))
def retry_sync_job(
    job_id: JobId,
    failed_only: Annotated[bool, Query(description="Retry only the failed SKUs as an explicit_list job")] = False,
) -> Response[SyncJob]:
    job = service.retry(str(job_id), failed_only=failed_only)
    return json_response(201, job.model_dump(mode="json"))


@endpoint("PATCH", "/api/sync-jobs/{job_id}", "Update a job's status or fields", errors=(404, 409))
def patch_sync_job(
    job_id: JobId,
    status: Annotated[JobStatus | None, Query()] = None,
    records_processed: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
    error_log: Annotated[str | None, Query(max_length=10_000)] = None,
    completed_at: Annotated[datetime | None, Query(description="ISO 8601")] = None,
) -> Response[SyncJob]:
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = status
    if records_processed is not None:
        changes["records_processed"] = records_processed
    if error_log is not None:
        changes["error_log"] = error_log
    if completed_at is not None:
        if completed_at.tzinfo is None:
            raise InvalidInput("completed_at: must include a timezone (e.g. 2026-01-01T00:00:00Z)")
        changes["completed_at"] = completed_at
    if not changes:
        raise InvalidInput("query: give at least one of status, records_processed, error_log, completed_at")
    return json_response(200, service.patch(str(job_id), changes).model_dump(mode="json"))
