"""The API's front door, without AWS: who is turned away before validation, bodies nobody should
parse, the request-model rules the fuzzer found missing, the OpenAPI schema's declared errors, and
the constant-time token comparison. Each regression test names the 5xx or schema violation it
stops (see docs/reliability.md)."""

from __future__ import annotations

import hmac
import json

import pytest
from apihub import auth
from apihub.api.app import (
    ENDPOINTS,
    MAX_BODY_BYTES,
    MAX_JSON_DEPTH,
    app_for,
    build_openapi,
    endpoint,
    endpoint_for,
    gate,
)
from apihub.api.catalog import BY_NAME, ROUTES
from apihub.errors import InvalidInput
from apihub.models import MAX_LIST_BYTES, MAX_SKU_BYTES, ImportRequest, ProductRef
from apihub.supplier_models import SupplierIn, SupplierPatch
from apihub.supplier_rules import validate_supplier
from pydantic import ValidationError

from apihub_local.events import http_event


def _event(method: str, route: str, *, body: bytes | str | None = None, auth_ctx: dict | None = None, **kw) -> dict:
    event = http_event(method, route.replace("{supplier_id}", "demo"), route, body=body, **kw)
    if auth_ctx is not None:
        event["requestContext"]["authorizer"] = {"lambda": auth_ctx}
    return event


ADMIN = {"auth": "token", "role": "admin"}
IMPORT = "/api/suppliers/{supplier_id}/import"
JSON = {"content-type": "application/json"}


def _answer(result: dict | None) -> tuple[int, dict]:
    assert result is not None
    return result["statusCode"], json.loads(result["body"])


# ------------------------------------------------------------------ the gate: auth before validation


def test_an_anonymous_caller_with_an_invalid_body_gets_401_not_the_schemas_422() -> None:
    # Given a request the authorizer passed on as anonymous, with a body that fails validation
    event = _event("POST", IMPORT, body='{"mode": "nope"}', auth_ctx={"auth": "anonymous", "reason": "invalid token"})
    # When the gate judges it
    status, body = _answer(gate(event))
    # Then it is a 401 naming the reason, before any validation could describe the schema
    assert (status, body) == (401, {"detail": "Unauthorized: invalid token"})


def test_a_viewer_is_forbidden_to_mutate_before_validation() -> None:
    status, body = _answer(gate(_event("POST", IMPORT, body="{}", auth_ctx={"auth": "token", "role": "viewer"})))
    assert status == 403 and body["detail"] == f"Forbidden: role 'viewer' may not POST {IMPORT}"


def test_public_routes_and_good_requests_pass_the_gate() -> None:
    assert gate(_event("GET", "/api/health")) is None
    assert gate(_event("POST", IMPORT, body='{"mode": "first_n"}', auth_ctx=ADMIN, headers=JSON)) is None


# ------------------------------------------------------------------ bodies (were 500s)


def test_invalid_utf8_body_is_a_422_naming_the_encoding() -> None:
    # Regression: Powertools decoded the base64 body as UTF-8 and raised UnicodeDecodeError (a 500)
    status, body = _answer(gate(_event("POST", "/api/suppliers", body=b"\xc1[S\xff", auth_ctx=ADMIN, headers=JSON)))
    assert status == 422 and body["detail"].startswith("body: must be UTF-8 encoded JSON")
    assert body["errors"][0]["type"] == "utf8_invalid"


