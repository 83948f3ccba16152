"""The rules that make the generated OpenAPI schema a contract a client generator can trust
(docs/decisions.md, "The OpenAPI schema is the contract").

Powertools writes the schema from the handlers' types; :func:`complete` then applies what types alone do
not say, the same way for every route (so a route added later inherits it):

* every list (a route taking ``next_token``) declares the ``X-Next-Token`` header of its 200;
* every 429 and 503 declares ``Retry-After``;
* timestamps (``*_at``, ``*_until``, ``as_of``, ``last_full_sync``, ``last_delta_sync``, ``last_modified``)
  are ``format: date-time``, and the ids apihub issues (``supplier_id``, ``job_id``, ``sync_job_id``,
  ``subscription_id``, ``retry_of``) ``format: uuid``, in what the API answers;
* a request body's example comes from its model's ``examples``;
* no schema is left that nothing references (Powertools adds its own validation-error models, which this
  API never answers: its 422 is ``ValidationErrorBody``).
"""

from __future__ import annotations

import json
import re
from typing import Any

TIMESTAMP = re.compile(r"^(.+_at|.+_until|as_of|last_full_sync|last_delta_sync|last_modified)$")
UUIDS = frozenset({"supplier_id", "job_id", "sync_job_id", "subscription_id", "retry_of"})
NEXT_TOKEN_HEADER = {
    "description": "Cursor of the next page (absent on the last page): pass it back as next_token, same filters",
    "schema": {"type": "string"},
}
RETRY_AFTER_HEADER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
REF = "#/components/schemas/"


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (Powertools' output, changed in place) with the rules above applied."""
    schemas: dict[str, Any] = schema.get("components", {}).get("schemas", {})
    for ops in schema.get("paths", {}).values():
        for op in ops.values():
            _headers(op)
            _body_example(op, schemas)
    request_only = _referenced(
        [op.get("requestBody") for ops in schema["paths"].values() for op in ops.values()], schemas
    ) - _referenced([op.get("responses") for ops in schema["paths"].values() for op in ops.values()], schemas)
    for name, model in schemas.items():
        if name not in request_only:
            _formats(model)
    kept = _referenced([schema["paths"]], schemas)
    for name in [n for n in schemas if n not in kept]:
        del schemas[name]
    return schema


def _headers(op: dict[str, Any]) -> None:
    responses = op.get("responses", {})
    if any(p.get("name") == "next_token" for p in op.get("parameters", [])) and "200" in responses:
        responses["200"].setdefault("headers", {})["X-Next-Token"] = NEXT_TOKEN_HEADER
    for code in ("429", "503"):
        if code in responses:
            responses[code].setdefault("headers", {})["Retry-After"] = RETRY_AFTER_HEADER


def _body_example(op: dict[str, Any], schemas: dict[str, Any]) -> None:
    for media in op.get("requestBody", {}).get("content", {}).values():
        ref = str(media.get("schema", {}).get("$ref", ""))
        examples = schemas.get(ref.removeprefix(REF), {}).get("examples")
        if examples and "example" not in media:
            media["example"] = examples[0]


def _formats(model: dict[str, Any]) -> None:
    for name, prop in model.get("properties", {}).items():
        fmt = "date-time" if TIMESTAMP.match(name) else "uuid" if name in UUIDS else None
        if fmt is None:
            continue
        for variant in prop.get("anyOf", [prop]):
            if variant.get("type") == "string":
                variant.setdefault("format", fmt)


def _referenced(roots: list[Any], schemas: dict[str, Any]) -> set[str]:
    """The names of every component schema reachable from ``roots`` (through nested ``$ref``s)."""
    found: set[str] = set()
    todo = [json.dumps(roots)]
    while todo:
        for name in re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', todo.pop()):
            if name not in found and name in schemas:
                found.add(name)
                todo.append(json.dumps(schemas[name]))
    return found
