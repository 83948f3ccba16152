"""Liveness, the jobs page and the OpenAPI schema."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from pydantic import ConfigDict, Field

from apihub.api.app import build_openapi, endpoint, json_response
from apihub.models import ApihubModel


class Health(ApihubModel):
    model_config = ConfigDict(extra="allow")
    status: str = Field(examples=["ok"])


@endpoint("GET", "/api/health", "Liveness (no auth)")
def health() -> Response[Health]:
    return json_response(200, {"status": "ok", "service": "apihub"})


@endpoint(
    "GET",
    "/",
    "The jobs page (HTML; its script calls the API with the auth_token cookie)",
    media_type="text/html",
)
def jobs_page() -> Response[str]:
    from apihub.web import jobs_page_html

    # The page holds no data (its script fetches everything with the visitor's token), so it is public;
    # the CSP keeps it to its own inline code and this origin's API. Images may come from any HTTPS
    # host: a product's pictures are the supplier's URLs (an image runs no code).
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=jobs_page_html(), headers=headers)


@endpoint("GET", "/api/openapi.json", "This API's OpenAPI 3 schema")
def openapi() -> Response[dict[Any, Any]]:
    return json_response(200, json.loads(build_openapi()))
