"""Builds the Powertools resolver each API function uses, with the given routes only.

Every API Lambda calls ``build_app(ROUTE)`` with its one route; the OpenAPI function builds one
with all of them, so the schema at ``/api/openapi.json`` is generated from the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from apihub.auth import PUBLIC_ROUTES, role_allows
from apihub.errors import ApihubError

logger = Logger(service="apihub")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in template.yaml: /api/sync-jobs/{job_id}
    handler: Callable[..., Any]
    summary: str = ""
    status_code: int = 200

    @property
    def rule(self) -> str:
        """Powertools' path syntax: ``<param>`` instead of ``{param}``."""
        return self.path.replace("{", "<").replace("}", ">")

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body" or len(err.get("loc", ())) == 1]
        where = ".".join(loc) or "body"
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            where, msg = "body", "malformed JSON"
        elif err.get("type") == "missing":
            msg = "field required"
        problems.append({"field": where, "rule": msg, "type": err.get("type")})
    summary = "; ".join(f"{p['field']}: {p['rule']}" for p in problems) or "invalid request"
    return summary, problems


def _auth_middleware(routes: dict[tuple[str, str], Route]) -> Callable[..., Response]:
    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        event = app.current_event
        method = event.request_context.http.method.upper()
        route_key = str(event.raw_event.get("routeKey", "")).partition(" ")[2]
        if (method, route_key) in PUBLIC_ROUTES:
            return next_middleware(app)
        ctx = (event.raw_event.get("requestContext", {}).get("authorizer") or {}).get("lambda") or {}
        if ctx.get("auth") != "token":
            reason = ctx.get("reason") or "missing token: send the auth_token cookie or Authorization: Bearer"
            return json_response(401, {"detail": f"Unauthorized: {reason}"})
        if not role_allows(ctx.get("role"), method, route_key):
            return json_response(403, {"detail": f"Forbidden: role '{ctx.get('role')}' may not {method} {route_key}"})
        return next_middleware(app)

    return middleware


def build_app(*routes: Route) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    table = {r.key: r for r in routes}
    for route in routes:
        app.route(route.rule, route.method, summary=route.summary or None)(route.handler)
    app.use(middlewares=[_auth_middleware(table)])

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response:
        summary, problems = _describe_validation(exc)
        return json_response(422, {"detail": summary, "errors": problems})

    @app.exception_handler(ApihubError)
    def _domain(exc: ApihubError) -> Response:
        return json_response(exc.status_code, {"detail": exc.detail})

    @app.not_found
    def _not_found(_: Exception) -> Response:
        return json_response(404, {"detail": "Not found"})

    return app


def current_app_event(app: APIGatewayHttpResolver) -> dict[str, Any]:
    return app.current_event.raw_event
