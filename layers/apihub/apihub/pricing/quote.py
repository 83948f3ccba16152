"""The quote engine: a product's stored pricing + a quote request -> priced lines (docs/pricing.md).

Pure domain code: no AWS, no supplier call, no clock. Every amount is a ``decimal.Decimal`` built
from the supplier's decimal strings; each line is rounded half-up to cents, the total is the sum of
the rounded lines. A request the pricing cannot serve is an ``InvalidInput`` (422) naming the
request field and the allowed values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from apihub.errors import InvalidInput
from apihub.pricing.models import (
    Charge,
    ChargePrice,
    Decoration,
    Location,
    Part,
    PartPrice,
    ProductPricing,
    Quote,
    QuoteDecoration,
    QuoteLine,
    QuoteRequest,
    money_value,
)

CENT = Decimal("0.01")
UNIT_PLACES = Decimal("0.0001")


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class _Choice:
    """One requested decoration, checked against the pricing."""

    location: Location
    decoration: Decoration
    units: int


def quote(pricing: ProductPricing, request: QuoteRequest) -> Quote:
    """Price ``request`` from ``pricing`` (rules 1-6 of docs/pricing.md); ``sell`` is left to markup."""
    part = _part(pricing, request.part_id)
    choices = [_checked(pricing, part, index, wanted) for index, wanted in enumerate(request.decorations)]
    _check_per_location(choices)
    blank_row, ltm = _blank_row(part, request.quantity, choices)
    lines = [_blank_line(part, blank_row, request.quantity)]
    for choice in choices:
        lines.extend(_charge_lines(choice, request.quantity, ltm=ltm, repeat=request.repeat))
    total = sum((Decimal(line.amount) for line in lines), Decimal("0.00"))
    return Quote(
        product_id=pricing.product_id,
        part_id=part.part_id,
        quantity=request.quantity,
        fob_id=pricing.fob_id,
        currency=pricing.currency,
        price_type=pricing.price_type,
        ltm=ltm,
        as_of=pricing.as_of,
        lines=lines,
        total=str(total),
        unit_total=str((total / request.quantity).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)),
    )


# --------------------------------------------------------------------------------------------------
# Rule 3: choices are checked
# --------------------------------------------------------------------------------------------------


def _allowed(values: Iterable[str]) -> str:
    listed = ", ".join(values)
    return listed or "none"


def _part(pricing: ProductPricing, part_id: str) -> Part:
    for part in pricing.parts:
        if part.part_id == part_id:
            return part
    raise InvalidInput(
        f"part_id: '{part_id}' is not a part of product '{pricing.product_id}'; "
        f"allowed: {_allowed(p.part_id for p in pricing.parts)}"
    )


def _part_locations(pricing: ProductPricing, part: Part) -> list[Location]:
    """The locations ``part`` may be decorated at. A part that lists no location ids (PPC's
    ``LocationIdArray`` is optional) may use every location of the product."""
    if not part.location_ids:
        return list(pricing.locations)
    return [location for location in pricing.locations if location.location_id in part.location_ids]


def _checked(pricing: ProductPricing, part: Part, index: int, wanted: QuoteDecoration) -> _Choice:
    field = f"decorations[{index}]"
    locations = _part_locations(pricing, part)
    location = next((loc for loc in locations if loc.location_id == wanted.location_id), None)
    if location is None:
        raise InvalidInput(
            f"{field}.location_id: '{wanted.location_id}' is not a decoration location of part "
            f"'{part.part_id}'; allowed: {_allowed(loc.location_id for loc in locations)}"
        )
    decoration = next((d for d in location.decorations if d.decoration_id == wanted.decoration_id), None)
    if decoration is None:
        raise InvalidInput(
            f"{field}.decoration_id: '{wanted.decoration_id}' is not a decoration of location "
            f"'{location.location_id}'; allowed: {_allowed(d.decoration_id for d in location.decorations)}"
        )
    highest = decoration.units_max
    if wanted.units < 1 or (highest is not None and wanted.units > highest):
        allowed = f"1 to {highest}" if highest is not None else "1 or more"
        raise InvalidInput(
            f"{field}.units: {wanted.units} is outside what decoration '{decoration.decoration_id}' "
            f"allows ({allowed} {decoration.uom or 'units'})"
        )
    return _Choice(location=location, decoration=decoration, units=wanted.units)


def _check_per_location(choices: list[_Choice]) -> None:
    counted = Counter(choice.location.location_id for choice in choices)
    for choice in choices:
        location = choice.location
        most = location.max_decorations
        if most is not None and counted[location.location_id] > most:
            raise InvalidInput(
                f"decorations: {counted[location.location_id]} decorations at location "
                f"'{location.location_id}'; allowed: at most {most}"
            )


# --------------------------------------------------------------------------------------------------
# Rules 1 and 2: the blank line, and less than minimum
# --------------------------------------------------------------------------------------------------


def _blank_row(part: Part, quantity: int, choices: list[_Choice]) -> tuple[PartPrice, bool]:
    """The part's price row for ``quantity`` and whether the order is less than minimum (LTM)."""
    if not part.prices:
        raise InvalidInput(f"part_id: part '{part.part_id}' has no prices at this FOB point, currency and price type")
    fitting = [row for row in part.prices if row.min_quantity <= quantity]
    if fitting:
        return max(fitting, key=lambda row: row.min_quantity), False
    smallest = min(part.prices, key=lambda row: row.min_quantity)
    ltm_allowed = bool(choices) and all(
        choice.decoration.ltm_min_quantity is not None and choice.decoration.ltm_min_quantity <= quantity
        for choice in choices
    )
    if not ltm_allowed:
        raise InvalidInput(
            f"quantity: {quantity} is below the minimum {smallest.min_quantity} of part '{part.part_id}'"
            + _ltm_hint(choices)
        )
    return smallest, True


