"""Webhook subscriptions and their delivery attempts: the public shapes (docs/changes.md, "Webhooks")."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from apihub.changes.events import EventType
from apihub.models import ApihubModel


class SubscriptionIn(ApihubModel):
    """``POST /api/subscriptions``: where to deliver, which event types, optionally one supplier."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"url": "https://hooks.example.com/apihub", "types": ["product.updated"]}]}
    )

    url: str = Field(min_length=1, max_length=2048, description="https URL that receives the events (POST)")
    types: list[EventType] = Field(min_length=1, max_length=len(EventType), description="Event types to deliver")
    supplier_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="Only this supplier's events (id or slug)"
    )

    @field_validator("types")
    @classmethod
    def _distinct(cls, value: list[EventType]) -> list[EventType]:
        return list(dict.fromkeys(value))


class Subscription(ApihubModel):
    """A subscription as the API shows it after creation: never its secret."""

    id: str = Field(json_schema_extra={"format": "uuid"})
    url: str
    types: list[EventType]
    supplier_id: str | None = None
    created_at: str


class SubscriptionCreated(Subscription):
    """The answer to ``POST /api/subscriptions``: the only time the signing secret is shown."""

    secret: str


# delivered: a 2xx in time; failed: not delivered, the next attempt is scheduled; gave_up: the last
# attempt failed, the delivery went to the DLQ.
DeliveryOutcome = Literal["delivered", "failed", "gave_up"]


class Delivery(ApihubModel):
    """One delivery attempt of one event to one subscription."""

    event_id: str
    event_type: str
    attempt: int
    status_code: int | None = None
    error: str | None = None
    outcome: DeliveryOutcome
    at: str
