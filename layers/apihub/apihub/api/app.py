"""Builds the Powertools resolver each API function uses, with the given routes only.

Every API Lambda calls ``app_for("<its catalog row's name>")``, which imports that row's route module
only; the OpenAPI function builds one resolver with every row, so the schema at ``/api/openapi.json``
is generated from the same code. Route modules register their handlers with :func:`endpoint`.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict

from apihub.api.catalog import BY_NAME, ROUTES, Route, is_public, role_allows
from apihub.dal.retries import AWS_ERRORS, RetryPolicy, retryable_reason
from apihub.errors import ApihubError, ServiceBusy
from apihub.models import ApihubModel

if TYPE_CHECKING:  # type checking only: the OpenAPI models cost 60-150 ms to import (build_openapi)
    from aws_lambda_powertools.event_handler.openapi.models import SecurityScheme
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

# ---------------------------------------------------------------- error bodies (declared in the OpenAPI schema)


class ErrorBody(ApihubModel):
    """Every error this API answers itself: ``{"detail": "<field or cause>: <rule>"}``."""

    detail: str


class ValidationProblem(ApihubModel):
    field: str
    rule: str
    type: str | None = None


class ValidationErrorBody(ErrorBody):
    """422: ``detail`` sums up every problem; ``errors`` lists them one by one."""

    errors: list[ValidationProblem] = []


class GatewayOrErrorBody(ApihubModel):
    """Answers API Gateway may give itself, in front of the function (``{"message": "Forbidden"}`` when the
    authorizer denies a role, ``{"message": "Request-URI Too Long"}``, ...), or ours (``detail``)."""

    model_config = ConfigDict(extra="forbid")
    detail: str | None = None
    message: str | None = None


ERROR_DESCRIPTIONS = {
    400: ("next_token was not issued for this list and its filters", ErrorBody),
    401: ("Missing, unknown, expired or revoked token", ErrorBody),
    403: ("The token's role may not call this route", GatewayOrErrorBody),
    404: ("Not found", ErrorBody),
    409: ("Conflict with the current state", ErrorBody),
    413: ("Request body too large", GatewayOrErrorBody),
    414: ("Request URI too long (the gateway's answer)", GatewayOrErrorBody),
    415: ("The body is not application/json", ErrorBody),
    422: ("Invalid input: the field and the rule", ValidationErrorBody),
    429: ("Too many requests (the gateway's throttle); try again after Retry-After seconds", GatewayOrErrorBody),
    503: ("AWS or a dependency is busy or unavailable; try again after the Retry-After header's seconds", ErrorBody),
}


@dataclass(frozen=True)
class Endpoint:
    """A route's handler and how it answers (the OpenAPI side); who may call it is in the catalog."""

    method: str
    path: str  # as in template.yaml and the catalog: /api/sync-jobs/{job_id}
    handler: Callable[..., Any]
    summary: str
    status_code: int = 200
    errors: tuple[int, ...] = ()  # besides 414/422/429 and (unless public) 401/403, which every route may answer
    also: tuple[int, ...] = ()  # other success codes (an upsert answers 200 or 201)
    media_type: str = content_types.APPLICATION_JSON

    @property
    def module(self) -> str:
        return self.handler.__module__

    def responses(self, public: bool) -> dict[int, OpenAPIResponse]:
        """The OpenAPI responses: every status the route can answer, each with its body shape."""
        out: dict[int, OpenAPIResponse] = {}
        for code in (self.status_code, *self.also):
            if code == 204:
                out[code] = {"description": "No content", "content": {}}
            elif self.media_type != content_types.APPLICATION_JSON:
                out[code] = {"description": "OK", "content": {self.media_type: {"schema": {"type": "string"}}}}
            else:
                out[code] = {"description": "OK"}  # the schema comes from the handler's return annotation
        errors = {414, 422, 429, *self.errors} | ({413, 415} if self.method in ("POST", "PATCH", "PUT") else set())
        if "next_token" in inspect.signature(self.handler).parameters:
            errors.add(400)  # a list refuses a cursor it did not issue
        if not public:
            errors |= {401, 403, 503}  # every non-public route uses DynamoDB: contention is a 503
        for code in sorted(errors):
            description, model = ERROR_DESCRIPTIONS[code]
            out[code] = {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}
        return out

    @property
    def rule(self) -> str:
        """Powertools' path syntax: ``<param>`` instead of ``{param}``."""
        return self.path.replace("{", "<").replace("}", ">")


