"""The canonical inventory of one product, as every adapter's ``inventory`` returns it.

Field names follow the public body of ``GET /api/suppliers/{id}/products/{product_id}/inventory``
(docs/inventory.md); PromoStandards Inventory 2.0.0 maps onto it in ``adapters/promostandards/inventory.py``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from pydantic import Field, field_serializer

from apihub.models import ApihubModel, iso


class FutureQuantity(ApihubModel):
    """Stock expected at a location on a date (PromoStandards ``FutureAvailability``)."""

    quantity: float
    available_on: date | None = None


class InventoryLocation(ApihubModel):
    """One warehouse's stock of one part."""

    location_id: str
    name: str | None = None
    postal_code: str | None = None
    country: str | None = None
    quantity: float | None = None
    future: list[FutureQuantity] = Field(default_factory=list)


class InventoryPart(ApihubModel):
    """One part's stock: the total available now and where it is."""

    part_id: str
    color: str | None = None
    size: str | None = None
    quantity_available: float | None = None
    uom: str | None = None
    manufactured_item: bool = False
    buy_to_order: bool = False
    lead_time_days: int | None = None
    last_modified: datetime | None = None
    locations: list[InventoryLocation] = Field(default_factory=list)

    @field_serializer("last_modified")
    def _ser_dt(self, value: datetime | None) -> str | None:
        return iso(value)


class Inventory(ApihubModel):
    """What an adapter read for one product. ``notes`` keeps the supplier's non-fatal codes
    (PromoStandards 610/620/125) and other problems that did not fail the product."""

    product_id: str
    parts: list[InventoryPart] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def last_modified(self) -> datetime | None:
        """The supplier's newest ``lastModified`` over the parts (None when none gave one)."""
        stamps = [p.last_modified for p in self.parts if p.last_modified is not None]
        return max(stamps) if stamps else None

    def compute_hash(self) -> str:
        """Hash of the stock content: an unchanged re-read writes nothing (issue 14)."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()
