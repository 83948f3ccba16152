"""Per supplier: last syncs, last job, consecutive failures."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from apihub.api.app import endpoint, json_response
from apihub.jobs.health import SupplierHealth, supplier_health


@endpoint("GET", "/api/sync-jobs/health", "Per supplier: last syncs, last job, consecutive failures")
def sync_jobs_health() -> Response[list[SupplierHealth]]:
    return json_response(200, [h.model_dump(mode="json") for h in supplier_health()])
