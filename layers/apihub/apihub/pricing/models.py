"""The stored pricing of one product and the shapes of quotes and markup rules (docs/pricing.md).

Money is kept as the supplier wrote it (``"9.75"``, ``"9.7500"``): a string holding a finite,
non-negative decimal. It is read with ``decimal.Decimal`` only where it is computed with, so no
binary float ever touches a price.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

PRICE_TYPES = ("List", "Net", "Customer")
CHARGE_TYPES = ("setup", "run", "order")


def money_value(value: str) -> Decimal:
    """The decimal a money string holds; ``ValueError`` when it is not a finite, non-negative decimal."""
    try:
        amount = Decimal(value.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"'{value}' is not a decimal amount") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"'{value}' is not a finite, non-negative amount")
    return amount


def _money(value: str) -> str:
    money_value(value)
    return value.strip()


def _charge_type(value: object) -> object:
    # The spec's enumeration says Setup/Run/Order; suppliers also send SETUP, run, ...
    return value.strip().lower() if isinstance(value, str) else value


Money = Annotated[str, AfterValidator(_money)]
ChargeType = Annotated[Literal["setup", "run", "order"], BeforeValidator(_charge_type)]


class PricingModel(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")


class FobPoint(PricingModel):
    fob_id: str
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    currencies: list[str] = Field(default_factory=list)


class PartPrice(PricingModel):
    min_quantity: int = Field(ge=0)
    price: Money
    uom: str | None = None
    discount_code: str | None = None
    effective: datetime | None = None
    expiry: datetime | None = None


class Part(PricingModel):
    part_id: str
    description: str | None = None
    group: int | None = None
    group_required: bool = False
    ratio: str | None = None
    default: bool = False
    location_ids: list[str] = Field(default_factory=list)
    prices: list[PartPrice] = Field(default_factory=list)


class ChargePrice(PricingModel):
    x_min_qty: int = Field(ge=0)
    x_uom: str | None = None
    y_min_qty: int = Field(ge=0)
    y_uom: str | None = None
    price: Money
    repeat_price: Money | None = None
    discount_code: str | None = None
    repeat_discount_code: str | None = None
    effective: datetime | None = None
    expiry: datetime | None = None


class Charge(PricingModel):
    charge_id: str
    name: str | None = None
    type: ChargeType
    description: str | None = None
    applies_ltm: bool = False
    per_location: int | None = None
    per_color: int | None = None
    prices: list[ChargePrice] = Field(default_factory=list)


class Decoration(PricingModel):
    decoration_id: str
    name: str | None = None
    geometry: str | None = None
    height: str | None = None
    width: str | None = None
    diameter: str | None = None
    uom: str | None = None
    units_included: int | None = None
    units_included_uom: str | None = None
    units_max: int | None = None
    default: bool = False
    lead_time: int | None = None
    rush_lead_time: int | None = None
    ltm_min_quantity: int | None = None
    charges: list[Charge] = Field(default_factory=list)


class Location(PricingModel):
    location_id: str
    name: str | None = None
    default: bool = False
    decorations_included: int | None = None
    min_decorations: int | None = None
    max_decorations: int | None = None
    rank: int | None = None
    decorations: list[Decoration] = Field(default_factory=list)


class ProductPricing(PricingModel):
    """One product's pricing at one FOB point, currency and price type (the GET .../pricing shape)."""

    product_id: str
    fob_id: str
    currency: str
    price_type: str
    # The price type asked for when the supplier refused it and List was read instead.
    requested_price_type: str | None = None
    as_of: datetime | None = None
    fob_points: list[FobPoint] = Field(default_factory=list)
    parts: list[Part] = Field(default_factory=list)
    locations: list[Location] = Field(default_factory=list)