# What the route modules imported so far registered, by (method, path).
ENDPOINTS: dict[tuple[str, str], Endpoint] = {}

Handler = TypeVar("Handler", bound=Callable[..., Any])


def endpoint(
    method: str,
    path: str,
    summary: str,
    status_code: int = 200,
    *,
    errors: tuple[int, ...] = (),
    also: tuple[int, ...] = (),
    media_type: str = content_types.APPLICATION_JSON,
) -> Callable[[Handler], Handler]:
    """Register the decorated route function as the handler of ``method path`` (the catalog row for
    that route names the function's module, so only the function serving it imports the module)."""

    def register(handler: Handler) -> Handler:
        ep = Endpoint(method, path, handler, summary, status_code, errors, also, media_type)
        taken = ENDPOINTS.get((method, path))
        if taken is not None and (taken.module, taken.handler.__qualname__) != (ep.module, handler.__qualname__):
            # Which one a function served would depend on import order.
            raise ValueError(f"{method} {path}: registered by {taken.module} and by {ep.module}")
        ENDPOINTS[(method, path)] = ep
        return handler

    return register


def endpoint_for(route: Route) -> Endpoint:
    """The handler the catalog row's route module registers for the row's method and path."""
    module = f"apihub.api.routes.{route.module}"
    importlib.import_module(module)
    ep = ENDPOINTS.get(route.key)
    if ep is None or ep.module != module:
        raise LookupError(f"{route.name}: {module} registers no handler for {route.method} {route.path}")
    return ep


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body" or len(err.get("loc", ())) == 1]
        where = ".".join(loc) or "body"
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            where, msg = "body", "malformed JSON"
        elif err.get("type") == "missing":
            msg = "field required"
        problems.append({"field": where, "rule": msg, "type": err.get("type")})
    summary = "; ".join(f"{p['field']}: {p['rule']}" for p in problems) or "invalid request"
    return summary, problems


# No body this API takes comes near these; past them DynamoDB (400 KB items), KMS (4 KB plaintext) or the
# JSON codec (recursion) would fail with a 500 instead of telling the caller what is wrong.
MAX_BODY_BYTES = 512 * 1024
MAX_JSON_DEPTH = 32


def _json_depth(value: Any) -> int:
    """How deeply ``value`` nests (a scalar is 0, ``[]`` is 1), without recursion; stops past the limit."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= MAX_JSON_DEPTH:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _error(status: int, detail: str, kind: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway (payload 2.0) answer with our error body, for requests stopped before routing."""
    body: dict[str, Any] = {"detail": detail}
    if kind is not None:
        body["errors"] = [{"field": detail.partition(":")[0], "rule": detail.partition(": ")[2], "type": kind}]
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **(headers or {})},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _body_problem(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A clear 4xx for a body the JSON validation cannot judge (or would crash on), else ``None``."""
    raw = event.get("body")
    method = str(event.get("requestContext", {}).get("http", {}).get("method", "")).upper()
    if not raw or method not in ("POST", "PUT", "PATCH"):
        return None
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").strip()
    if content_type and not content_type.lower().startswith(content_types.APPLICATION_JSON):
        return _error(415, f"Content-Type: must be application/json (got {content_type[:100]})")
    try:
        text = base64.b64decode(raw, validate=True).decode() if event.get("isBase64Encoded") else str(raw)
    except (UnicodeDecodeError, binascii.Error):
        return _error(422, "body: must be UTF-8 encoded JSON (the bytes sent are not valid UTF-8)", "utf8_invalid")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        return _error(413, f"body: {size} bytes is more than the {MAX_BODY_BYTES}-byte limit")
    try:
        data = json.loads(text)
    except RecursionError:
        return _error(422, f"body: JSON nested more than {MAX_JSON_DEPTH} levels deep", "json_too_deep")
    except ValueError:
        return None  # malformed JSON: request validation answers "body: malformed JSON"
    if _json_depth(data) > MAX_JSON_DEPTH:
        return _error(422, f"body: JSON nested more than {MAX_JSON_DEPTH} levels deep", "json_too_deep")
    return None


def gate(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The caller and the body, judged before anything else: 401 for an unauthenticated caller, 403 for a
    role the route does not allow, a clear 4xx for a body nobody should parse; ``None`` to go on."""
    method = str(event.get("requestContext", {}).get("http", {}).get("method", "")).upper()
    route_key = str(event.get("routeKey", "")).partition(" ")[2]
    if not is_public(method, route_key):
        ctx = (event.get("requestContext", {}).get("authorizer") or {}).get("lambda") or {}
        if ctx.get("auth") == "busy":  # the authorizer could not read the tokens table (apihub.auth)
            retry_after = str(ctx.get("retry_after") or 1)
            return _error(503, f"AWS is busy ({ctx.get('reason')}); try again", headers={"Retry-After": retry_after})
        if ctx.get("auth") != "token":
            reason = ctx.get("reason") or "missing token: send the auth_token cookie or Authorization: Bearer"
            return _error(401, f"Unauthorized: {reason}")
        if not role_allows(ctx.get("role"), method, route_key):
            return _error(403, f"Forbidden: role '{ctx.get('role')}' may not {method} {route_key}")
    return _body_problem(event)


class ApihubResolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver, with :func:`gate` in front: Powertools validates the request
    before any middleware runs, so an anonymous caller would otherwise learn the schema's 422s (and a
    body that breaks its parser would be a 500) instead of getting a 401."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        return gate(event) or super().resolve(event, context)


