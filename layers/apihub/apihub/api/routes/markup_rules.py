"""Markup rules (admin): cost to sell prices for quotes (docs/pricing.md, "Markup rules")."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from apihub.api.app import endpoint, json_response
from apihub.dal.pricing import MarkupRulesRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.pricing.models import MarkupRule, MarkupRuleInput


@endpoint("GET", "/api/markup-rules", "List markup rules (oldest first)")
def list_markup_rules() -> Response[list[MarkupRule]]:
    return json_response(200, [rule.model_dump(mode="json") for rule in MarkupRulesRepository().list()])


@endpoint("POST", "/api/markup-rules", "Add a markup rule", 201, errors=(404,))
def create_markup_rule(body: Annotated[MarkupRuleInput, Body()]) -> Response[MarkupRule]:
    if body.supplier_id is not None:  # an id or a slug; the rule keeps the id quotes match on (404 if unknown)
        body = body.model_copy(update={"supplier_id": SuppliersRepository().get(body.supplier_id).id})
    return json_response(201, MarkupRulesRepository().create(body).model_dump(mode="json"))


@endpoint("DELETE", "/api/markup-rules/{rule_id}", "Delete a markup rule", 204, errors=(404,))
def delete_markup_rule(rule_id: Annotated[UUID, Path(description="Markup rule id (UUID)")]) -> Response[str]:
    MarkupRulesRepository().delete(str(rule_id))
    return Response(status_code=204, body="")
