"""Webhook subscriptions (admin only): the signing secret is in the 201 answer and nowhere else."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from apihub.api.app import endpoint, json_response
from apihub.changes import subscriptions
from apihub.changes.subscription_models import Delivery, Subscription, SubscriptionCreated, SubscriptionIn

SubscriptionId = Annotated[UUID, Path(description="Subscription id (UUID)")]


@endpoint("POST", "/api/subscriptions", "Subscribe a URL to change events (the secret is shown once)", 201)
def create_subscription(body: Annotated[SubscriptionIn, Body()]) -> Response[SubscriptionCreated]:
    return json_response(201, subscriptions.create(body).model_dump(mode="json"))


@endpoint("GET", "/api/subscriptions", "List webhook subscriptions (oldest first)")
def list_subscriptions() -> Response[list[Subscription]]:
    return json_response(200, [s.model_dump(mode="json") for s in subscriptions.list_all()])


@endpoint("GET", "/api/subscriptions/{subscription_id}", "Get a webhook subscription", errors=(404,))
def get_subscription(subscription_id: SubscriptionId) -> Response[Subscription]:
    return json_response(200, subscriptions.get(str(subscription_id)).model_dump(mode="json"))


@endpoint("DELETE", "/api/subscriptions/{subscription_id}", "Delete a webhook subscription", 204, errors=(404,))
def delete_subscription(subscription_id: SubscriptionId) -> Response[str]:
    subscriptions.delete(str(subscription_id))
    return Response(status_code=204, body="")


@endpoint(
    "GET",
    "/api/subscriptions/{subscription_id}/deliveries",
    "Recent delivery attempts of a subscription, newest first (kept 7 days)",
    errors=(404,),
)
def list_subscription_deliveries(
    subscription_id: SubscriptionId, limit: Annotated[int, Query(ge=1, le=100)] = 50
) -> Response[list[Delivery]]:
    items = subscriptions.deliveries(str(subscription_id), limit)
    return json_response(200, [d.model_dump(mode="json") for d in items])
