"""API Gateway (HTTP API) in-process: match the template's routes, run the Lambda authorizer with
simple-response semantics, then the route's function. The local HTTP server and tests use it."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from apihub_local.events import authorizer_event, http_event
from apihub_local.runtime import Functions
from apihub_local.template import FunctionDef, HttpRoute


@dataclass
class GatewayResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] | None = None


def _compile(path: str) -> re.Pattern[str]:
    # {name} matches one segment; {name+} (greedy) would match the rest. Literal parts are escaped.
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            name = part[1:-1]
            pattern += f"(?P<{name.rstrip('+')}>.+)" if name.endswith("+") else f"(?P<{name}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}$")


class Gateway:
    def __init__(self, functions: Functions) -> None:
        self.functions = functions
        self.routes: list[tuple[re.Pattern[str], HttpRoute, FunctionDef]] = []
        for fn in functions.defs.values():
            for route in fn.routes:
                self.routes.append((_compile(route.path), route, fn))
        # Literal segments win over parameters (API Gateway picks the most specific route).
        self.routes.sort(key=lambda r: (r[1].path.count("{"), -len(r[1].path)))
        self.authorizer = functions.defs.get("AuthorizerFunction")

    def match(self, method: str, path: str) -> tuple[HttpRoute, FunctionDef, dict[str, str]] | None:
        for pattern, route, fn in self.routes:
            m = pattern.match(path)
            if m and route.method == method.upper():
                from urllib.parse import unquote

                return route, fn, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def handle(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
    ) -> GatewayResponse:
        found = self.match(method, path)
        if found is None:
            return GatewayResponse(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
        route, fn, params = found
        event = http_event(
            method, path, route.path, path_parameters=params or None, query=query, headers=headers, body=body
        )
        if not route.public and self.authorizer is not None:
            decision = self.functions.invoke(self.authorizer.logical_id, authorizer_event(event))
            if not isinstance(decision, dict) or "isAuthorized" not in decision:
                return GatewayResponse(
                    500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
                )
            if not decision["isAuthorized"]:
                return GatewayResponse(403, {"content-type": "application/json"}, b'{"message":"Forbidden"}')
            event["requestContext"]["authorizer"] = {"lambda": decision.get("context") or {}}
        try:
            result = self.functions.invoke(fn.logical_id, event)
        except Exception:  # an unhandled function error is API Gateway's 500
            import logging

            logging.getLogger("apihub.local").exception("function %s failed", fn.logical_id)
            return GatewayResponse(500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
        return self._to_response(result)

    @staticmethod
    def _to_response(result: Any) -> GatewayResponse:
        if not isinstance(result, dict) or "statusCode" not in result:
            import json

            return GatewayResponse(200, {"content-type": "application/json"}, json.dumps(result).encode())
        raw = result.get("body") or ""
        data = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            headers[k.lower()] = ", ".join(str(v) for v in values)
        return GatewayResponse(int(result["statusCode"]), headers, data, result.get("cookies"))
