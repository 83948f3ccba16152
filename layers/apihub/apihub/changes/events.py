"""The one event shape every delivery path uses (docs/changes.md)."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import Field

from apihub.models import ApihubModel


class EventType(str, Enum):
    product_created = "product.created"
    product_updated = "product.updated"
    product_discontinued = "product.discontinued"
    product_reactivated = "product.reactivated"
    inventory_changed = "inventory.changed"
    price_changed = "price.changed"
    job_finished = "job.finished"


class ChangeEvent(ApihubModel):
    """One committed change. ``id`` is derived from the change itself (never random), so a
    redelivered message or stream record yields the same id."""

    id: str
    type: EventType
    occurred_at: str  # ISO 8601 UTC, apihub.models.iso
    supplier_id: str
    product_id: str | None = None
    job_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