def test_a_body_over_the_limit_is_a_413_naming_the_limit() -> None:
    big = json.dumps({"mode": "explicit_list", "explicit_list": ["x" * (MAX_BODY_BYTES + 1)]})
    status, body = _answer(gate(_event("POST", IMPORT, body=big, auth_ctx=ADMIN, headers=JSON)))
    assert status == 413 and f"the {MAX_BODY_BYTES}-byte limit" in body["detail"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_a_422_not_a_recursion_error(depth: int) -> None:
    nested = "[" * depth + "]" * depth
    status, body = _answer(gate(_event("POST", IMPORT, body=nested, auth_ctx=ADMIN, headers=JSON)))
    assert status == 422 and body["detail"] == f"body: JSON nested more than {MAX_JSON_DEPTH} levels deep"


def test_json_at_the_depth_limit_passes() -> None:
    nested = '{"a":' * (MAX_JSON_DEPTH - 1) + "{}" + "}" * (MAX_JSON_DEPTH - 1)
    assert gate(_event("POST", IMPORT, body=nested, auth_ctx=ADMIN, headers=JSON)) is None


def test_a_body_that_is_not_json_is_a_415() -> None:
    # Regression: multipart/form-data without a boundary made Powertools' parser raise (a 500)
    event = _event("PATCH", "/api/suppliers/{supplier_id}", body="{}", auth_ctx=ADMIN)
    event["headers"]["content-type"] = "multipart/form-data"
    status, body = _answer(gate(event))
    assert (status, body) == (415, {"detail": "Content-Type: must be application/json (got multipart/form-data)"})


# ------------------------------------------------------------------ request models (were 500s or schema violations)


@pytest.mark.parametrize("field", ["name", "protocol", "is_active"])
def test_patching_a_required_supplier_field_to_null_is_refused(field: str) -> None:
    # Regression: PATCH {"name": null} reached pynamodb's null check on save (AttributeNullError, a 500)
    with pytest.raises(ValidationError, match="may not be null"):
        SupplierPatch.model_validate({field: None})
    assert SupplierPatch.model_validate({"base_url": None}).base_url is None  # nullable fields stay nullable


def test_booleans_and_integers_are_not_coerced_from_other_json_types() -> None:
    # Regression: {"schedules": {"k": 1}} was accepted as true although the schema says boolean
    with pytest.raises(ValidationError):
        SupplierIn.model_validate({"name": "n", "slug": "s", "schedules": {"delta": 1}})
    with pytest.raises(ValidationError):
        SupplierIn.model_validate({"name": "n", "slug": "s", "is_active": "true"})
    with pytest.raises(ValidationError):
        ImportRequest.model_validate({"mode": "first_n", "limit": "5"})


def test_an_explicit_list_too_big_for_the_job_item_is_refused_and_10000_skus_fit() -> None:
    # 10,000 SKUs of a realistic length fit (the job item keeps the list, DynamoDB caps items at 400 KB)
    ok = ImportRequest.model_validate(
        {"mode": "explicit_list", "explicit_list": [f"SKU-{i:06d}" for i in range(10_000)]}
    )
    assert len(ok.explicit_list or []) == 10_000
    with pytest.raises(ValidationError, match=f"at most {MAX_LIST_BYTES} bytes stored as JSON"):
        ImportRequest.model_validate(
            {"mode": "explicit_list", "explicit_list": [f"{i:04d}" + "x" * 252 for i in range(1000)]}
        )


def test_the_list_budget_counts_the_bytes_the_job_item_stores_not_the_utf8_of_the_skus() -> None:
    # Regression: 2,500 SKUs of 16 emoji are 170 KB of UTF-8 (under the old check) but 500 KB as the
    # job item's JSON stores them (each emoji escaped to 12 bytes): an item DynamoDB refuses, a 500.
    skus = [f"{i:04d}" + "\N{GRINNING FACE}" * 16 for i in range(2500)]
    assert sum(len(s.encode()) for s in skus) < MAX_LIST_BYTES < len(json.dumps(skus).encode())
    with pytest.raises(ValidationError, match=f"at most {MAX_LIST_BYTES} bytes stored as JSON"):
        ImportRequest.model_validate({"mode": "explicit_list", "explicit_list": skus})


def test_a_sku_is_limited_in_utf8_bytes_not_characters() -> None:
    # Regression: 256 emoji passed (256 characters) although they are 1,024 bytes, too long for the
    # PRODUCT#<sku> sort key
    emoji = "\N{GRINNING FACE}"
    with pytest.raises(ValidationError) as caught:
        ImportRequest.model_validate({"mode": "explicit_list", "explicit_list": ["A", "B", "C", emoji * 256]})
    (problem,) = caught.value.errors()
    assert problem["loc"] == ("explicit_list", 3)
    assert f"at most {MAX_SKU_BYTES} bytes in UTF-8 (got 1024)" in problem["msg"]
    assert ProductRef(product_id=emoji * (MAX_SKU_BYTES // 4)).product_id  # 256 bytes: the limit itself
    for bad in (emoji * (MAX_SKU_BYTES // 4 + 1), "x" * (MAX_SKU_BYTES + 1), "bad\ud800", ""):
        with pytest.raises(ValidationError):
            ProductRef(product_id=bad)


def test_a_product_id_in_the_path_is_limited_in_utf8_bytes() -> None:
    # API Gateway (HTTP API) hands the function the path decoded: 86 CJK characters are under the
    # schema's 256 characters but 258 bytes, past what a product id may be
    route = BY_NAME["get_product"]
    product_id = "\u5546" * 86
    path = f"/api/suppliers/demo/products/{product_id}"
    event = http_event("GET", path, route.path, path_parameters={"supplier_id": "demo", "product_id": product_id})
    event["requestContext"]["authorizer"] = {"lambda": ADMIN}
    res = app_for(route.name).resolve(event, None)
    assert res["statusCode"] == 422, res["body"]
    assert json.loads(res["body"])["detail"] == f"product_id: at most {MAX_SKU_BYTES} bytes in UTF-8 (got 258)"


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [("auth_config", {"password": "p" * 5000}, 4096), ("protocol_config", {"blob": "b" * 70_000}, 65_536)],
)
def test_supplier_settings_past_kms_or_item_limits_are_a_422(field: str, value: dict, limit: int) -> None:
    # Regression: KMS refuses plaintext over 4096 bytes (a 500 on upsert)
    body = SupplierIn.model_validate({"name": "n", "slug": "s", field: value})
    with pytest.raises(InvalidInput, match=f"{field}: at most {limit} bytes as JSON"):
        validate_supplier(body)


def test_a_second_handler_for_a_registered_route_is_refused() -> None:
    # Given the catalog's handler for GET /api/sync-jobs, registered by its route module
    registered = endpoint_for(next(r for r in ROUTES if r.key == ("GET", "/api/sync-jobs")))

    # When another function registers itself for the same method and path, it is refused
    def list_sync_jobs_again() -> None:
        raise AssertionError("never served")

    with pytest.raises(ValueError, match=r"GET /api/sync-jobs: registered by apihub\.api\.routes\.jobs and by "):
        endpoint("GET", "/api/sync-jobs", "again")(list_sync_jobs_again)
    # And the route keeps its handler (which one a function served must not depend on import order)
    assert ENDPOINTS[("GET", "/api/sync-jobs")] is registered


# ------------------------------------------------------------------ the OpenAPI schema declares every answer


def test_the_openapi_schema_declares_errors_success_codes_and_security_per_route() -> None:
    schema = json.loads(build_openapi())
    assert set(schema["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth"}
    for route in ROUTES:
        op = schema["paths"][route.path][route.method.lower()]
        codes = set(op["responses"])
        assert str(endpoint_for(route).status_code) in codes, route.path
        assert {"414", "422"} <= codes and "500" not in codes
        if route.public:
            assert "security" not in op and "401" not in codes
        else:
            assert {"401", "403"} <= codes and op["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
            assert op["responses"]["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"
            }
    assert set(schema["paths"]["/api/suppliers/{supplier_id}/import"]["post"]["responses"]) >= {
        "202",
        "404",
        "409",
        "413",
        "415",
        "503",
    }
    assert "content" not in schema["paths"]["/"]["get"]["responses"]["200"] or set(
        schema["paths"]["/"]["get"]["responses"]["200"]["content"]
    ) == {"text/html"}


# ------------------------------------------------------------------ constant-time token comparison


class _Record:
    def __init__(self, token_hash: str) -> None:
        self.token_hash = token_hash
        self.revoked = False
        self.expires_at = None
        self.role = "admin"


class _Repo:
    def __init__(self, record: _Record | None) -> None:
        self.record = record

    def lookup(self, token: str) -> _Record | None:
        return self.record


def test_token_hashes_are_compared_with_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a spy in place of hmac.compare_digest
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    token = "ah_constant-time"
    good = _Record(auth.hash_token(token))
    # When a right token and a wrong one (whose lookup returns another record) are checked
    assert auth.authenticate(token, _Repo(good)).authenticated
    assert not auth.authenticate("ah_wrong", _Repo(good)).authenticated
    # Then both comparisons went through compare_digest, with the stored hash and the presented one
    assert calls == [(good.token_hash, auth.hash_token(token)), (good.token_hash, auth.hash_token("ah_wrong"))]


# ------------------------------------------------------------------ the local HTTP server answers like API Gateway


def test_the_local_server_answers_its_own_errors_in_json_and_takes_many_connections_at_once() -> None:
    # Regressions: a 64 KB+ request line got an HTML 414 (not in the schema); TRACE/QUERY got 501;
    # 50 clients connecting at once overflowed http.server's backlog of 5 (connection resets)
    from apihub_local.server import _Handler, _Server

    assert json.loads(_Handler.error_message_format % {"message": "Request-URI Too Long"}) == {
        "message": "Request-URI Too Long"
    }
    assert _Handler.error_content_type == "application/json"
    assert _Server.request_queue_size >= 64
    assert _Handler.__getattr__(_Handler.__new__(_Handler), "do_QUERY").__name__ == "_dispatch"
