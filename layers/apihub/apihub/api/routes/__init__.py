"""The HTTP routes, one module per area so that a function imports only what its own route needs
(each ``apihub.api.catalog`` row names its route's module). Each route function registers itself for
its method and path with ``@endpoint`` (summary, status codes); parameters and bodies are declared with
types: Powertools validates them and generates the OpenAPI schema; the work is done by the domain modules.

This module holds the parameter types and helpers the areas share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from apihub.api.app import json_response
from apihub.models import JOB_TYPES
from apihub.pagination import Cursor

JobId = Annotated[UUID, Path(description="Sync job id (UUID)")]
SupplierRef = Annotated[str, Path(description="Supplier id (UUID) or slug", min_length=1, max_length=64)]
NextToken = Annotated[
    str | None,
    Query(
        description="Cursor from a previous X-Next-Token header of the same list (same filters); any other is a 400",
        max_length=4096,
    ),
]
# Built at run time from DiscoveryMode, so the OpenAPI enum and validation list every job type; a
# Literal of a computed tuple is no static type, so mypy sees the str each value is.
if TYPE_CHECKING:
    JobType = str
else:
    JobType = Literal[JOB_TYPES]


def page(items: list[Any], cursor: Cursor | None) -> Response[Any]:
    """A page of a list; its sealed cursor (when more may follow) in ``X-Next-Token``."""
    headers = {"X-Next-Token": cursor.token()} if cursor is not None else None
    return json_response(200, items, headers)
