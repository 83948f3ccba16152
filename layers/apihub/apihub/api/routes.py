"""Every HTTP route: parameters and bodies are declared with types (Powertools validates them and
generates the OpenAPI schema); the work is done by the domain modules."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from apihub.api.app import json_response
from apihub.dal.jobs import JobsRepository
from apihub.dal.products import ProductsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import InvalidInput
from apihub.jobs import service
from apihub.jobs.health import SupplierHealth, supplier_health
from apihub.models import (
    JOB_TYPES,
    ImportAccepted,
    ImportRequest,
    JobError,
    JobStatus,
    StoredProduct,
    Supplier,
    SupplierIn,
    SupplierPatch,
    SyncJob,
)

JobId = Annotated[UUID, Path(description="Sync job id (UUID)")]
SupplierRef = Annotated[str, Path(description="Supplier id (UUID) or slug", min_length=1, max_length=64)]
NextToken = Annotated[str | None, Query(description="Cursor from a previous X-Next-Token header", max_length=4096)]
JobType = Literal[JOB_TYPES]  # type: ignore[valid-type]


def _page(items: list[Any], token: str | None) -> Response[Any]:
    headers = {"X-Next-Token": token} if token else None
    return json_response(200, items, headers)


# ------------------------------------------------------------------------------------------ jobs


def list_sync_jobs(
    status: Annotated[JobStatus | None, Query(description="Only jobs with this status")] = None,
    job_type: Annotated[JobType | None, Query(description="import:<mode>")] = None,
    supplier_id: Annotated[UUID | None, Query(description="Only this supplier's jobs")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size (1-1000)")] = 100,
    next_token: NextToken = None,
) -> Response[list[SyncJob]]:
    filters = {}
    if status is not None:
        filters["status"] = status.value
    if job_type is not None:
        filters["job_type"] = str(job_type)
    if supplier_id is not None:
        filters["supplier_id"] = str(supplier_id)
    jobs, token = JobsRepository().list(filters, limit, next_token)
    return _page([j.model_dump(mode="json") for j in jobs], token)


def sync_jobs_health() -> Response[list[SupplierHealth]]:
    return json_response(200, [h.model_dump(mode="json") for h in supplier_health()])


def get_sync_job(job_id: JobId) -> Response[SyncJob]:
    return json_response(200, JobsRepository().get(str(job_id)).model_dump(mode="json"))


def list_sync_job_errors(
    job_id: JobId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: NextToken = None,
) -> Response[list[JobError]]:
    repo = JobsRepository()
    repo.get_item(str(job_id))  # 404 for an unknown job, not an empty list
    errors, token = repo.list_errors(str(job_id), limit, next_token)
    return _page([e.model_dump() for e in errors], token)


def retry_sync_job(
    job_id: JobId,
    failed_only: Annotated[bool, Query(description="Retry only the failed SKUs as an explicit_list job")] = False,
) -> Response[SyncJob]:
    job = service.retry(str(job_id), failed_only=failed_only)
    return json_response(201, job.model_dump(mode="json"))


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


# ------------------------------------------------------------------------------------------ imports


def start_import(supplier_id: SupplierRef, body: Annotated[ImportRequest, Body()]) -> Response[ImportAccepted]:
    accepted = service.start_import(supplier_id, body)
    return json_response(202, accepted.model_dump(mode="json"))


# ------------------------------------------------------------------------------------------ suppliers


def upsert_supplier(body: Annotated[SupplierIn, Body()]) -> Response[Supplier]:
    from apihub.suppliers import validate_supplier

    validate_supplier(body)
    supplier, created = SuppliersRepository().upsert(body)
    return json_response(201 if created else 200, supplier.public())


def list_suppliers() -> Response[list[Supplier]]:
    return json_response(200, [s.public() for s in SuppliersRepository().list()])


def get_supplier(supplier_id: SupplierRef) -> Response[Supplier]:
    return json_response(200, SuppliersRepository().get(supplier_id).public())


def patch_supplier(supplier_id: SupplierRef, body: Annotated[SupplierPatch, Body()]) -> Response[Supplier]:
    from apihub.suppliers import validate_supplier

    validate_supplier(body)
    return json_response(200, SuppliersRepository().patch(supplier_id, body).public())


def delete_supplier(supplier_id: SupplierRef) -> Response[None]:
    SuppliersRepository().delete(supplier_id)
    return Response(status_code=204, body="")


# ------------------------------------------------------------------------------------------ products


def list_products(
    supplier_id: SupplierRef,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: NextToken = None,
) -> Response[list[StoredProduct]]:
    supplier = SuppliersRepository().get(supplier_id)
    products, token = ProductsRepository().list(supplier.id, limit, next_token)
    return _page([p.model_dump(mode="json") for p in products], token)


def get_product(
    supplier_id: SupplierRef,
    product_id: Annotated[str, Path(min_length=1, max_length=256)],
) -> Response[StoredProduct]:
    supplier = SuppliersRepository().get(supplier_id)
    return json_response(200, ProductsRepository().get(supplier.id, product_id).model_dump(mode="json"))


# ------------------------------------------------------------------------------------------ system


class Health(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str = Field(examples=["ok"])


def health() -> Response[Health]:
    return json_response(200, {"status": "ok", "service": "apihub"})


def jobs_page() -> Response[str]:
    from apihub.web import jobs_page_html

    # The page holds no data (its script fetches everything with the visitor's token), so it is public;
    # the CSP keeps it to its own inline code and this origin's API.
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=jobs_page_html(), headers=headers)


def openapi() -> Response[dict]:
    from apihub.api.catalog import build_openapi

    return json_response(200, json.loads(build_openapi()))
