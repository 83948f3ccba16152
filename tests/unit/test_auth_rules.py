"""Token extraction and role rules (no AWS)."""

from __future__ import annotations

import pytest
from apihub.api.catalog import ROUTES, Route
from apihub.auth import authorizer_response, role_allows, token_from


@pytest.mark.parametrize(
    ("headers", "cookies", "expected"),
    [
        ({"Authorization": "Bearer abc"}, None, "abc"),
        ({"authorization": "bearer   xyz "}, None, "xyz"),
        ({}, ["auth_token=tok1"], "tok1"),
        ({}, ["theme=dark", "auth_token=tok2"], "tok2"),
        ({"cookie": "a=b; auth_token=tok3"}, None, "tok3"),
        ({"Authorization": "Basic abc"}, None, None),
        ({}, ["auth_token="], None),
        ({}, None, None),
    ],
)
def test_token_from_cookie_or_bearer(headers, cookies, expected) -> None:
    assert token_from(headers, cookies) == expected


def test_bearer_header_wins_over_cookie() -> None:
    assert token_from({"Authorization": "Bearer header"}, ["auth_token=cookie"]) == "header"


@pytest.mark.parametrize(
    ("role", "method", "route", "allowed"),
    [
        ("viewer", "GET", "/api/sync-jobs", True),
        ("viewer", "PATCH", "/api/sync-jobs/{job_id}", False),
        ("viewer", "POST", "/api/suppliers/{supplier_id}/import", False),
        ("service", "GET", "/api/sync-jobs/{job_id}", True),
        ("service", "PATCH", "/api/sync-jobs/{job_id}", True),
        ("service", "POST", "/api/sync-jobs/{job_id}/retry", False),
        ("service", "DELETE", "/api/suppliers/{supplier_id}", False),
        ("admin", "DELETE", "/api/suppliers/{supplier_id}", True),
        (None, "GET", "/api/health", True),
        (None, "GET", "/api/sync-jobs", False),
        ("unknown", "GET", "/api/sync-jobs", False),
    ],
)
def test_role_rules(role, method, route, allowed) -> None:
    assert role_allows(role, method, route) is allowed


@pytest.mark.parametrize("role", ["admin", "service", "viewer", None])
def test_a_route_the_catalog_lacks_is_denied_to_every_role(role) -> None:
    assert role_allows(role, "GET", "/api/not-in-the-catalog") is False
    assert role_allows(role, "DELETE", "/api/sync-jobs/{job_id}") is False


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_catalog_rows_follow_the_documented_role_rules(route: Route) -> None:
    """docs/auth.md: viewer GET; service GET and PATCH a job; admin everything (webhook subscriptions
    and markup rules, reads included, are admin only); a quote, a POST that writes nothing, is a read;
    public needs no token."""
    if route.public:
        expected = {"admin", "service", "viewer", None}
    elif route.path.startswith(("/api/subscriptions", "/api/markup-rules")):
        expected = {"admin"}
    elif route.method == "GET" or route.name == "quote_product":
        expected = {"admin", "service", "viewer"}
    elif route.key == ("PATCH", "/api/sync-jobs/{job_id}"):
        expected = {"admin", "service"}
    else:
        expected = {"admin"}
    allowed = {role for role in ("admin", "service", "viewer", None) if role_allows(role, *route.key)}
    assert allowed == expected


@pytest.mark.parametrize("route", [r for r in ROUTES if r.public], ids=[r.name for r in ROUTES if r.public])
def test_the_authorizer_lets_public_catalog_routes_through_without_a_token(route: Route) -> None:
    event = {"routeKey": f"{route.method} {route.path}", "headers": {}}
    assert authorizer_response(event) == {"isAuthorized": True, "context": {"auth": "public"}}
