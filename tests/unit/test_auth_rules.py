"""Token extraction and role rules (no AWS)."""

from __future__ import annotations

import pytest
from apihub.auth import role_allows, token_from


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
