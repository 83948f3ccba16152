"""Contention never reaches a caller as a 500: ServiceBusy (retries ran out) and AWS contention errors
that reached a route unwrapped are 503 with Retry-After and a detail. Without AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from apihub.api.app import build_app
from apihub.api.catalog import BY_NAME, ROUTES
from apihub.errors import ServiceBusy
from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError, VerboseClientError

from apihub_local.events import http_event

ADMIN = {"auth": "token", "role": "admin"}


def _call_list_suppliers(monkeypatch: pytest.MonkeyPatch, error: Exception) -> dict[str, Any]:
    from apihub.api.routes import suppliers

    class Repo:
        def list(self) -> list:
            raise error

    monkeypatch.setattr(suppliers, "SuppliersRepository", Repo)
    app = build_app(BY_NAME["list_suppliers"])
    event = http_event("GET", "/api/suppliers", "/api/suppliers")
    event["requestContext"]["authorizer"] = {"lambda": ADMIN}
    return app.resolve(event, None)


def _headers(result: dict[str, Any]) -> dict[str, str]:
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    headers.update({k.lower(): v[0] for k, v in (result.get("multiValueHeaders") or {}).items()})
    return headers


def test_service_busy_is_503_with_retry_after_and_a_detail(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _call_list_suppliers(monkeypatch, ServiceBusy("read suppliers: AWS is busy; try again", retry_after_s=2))
    assert result["statusCode"] == 503
    assert _headers(result)["retry-after"] == "2"
    assert json.loads(result["body"]) == {"detail": "read suppliers: AWS is busy; try again"}


@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Query"),
        PutError(
            "failed",
            VerboseClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "PutItem"
            ),
        ),
    ],
    ids=["botocore-throttle", "pynamodb-throughput"],
)
def test_unwrapped_contention_is_503_not_500(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    result = _call_list_suppliers(monkeypatch, error)
    assert result["statusCode"] == 503 and int(_headers(result)["retry-after"]) >= 1
    assert "AWS is busy" in json.loads(result["body"])["detail"]


def test_other_aws_errors_are_not_disguised_as_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Query")
    with pytest.raises(ClientError):
        _call_list_suppliers(monkeypatch, error)


def test_every_route_that_uses_aws_declares_its_503() -> None:
    from apihub.api.app import build_openapi

    schema = json.loads(build_openapi())
    for route in ROUTES:
        codes = set(schema["paths"][route.path][route.method.lower()]["responses"])
        assert ("503" in codes) is not route.public, route.path


# ------------------------------------------------------------------ the authorizer, when the tokens table is busy


class _BusyTokens:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def lookup(self, token: str) -> None:
        raise self.error


def test_a_busy_tokens_table_is_a_503_with_retry_after_not_an_authorizer_crash() -> None:
    from apihub.api.app import gate
    from apihub.auth import authorizer_response

    # Given the tokens table answers ProvisionedThroughputExceeded after botocore's own retries
    throttled = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "GetItem")
    event = http_event("GET", "/api/suppliers", "/api/suppliers", headers={"authorization": "Bearer ah_x"})
    event["routeKey"] = "GET /api/suppliers"
    # When the authorizer judges the request, it passes it on marked busy (it cannot judge the token)
    decision = authorizer_response(event, repo=_BusyTokens(throttled))  # type: ignore[arg-type]
    assert decision["context"]["auth"] == "busy" and "role" not in decision["context"]
    # Then the API answers 503 with Retry-After before any route code runs
    event["requestContext"]["authorizer"] = {"lambda": decision["context"]}
    answer = gate(event)
    assert answer is not None and answer["statusCode"] == 503
    assert int(answer["headers"]["Retry-After"]) >= 1
    assert "ProvisionedThroughputExceededException" in json.loads(answer["body"])["detail"]


def test_the_authorizer_still_fails_loudly_on_other_errors() -> None:
    from apihub.auth import authorizer_response

    event = http_event("GET", "/api/suppliers", "/api/suppliers", headers={"authorization": "Bearer ah_x"})
    event["routeKey"] = "GET /api/suppliers"
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "x"}}, "GetItem")
    with pytest.raises(ClientError):
        authorizer_response(event, repo=_BusyTokens(denied))  # type: ignore[arg-type]