def _ltm_hint(choices: list[_Choice]) -> str:
    floors = [c.decoration.ltm_min_quantity for c in choices if c.decoration.ltm_min_quantity is not None]
    if not choices or len(floors) < len(choices):
        return " (a less-than-minimum order needs decorations that all allow it)"
    return f" (less than minimum is allowed from {max(floors)} with these decorations)"


def _blank_line(part: Part, row: PartPrice, quantity: int) -> QuoteLine:
    return QuoteLine(
        kind="blank",
        name=part.description,
        unit_price=row.price,
        multiplier=str(quantity),
        amount=str(cents(money_value(row.price) * quantity)),
    )


# --------------------------------------------------------------------------------------------------
# Rule 4: charges
# --------------------------------------------------------------------------------------------------


def charge_row(charge: Charge, quantity: int, y: int) -> ChargePrice | None:
    """Among rows with ``x_min_qty`` <= quantity and ``y_min_qty`` <= y, the one with the largest
    ``y_min_qty``, then the largest ``x_min_qty``; None when no row fits (the charge does not apply)."""
    fitting = [row for row in charge.prices if row.x_min_qty <= quantity and row.y_min_qty <= y]
    if not fitting:
        return None
    return max(fitting, key=lambda row: (row.y_min_qty, row.x_min_qty))


def _charge_lines(choice: _Choice, quantity: int, *, ltm: bool, repeat: bool) -> Iterator[QuoteLine]:
    for charge in choice.decoration.charges:
        if charge.applies_ltm and not ltm:
            continue
        priced = _priced(charge, choice, quantity)
        if priced is None:
            continue
        y, multiplier = priced
        row = charge_row(charge, quantity, y)
        if row is None:
            continue
        unit_price = row.repeat_price if repeat and row.repeat_price is not None else row.price
        yield QuoteLine(
            kind=charge.type,
            charge_id=charge.charge_id,
            name=charge.name,
            location_id=choice.location.location_id,
            decoration_id=choice.decoration.decoration_id,
            unit_price=unit_price,
            multiplier=str(multiplier),
            amount=str(cents(money_value(unit_price) * multiplier)),
        )


def _priced(charge: Charge, choice: _Choice, quantity: int) -> tuple[int, int] | None:
    """(y to pick the price row with, what the row's price is multiplied by); None: no line.

    ``chargesPerLocation`` absent (or 0) counts as 1; ``chargesPerColor`` counts only when it is set
    and not 0, since a 0 would silently zero the charge."""
    units = choice.units
    per_location = charge.per_location or 1
    per_color = charge.per_color or 0
    if charge.type == "setup":
        return units, per_location * (units * per_color if per_color else 1)
    if charge.type == "run":
        if per_color:
            chargeable = units - (choice.decoration.units_included or 0)
            if chargeable <= 0:
                return None
            return chargeable, quantity * per_location * chargeable * per_color
        return units, quantity * per_location
    return units, 1