def pricing_hash(records: Sequence[ProductPricing]) -> str:
    """The hash of what was read, not of when: ``as_of`` is left out, so an unchanged re-read matches."""
    payload = json.dumps(
        [record.model_dump(mode="json", exclude={"as_of"}) for record in records],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class PricingRead(PricingModel):
    """Everything one ``prices`` job read for one product: a record per FOB point, currency and
    price type (what the pricing table stores for it)."""

    product_id: str
    records: list[ProductPricing] = Field(default_factory=list)

    def compute_hash(self) -> str:
        return pricing_hash(self.records)


class PricingSettingIn(PricingModel):
    """The supplier's ``protocol_config.pricing``: which FOB points, price types and currencies of
    PPC to read (docs/pricing.md). Left out: the first FOB point the supplier lists, Net, USD."""

    fob_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=20)
    price_types: list[Literal["List", "Net", "Customer"]] = Field(default=["Net"], min_length=1, max_length=3)
    currencies: list[Annotated[str, Field(pattern=r"^[A-Z]{3}$")]] = Field(default=["USD"], min_length=1, max_length=10)


# --------------------------------------------------------------------------------------------------
# Quotes
# --------------------------------------------------------------------------------------------------


class QuoteDecoration(PricingModel):
    location_id: str
    decoration_id: str
    units: int = Field(default=1)


class QuoteRequest(PricingModel):
    # The schema's example for a generated client (docs/decisions.md, "The OpenAPI schema is the contract").
    model_config = ConfigDict(
        defer_build=True, extra="forbid", json_schema_extra={"examples": [{"part_id": "PSF00001-1", "quantity": 144}]}
    )

    part_id: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    fob_id: str | None = None
    currency: str | None = None
    price_type: str | None = None
    repeat: bool = False
    decorations: list[QuoteDecoration] = Field(default_factory=list)
    markup: bool = True


class QuoteLine(PricingModel):
    kind: Literal["blank", "setup", "run", "order"]
    charge_id: str | None = None
    name: str | None = None
    location_id: str | None = None
    decoration_id: str | None = None
    unit_price: str
    multiplier: str
    amount: str


class Sell(PricingModel):
    rule_id: str
    unit_total: str
    total: str


class Quote(PricingModel):
    product_id: str
    part_id: str
    quantity: int
    fob_id: str
    currency: str
    price_type: str
    ltm: bool
    as_of: datetime | None = None
    lines: list[QuoteLine]
    total: str
    unit_total: str
    sell: Sell | None = None


# --------------------------------------------------------------------------------------------------
# Markup rules
# --------------------------------------------------------------------------------------------------

Scope = Literal["all", "supplier", "category", "product"]
Rounding = Literal["none", "up_99", "up_whole"]


class MarkupRuleInput(PricingModel):
    """``POST /api/markup-rules``: a scope names exactly the keys it needs (a product rule needs
    ``supplier_id`` too, because product ids are only unique within a supplier)."""

    model_config = ConfigDict(
        defer_build=True,
        extra="forbid",
        json_schema_extra={
            "examples": [{"scope": "supplier", "supplier_id": "demo", "markup_pct": "35", "rounding": "up_99"}]
        },
    )

    scope: Scope
    supplier_id: str | None = None
    category: str | None = None
    product_id: str | None = None
    markup_pct: Decimal = Field(ge=0, le=10000, max_digits=12, decimal_places=4)
    min_margin_pct: Decimal | None = Field(default=None, ge=0, lt=100, max_digits=12, decimal_places=4)
    rounding: Rounding = "none"

    @model_validator(mode="after")
    def _scope_keys(self) -> MarkupRuleInput:
        needed = {"all": (), "supplier": ("supplier_id",), "category": ("category",)}.get(
            self.scope, ("supplier_id", "product_id")
        )
        for name in needed:
            if not getattr(self, name):
                raise ValueError(f"{name} is required when scope is '{self.scope}'")
        for name in ("supplier_id", "category", "product_id"):
            if name not in needed and getattr(self, name) is not None:
                raise ValueError(f"{name} is not allowed when scope is '{self.scope}'")
        return self


class MarkupRule(MarkupRuleInput):
    rule_id: str
