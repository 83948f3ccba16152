"""The OpenAPI schema is a contract a client generator can trust (docs/decisions.md, "The OpenAPI schema is
the contract"): what a generated client sends by default is accepted, every header and error it may
meet is declared, every schema is complete, and the rules hold for every route (a new one inherits them)."""

from __future__ import annotations

import json
import re
import typing
from typing import Any

import pytest
from apihub.api.app import build_openapi, endpoint_for
from apihub.api.catalog import ROUTES
from apihub.api.contract import TIMESTAMP, UUIDS, complete
from apihub.models import DiscoveryMode, ImportRequest
from apihub.supplier_models import SupplierIn, SupplierPatch
from apihub.supplier_rules import validate_supplier

SCHEMA = json.loads(build_openapi())
OPS = [(path, method, op) for path, ops in SCHEMA["paths"].items() for method, op in ops.items()]


def _defaults(model: dict[str, Any]) -> dict[str, Any]:
    """What a generated client sends when the caller sets nothing: every declared default."""
    return {name: prop["default"] for name, prop in model.get("properties", {}).items() if "default" in prop}


@pytest.mark.parametrize("mode", list(DiscoveryMode), ids=[m.value for m in DiscoveryMode])
def test_an_import_request_with_the_schemas_defaults_is_accepted_for_every_mode(mode: DiscoveryMode) -> None:
    # Given the body a generated client sends for this mode: the schema's defaults, the mode, and the
    # list the mode requires
    body = _defaults(SCHEMA["components"]["schemas"]["ImportRequest"]) | {"mode": mode.value}
    if mode is DiscoveryMode.explicit_list:
        body["explicit_list"] = ["SKU-1"]
    # Then the server's model accepts it (a default limit was refused by every mode but first_n)
    request = ImportRequest.model_validate(body)
    # And first_n still gets its trial size when no limit is given
    assert request.limit == (20 if mode is DiscoveryMode.first_n else None)


def test_every_list_declares_its_cursor_header_and_every_429_and_503_retry_after() -> None:
    lists = [(p, m) for p, m, op in OPS if any(x["name"] == "next_token" for x in op.get("parameters", []))]
    assert ("/api/sync-jobs", "get") in lists and ("/api/changes", "get") in lists
    for path, method, op in OPS:
        headers = op["responses"].get("200", {}).get("headers", {})
        assert ("X-Next-Token" in headers) is ((path, method) in lists), (method, path)
        if (path, method) in lists:  # a cursor the list did not issue is a 400
            assert op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
        assert "429" in op["responses"], (method, path)  # the gateway's throttle answers any route
        for code in ("429", "503"):
            if code in op["responses"]:
                assert op["responses"][code]["headers"]["Retry-After"]["schema"] == {"type": "integer"}


def _answered_schemas() -> set[str]:
    text = json.dumps([op["responses"] for _, _, op in OPS])
    names = set(re.findall(r"#/components/schemas/(\w+)", text))
    while True:
        more = {
            n
            for name in names
            for n in re.findall(r"#/components/schemas/(\w+)", json.dumps(SCHEMA["components"]["schemas"][name]))
        }
        if more <= names:
            return names
        names |= more


def _string_variants(prop: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in prop.get("anyOf", [prop]) if v.get("type") == "string"]


def test_timestamps_are_date_time_and_issued_ids_uuid_in_every_answer() -> None:
    schemas = SCHEMA["components"]["schemas"]
    checked = 0
    for name in _answered_schemas():
        for field, prop in schemas[name].get("properties", {}).items():
            want = "date-time" if TIMESTAMP.match(field) else "uuid" if field in UUIDS else None
            for variant in _string_variants(prop) if want else []:
                assert variant.get("format") == want, f"{name}.{field}"
                checked += 1
    assert checked > 30
    # The ids apihub issues as `id` say so too (the change feed's evt_ ids do not claim to be UUIDs)
    for name in ("SyncJob", "Supplier", "Subscription", "LastJob"):
        assert schemas[name]["properties"]["id"]["format"] == "uuid", name
    assert "format" not in schemas["ChangeEvent"]["properties"]["id"]


def test_request_bodies_keep_their_ids_free_form() -> None:
    # A request may name a supplier by slug: the uuid format applies only to what the API answers
    prop = SCHEMA["components"]["schemas"]["SubscriptionIn"]["properties"]["supplier_id"]
    assert all("format" not in v for v in prop["anyOf"])


def test_every_schema_is_referenced_and_defines_what_it_requires() -> None:
    schemas = SCHEMA["components"]["schemas"]
    text = json.dumps(SCHEMA["paths"])
    referenced = set(re.findall(r"#/components/schemas/(\w+)", text + json.dumps(schemas)))
    assert set(schemas) == referenced, set(schemas) ^ referenced
    for name, model in schemas.items():
        missing = set(model.get("required", [])) - set(model.get("properties", {}))
        assert not missing, f"{name} requires undefined {missing}"
    assert "ValidationError" not in schemas and "HTTPValidationError" not in schemas


def test_unreferenced_schemas_are_dropped_and_referenced_ones_kept() -> None:
    schema = {
        "paths": {
            "/x": {"get": {"responses": {"200": {"content": {"a": {"schema": {"$ref": "#/components/schemas/A"}}}}}}}
        },
        "components": {"schemas": {"A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}}, "B": {}, "C": {}}},
    }
    assert set(complete(schema)["components"]["schemas"]) == {"A", "B"}


def test_operation_ids_are_the_catalogs_route_names() -> None:
    ids = {(path, method): op["operationId"] for path, method, op in OPS}
    assert ids == {(r.path, r.method.lower()): r.name for r in ROUTES}


def test_every_request_body_has_an_example_the_server_accepts() -> None:
    bodies = 0
    for route in ROUTES:
        op = SCHEMA["paths"][route.path][route.method.lower()]
        if "requestBody" not in op:
            continue
        example = op["requestBody"]["content"]["application/json"]["example"]
        model = typing.get_type_hints(endpoint_for(route).handler, include_extras=True)["body"].__origin__
        parsed = model.model_validate(example)
        if isinstance(parsed, SupplierIn | SupplierPatch):
            validate_supplier(parsed)
        bodies += 1
    assert bodies >= 6  # suppliers (POST, PATCH), import, subscriptions, markup rules, quotes


def test_the_schema_is_public() -> None:
    op = SCHEMA["paths"]["/api/openapi.json"]["get"]
    assert "security" not in op and "401" not in op["responses"]


def test_a_supplier_filter_may_answer_404() -> None:
    op = SCHEMA["paths"]["/api/sync-jobs"]["get"]
    assert op["responses"]["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    param = next(p for p in op["parameters"] if p["name"] == "supplier_id")
    assert "format" not in json.dumps(param["schema"])  # an id or a slug