def build_app(*routes: Route) -> APIGatewayHttpResolver:
    """A resolver serving the given catalog rows (importing their route modules, and no other)."""
    app = ApihubResolver(enable_validation=True)
    for route in routes:
        ep = endpoint_for(route)
        app.route(
            ep.rule,
            ep.method,
            summary=ep.summary or None,
            operation_id=route.name,  # the catalog's name: what a generated client calls the route
            status_code=ep.status_code,
            responses=ep.responses(route.public),
            security=None if route.public else [{"bearerAuth": []}, {"cookieAuth": []}],
        )(ep.handler)

    # Registered by calling app.exception_handler rather than as decorators: Powertools leaves it
    # unannotated, and as a decorator it would make each handler untyped.
    def _validation(exc: RequestValidationError) -> Response[Any]:
        summary, problems = _describe_validation(exc)
        return json_response(422, {"detail": summary, "errors": problems})

    def _domain(exc: ApihubError) -> Response[Any]:
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, ServiceBusy) else None
        return json_response(exc.status_code, {"detail": exc.detail}, headers)

    def _contention(exc: Exception) -> Response[Any]:
        # Contention that reached a route without passing through ``call_with_retries`` (botocore's
        # own retries ran out) is still a 503 with Retry-After, never a 500. Any other AWS error
        # goes on to Lambda as before.
        reason = retryable_reason(exc)
        if reason is None:
            raise exc
        busy = ServiceBusy(f"AWS is busy ({reason}); try again", RetryPolicy.from_settings().retry_after_s)
        return _domain(busy)

    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(ApihubError)(_domain)
    app.exception_handler(list(AWS_ERRORS))(_contention)

    @app.not_found
    def _not_found(_: Exception) -> Response[Any]:
        return json_response(404, {"detail": "Not found"})

    return app


def app_for(name: str) -> APIGatewayHttpResolver:
    """The resolver for one function folder (``functions/<name>/``): only its own route is registered."""
    return build_app(BY_NAME[name])


def build_openapi() -> str:
    """This API's OpenAPI 3 schema, from a resolver with every catalog row."""
    # Powertools' OpenAPI spec models cost 60-150 ms to import: only the openapi function pays it.
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    security_schemes: dict[str, SecurityScheme] = {
        "bearerAuth": HTTPBearer(description="Authorization: Bearer <token>"),
        # `in` is a Python keyword: the field goes in by its alias.
        "cookieAuth": APIKey.model_validate(
            {"name": "auth_token", "in": APIKeyIn.cookie, "description": "Cookie auth_token=<token>"}
        ),
    }
    from apihub.api.contract import complete

    schema = build_app(*ROUTES).get_openapi_json_schema(
        title="apihub",
        version="1.0.0",
        description="Supplier catalog imports as sync jobs",
        security_schemes=security_schemes,
    )
    return json.dumps(complete(json.loads(schema)))


def current_app_event(app: APIGatewayHttpResolver) -> dict[str, Any]:
    return app.current_event.raw_event
