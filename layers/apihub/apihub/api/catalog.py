"""The route table: every HTTP route once, by the name of the function folder that serves it.
``template.yaml`` declares the same routes (a test keeps the two in step)."""

from __future__ import annotations

from apihub.api import routes as r
from apihub.api.app import SECURITY_SCHEMES, Route, build_app

ROUTES: dict[str, Route] = {
    "list_sync_jobs": Route("GET", "/api/sync-jobs", r.list_sync_jobs, "List sync jobs, newest first"),
    "sync_jobs_health": Route(
        "GET", "/api/sync-jobs/health", r.sync_jobs_health, "Per supplier: last syncs, last job, consecutive failures"
    ),
    "get_sync_job": Route("GET", "/api/sync-jobs/{job_id}", r.get_sync_job, "Get one sync job", errors=(404,)),
    "list_sync_job_errors": Route(
        "GET",
        "/api/sync-jobs/{job_id}/errors",
        r.list_sync_job_errors,
        "Every per-product error of a job",
        errors=(404,),
    ),
    "retry_sync_job": Route(
        "POST",
        "/api/sync-jobs/{job_id}/retry",
        r.retry_sync_job,
        "Retry a job as a new job",
        201,
        errors=(404, 409, 503),
    ),
    "patch_sync_job": Route(
        "PATCH", "/api/sync-jobs/{job_id}", r.patch_sync_job, "Update a job's status or fields", errors=(404, 409)
    ),
    "start_import": Route(
        "POST", "/api/suppliers/{supplier_id}/import", r.start_import, "Start an import", 202, errors=(404, 409, 503)
    ),
    "upsert_supplier": Route(
        "POST", "/api/suppliers", r.upsert_supplier, "Create or update a supplier by slug", 201, also=(200,)
    ),
    "list_suppliers": Route("GET", "/api/suppliers", r.list_suppliers, "List suppliers"),
    "get_supplier": Route(
        "GET", "/api/suppliers/{supplier_id}", r.get_supplier, "Get a supplier by id or slug", errors=(404,)
    ),
    "patch_supplier": Route(
        "PATCH", "/api/suppliers/{supplier_id}", r.patch_supplier, "Update a supplier", errors=(404,)
    ),
    "delete_supplier": Route(
        "DELETE", "/api/suppliers/{supplier_id}", r.delete_supplier, "Delete a supplier", 204, errors=(404,)
    ),
    "list_products": Route(
        "GET", "/api/suppliers/{supplier_id}/products", r.list_products, "List a supplier's products", errors=(404,)
    ),
    "get_product": Route(
        "GET", "/api/suppliers/{supplier_id}/products/{product_id}", r.get_product, "Get one product", errors=(404,)
    ),
    "health": Route("GET", "/api/health", r.health, "Liveness (no auth)"),
    "openapi": Route("GET", "/api/openapi.json", r.openapi, "This API's OpenAPI 3 schema"),
    "jobs_page": Route(
        "GET",
        "/",
        r.jobs_page,
        "The jobs page (HTML; its script calls the API with the auth_token cookie)",
        media_type="text/html",
    ),
}


def app_for(name: str):
    """The resolver for one function folder: only its own route is registered."""
    return build_app(ROUTES[name])


def build_openapi() -> str:
    app = build_app(*ROUTES.values())
    return app.get_openapi_json_schema(
        title="apihub",
        version="1.0.0",
        description="Supplier catalog imports as sync jobs",
        security_schemes=SECURITY_SCHEMES,  # type: ignore[arg-type]
    )
