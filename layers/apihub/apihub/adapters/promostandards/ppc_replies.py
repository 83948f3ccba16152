"""How Pricing and Configuration 1.0.0 replies are read: lenient field readers, and the rows of a
configuration (parts and their prices, locations, decorations, charges and their prices).

A row missing what it cannot be used without (a part id, a price that is not a non-negative
decimal, a charge type outside Setup/Run/Order) is left out; anything optional may be absent or nil.
docs/pricing.md lists which PPC field fills which stored field.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from pydantic import ValidationError

from apihub.adapters.promostandards.messages import raise_for_messages
from apihub.adapters.promostandards.soap import boolean, items, response_element, text, timestamp
from apihub.pricing.models import PRICE_TYPES, Charge, ChargePrice, Decoration, Location, Part, PartPrice

_PLAIN_DECIMAL = re.compile(r"\d+(\.\d+)?")
_INTEGER = re.compile(r"[+-]?\d{1,18}")

# --------------------------------------------------------------------------------------------------
# Lenient field readers
# --------------------------------------------------------------------------------------------------


def money(element: Element | None, name: str) -> str | None:
    """The supplier's decimal string as written (``9.7500`` stays ``9.7500``); odd notations
    (``1E+1``) are written out plainly; negative, non-finite or non-numeric values are None."""
    raw = text(element, name)
    if raw is None:
        return None
    if _PLAIN_DECIMAL.fullmatch(raw):
        return raw
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or abs(value.adjusted()) > 18:
        return None
    return format(value, "f")


def integer_field(element: Element | None, name: str) -> int | None:
    raw = text(element, name)
    if raw is None or not _INTEGER.fullmatch(raw):
        return None
    return int(raw)


def count(element: Element | None, name: str, default: int = 0) -> int:
    """A quantity threshold: a missing, odd or negative value reads as ``default``."""
    value = integer_field(element, name)
    return value if value is not None and value >= 0 else default


def when(element: Element | None, name: str) -> datetime | None:
    return timestamp(text(element, name))


def optional_bool(element: Element | None, name: str) -> bool:
    return boolean(element, name, default=False)


def reply(body: bytes, response: str, operation: str) -> Element:
    element = response_element(body, response, operation)
    raise_for_messages(element, operation)
    return element


def known_price_type(value: str | None) -> str | None:
    if value is None:
        return None
    return next((known for known in PRICE_TYPES if known.lower() == value.lower()), None)


def part_row(item: Element) -> Part | None:
    part_id = text(item, "partId")
    if part_id is None:
        return None
    prices = [row for row in map(part_price_row, items(item, "PartPriceArray", "PartPrice")) if row is not None]
    prices.sort(key=lambda row: row.min_quantity)
    location_ids = [
        location_id
        for holder in items(item, "LocationIdArray", "LocationId")
        if (location_id := text(holder, "locationId")) is not None
    ]
    return Part(
        part_id=part_id,
        description=text(item, "partDescription"),
        group=integer_field(item, "partGroup"),
        group_required=optional_bool(item, "partGroupRequired"),
        ratio=money(item, "ratio"),
        default=optional_bool(item, "defaultPart"),
        location_ids=list(dict.fromkeys(location_ids)),
        prices=prices,
    )


def part_price_row(row: Element) -> PartPrice | None:
    price = money(row, "price")
    if price is None:
        return None
    return PartPrice(
        min_quantity=count(row, "minQuantity", default=1),
        price=price,
        uom=text(row, "priceUom"),
        discount_code=text(row, "discountCode"),
        effective=when(row, "priceEffectiveDate"),
        expiry=when(row, "priceExpiryDate"),
    )


def location_row(item: Element) -> Location | None:
    location_id = text(item, "locationId")
    if location_id is None:
        return None
    return Location(
        location_id=location_id,
        name=text(item, "locationName"),
        default=optional_bool(item, "defaultLocation"),
        decorations_included=integer_field(item, "decorationsIncluded"),
        min_decorations=integer_field(item, "minDecoration"),
        max_decorations=integer_field(item, "maxDecoration"),
        rank=integer_field(item, "locationRank"),
        decorations=[d for d in map(decoration_row, items(item, "DecorationArray", "Decoration")) if d is not None],
    )


def decoration_row(item: Element) -> Decoration | None:
    decoration_id = text(item, "decorationId")
    if decoration_id is None:
        return None
    charges = [
        charge
        for element in items(item, "ChargeArray", "Charge")
        if (charge := charge_row(element, prices=charge_price_rows(element))) is not None
    ]
    return Decoration(
        decoration_id=decoration_id,
        name=text(item, "decorationName"),
        geometry=text(item, "decorationGeometry"),
        height=money(item, "decorationHeight"),
        width=money(item, "decorationWidth"),
        diameter=money(item, "decorationDiameter"),
        uom=text(item, "decorationUom"),
        units_included=integer_field(item, "decorationUnitsIncluded"),
        units_included_uom=text(item, "decorationUnitsIncludedUom"),
        units_max=integer_field(item, "decorationUnitsMax"),
        default=optional_bool(item, "defaultDecoration"),
        lead_time=integer_field(item, "leadTime"),
        rush_lead_time=integer_field(item, "rushLeadTime"),
        ltm_min_quantity=integer_field(item, "itemPartQuantityLTM"),
        charges=charges,
    )


def charge_row(item: Element, *, prices: list[ChargePrice]) -> Charge | None:
    charge_id = text(item, "chargeId")
    if charge_id is None:
        return None
    try:
        return Charge.model_validate(
            {
                "charge_id": charge_id,
                "name": text(item, "chargeName"),
                "type": text(item, "chargeType") or "",
                "description": text(item, "chargeDescription"),
                "applies_ltm": optional_bool(item, "chargesAppliesLTM"),
                "per_location": integer_field(item, "chargesPerLocation"),
                "per_color": integer_field(item, "chargesPerColor"),
                "prices": prices,
            }
        )
    except ValidationError:  # a charge type outside Setup/Run/Order: it cannot be priced
        return None


def charge_price_rows(charge: Element) -> list[ChargePrice]:
    rows: list[ChargePrice] = []
    for row in items(charge, "ChargePriceArray", "ChargePrice"):
        price = money(row, "price")
        if price is None:
            continue
        rows.append(
            ChargePrice(
                x_min_qty=count(row, "xMinQty", default=1),
                x_uom=text(row, "xUom"),
                y_min_qty=count(row, "yMinQty", default=1),
                y_uom=text(row, "yUom"),
                price=price,
                repeat_price=money(row, "repeatPrice"),
                discount_code=text(row, "discountCode"),
                repeat_discount_code=text(row, "repeatDiscountCode"),
                effective=when(row, "priceEffectiveDate"),
                expiry=when(row, "priceExpiryDate"),
            )
        )
    rows.sort(key=lambda row: (row.x_min_qty, row.y_min_qty))
    return rows
