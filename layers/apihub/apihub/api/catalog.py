"""The route catalog: every HTTP route once, as data, and who may call it.

A row names the function folder that serves the route (``functions/<name>/``, with its sample event
``events/<name>.json`` and its function in ``template.yaml``), the route module that registers the
handler (``apihub.api.routes.<module>``), the roles whose tokens may call it, and whether it is
public (no token: the template gives it ``Auth: Authorizer: NONE``). The authorizer (``apihub.auth``)
and the API gate (``apihub.api.app``) read the roles through ``is_public`` and ``role_allows`` below;
``tests/infrastructure/test_template.py`` checks that every row has each of those pieces, and that
nothing has them without a row.

This module imports nothing: a function imports only its own route module (``apihub.api.app.app_for``).
"""

from __future__ import annotations

from dataclasses import dataclass

VIEWER, SERVICE, ADMIN = "viewer", "service", "admin"
ROLES = frozenset({VIEWER, SERVICE, ADMIN})

# The rules of docs/auth.md: any token may read, the service may also PATCH a job, admin may do everything.
READ = ROLES
SERVICE_WRITE = frozenset({SERVICE, ADMIN})
ADMIN_ONLY = frozenset({ADMIN})


@dataclass(frozen=True)
class Route:
    name: str  # functions/<name>/app.py, events/<name>.json
    method: str
    path: str  # as in template.yaml: /api/sync-jobs/{job_id}
    module: str  # apihub.api.routes.<module> registers the handler for method + path
    roles: frozenset[str] = frozenset()  # the roles whose tokens may call it (none needed when public)
    public: bool = False  # no token needed; the authorizer does not run

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


ROUTES: tuple[Route, ...] = (
    Route("list_sync_jobs", "GET", "/api/sync-jobs", "jobs", READ),
    Route("sync_jobs_health", "GET", "/api/sync-jobs/health", "supplier_health", READ),
    Route("get_sync_job", "GET", "/api/sync-jobs/{job_id}", "jobs", READ),
    Route("list_sync_job_errors", "GET", "/api/sync-jobs/{job_id}/errors", "jobs", READ),
    Route("retry_sync_job", "POST", "/api/sync-jobs/{job_id}/retry", "job_actions", ADMIN_ONLY),
    Route("patch_sync_job", "PATCH", "/api/sync-jobs/{job_id}", "job_actions", SERVICE_WRITE),
    Route("start_import", "POST", "/api/suppliers/{supplier_id}/import", "job_actions", ADMIN_ONLY),
    Route("upsert_supplier", "POST", "/api/suppliers", "suppliers", ADMIN_ONLY),
    Route("list_suppliers", "GET", "/api/suppliers", "suppliers", READ),
    Route("get_supplier", "GET", "/api/suppliers/{supplier_id}", "suppliers", READ),
    Route("patch_supplier", "PATCH", "/api/suppliers/{supplier_id}", "suppliers", ADMIN_ONLY),
    Route("delete_supplier", "DELETE", "/api/suppliers/{supplier_id}", "suppliers", ADMIN_ONLY),
    Route("list_products", "GET", "/api/suppliers/{supplier_id}/products", "products", READ),
    Route("get_product", "GET", "/api/suppliers/{supplier_id}/products/{product_id}", "product", READ),
    Route("create_subscription", "POST", "/api/subscriptions", "subscriptions", ADMIN_ONLY),
    Route("list_subscriptions", "GET", "/api/subscriptions", "subscriptions", ADMIN_ONLY),
    Route("get_subscription", "GET", "/api/subscriptions/{subscription_id}", "subscriptions", ADMIN_ONLY),
    Route("delete_subscription", "DELETE", "/api/subscriptions/{subscription_id}", "subscriptions", ADMIN_ONLY),
    Route(
        "list_subscription_deliveries",
        "GET",
        "/api/subscriptions/{subscription_id}/deliveries",
        "subscriptions",
        ADMIN_ONLY,
    ),
    Route("get_inventory", "GET", "/api/suppliers/{supplier_id}/products/{product_id}/inventory", "inventory", READ),
    Route("get_pricing", "GET", "/api/suppliers/{supplier_id}/products/{product_id}/pricing", "pricing", READ),
    # A quote computes from stored pricing and writes nothing: any reader may ask for one.
    Route("quote_product", "POST", "/api/suppliers/{supplier_id}/products/{product_id}/quote", "pricing", READ),
    Route("list_markup_rules", "GET", "/api/markup-rules", "markup_rules", ADMIN_ONLY),
    Route("create_markup_rule", "POST", "/api/markup-rules", "markup_rules", ADMIN_ONLY),
    Route("delete_markup_rule", "DELETE", "/api/markup-rules/{rule_id}", "markup_rules", ADMIN_ONLY),
    Route("list_inventory_changes", "GET", "/api/suppliers/{supplier_id}/inventory", "inventory_changes", READ),
    Route("list_changes", "GET", "/api/changes", "changes", READ),
    Route("get_sync_job_changes", "GET", "/api/sync-jobs/{job_id}/changes", "changes", READ),
    Route("health", "GET", "/api/health", "site", public=True),
    # The schema holds no data, and a client generator must be able to fetch it.
    Route("openapi", "GET", "/api/openapi.json", "site", public=True),
    # The page is static HTML whose script calls the (authorized) API with the visitor's token.
    Route("jobs_page", "GET", "/", "site", public=True),
)

BY_NAME: dict[str, Route] = {route.name: route for route in ROUTES}
BY_KEY: dict[tuple[str, str], Route] = {route.key: route for route in ROUTES}


def is_public(method: str, route: str) -> bool:
    """Whether the catalog route (matched on its template, ``/api/sync-jobs/{job_id}``) needs no token."""
    row = BY_KEY.get((method, route))
    return row is not None and row.public


def role_allows(role: str | None, method: str, route: str) -> bool:
    """Whether a token of ``role`` may call the catalog route; a route the catalog lacks is denied."""
    row = BY_KEY.get((method, route))
    if row is None:
        return False
    return row.public or role in row.roles
