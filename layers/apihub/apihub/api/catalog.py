"""The route table: every HTTP route once, by the name of the function folder that serves it.
``template.yaml`` declares the same routes (a test keeps the two in step).

Handlers are named ``"<module>:<function>"`` in ``apihub.api.routes``: a function imports only its own
route's module (and what that needs), not every route's dependencies."""

from __future__ import annotations

from apihub.api.app import Route, build_app

ROUTES: dict[str, Route] = {
    "list_sync_jobs": Route("GET", "/api/sync-jobs", "jobs:list_sync_jobs", "List sync jobs, newest first"),
    "sync_jobs_health": Route(
        "GET",
        "/api/sync-jobs/health",
        "supplier_health:sync_jobs_health",
        "Per supplier: last syncs, last job, consecutive failures",
    ),
    "get_sync_job": Route("GET", "/api/sync-jobs/{job_id}", "jobs:get_sync_job", "Get one sync job", errors=(404,)),
    "list_sync_job_errors": Route(
        "GET",
        "/api/sync-jobs/{job_id}/errors",
        "jobs:list_sync_job_errors",
        "Every per-product error of a job",
        errors=(404,),
    ),
    "retry_sync_job": Route(
        "POST",
        "/api/sync-jobs/{job_id}/retry",
        "job_actions:retry_sync_job",
        "Retry a job as a new job",
        201,
        errors=(404, 409, 503),
    ),
    "patch_sync_job": Route(
        "PATCH",
        "/api/sync-jobs/{job_id}",
        "job_actions:patch_sync_job",
        "Update a job's status or fields",
        errors=(404, 409),
    ),
    "start_import": Route(
        "POST",
        "/api/suppliers/{supplier_id}/import",
        "job_actions:start_import",
        "Start an import",
        202,
        errors=(404, 409, 503),
    ),
    "upsert_supplier": Route(
        "POST",
        "/api/suppliers",
        "suppliers:upsert_supplier",
        "Create or update a supplier by slug",
        201,
        errors=(409,),
        also=(200,),
    ),
    "list_suppliers": Route("GET", "/api/suppliers", "suppliers:list_suppliers", "List suppliers"),
    "get_supplier": Route(
        "GET", "/api/suppliers/{supplier_id}", "suppliers:get_supplier", "Get a supplier by id or slug", errors=(404,)
    ),
    "patch_supplier": Route(
        "PATCH", "/api/suppliers/{supplier_id}", "suppliers:patch_supplier", "Update a supplier", errors=(404,)
    ),
    "delete_supplier": Route(
        "DELETE", "/api/suppliers/{supplier_id}", "suppliers:delete_supplier", "Delete a supplier", 204, errors=(404,)
    ),
    "list_products": Route(
        "GET",
        "/api/suppliers/{supplier_id}/products",
        "suppliers:list_products",
        "List a supplier's products",
        errors=(404,),
    ),
    "get_product": Route(
        "GET",
        "/api/suppliers/{supplier_id}/products/{product_id}",
        "suppliers:get_product",
        "Get one product",
        errors=(404,),
    ),
    "health": Route("GET", "/api/health", "site:health", "Liveness (no auth)"),
    "openapi": Route("GET", "/api/openapi.json", "site:openapi", "This API's OpenAPI 3 schema"),
    "jobs_page": Route(
        "GET",
        "/",
        "site:jobs_page",
        "The jobs page (HTML; its script calls the API with the auth_token cookie)",
        media_type="text/html",
    ),
}


def app_for(name: str):
    """The resolver for one function folder: only its own route is registered."""
    return build_app(ROUTES[name])


def build_openapi() -> str:
    # Powertools' OpenAPI spec models cost 60-150 ms to import: only the openapi function pays it.
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    security_schemes = {
        "bearerAuth": HTTPBearer(description="Authorization: Bearer <token>"),
        "cookieAuth": APIKey(name="auth_token", **{"in": APIKeyIn.cookie}, description="Cookie auth_token=<token>"),
    }
    app = build_app(*ROUTES.values())
    return app.get_openapi_json_schema(
        title="apihub",
        version="1.0.0",
        description="Supplier catalog imports as sync jobs",
        security_schemes=security_schemes,  # type: ignore[arg-type]
    )
