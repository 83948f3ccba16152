"""Pricing and Configuration 1.0.0 for catalog imports: ``getConfigurationAndPricing`` (USD, Net,
Blank) -> part prices. The whole of PPC, for quotes, is ``ppc.py`` (docs/pricing.md)."""

from __future__ import annotations

from apihub.adapters.promostandards.messages import raise_for_messages
from apihub.adapters.promostandards.ppc import configuration_request
from apihub.adapters.promostandards.soap import (
    child,
    decimal,
    integer,
    items,
    response_element,
    text,
)
from apihub.models import PriceBreak

OPERATION = "getConfigurationAndPricing"
SOAP_ACTION = "getConfigurationAndPricing"


def pricing_request(
    credentials: tuple[str, str | None],
    product_id: str,
    fob_id: str,
    *,
    currency: str = "USD",
    price_type: str = "Net",
    configuration_type: str = "Blank",
) -> bytes:
    return configuration_request(
        credentials,
        product_id,
        fob_id,
        currency=currency,
        price_type=price_type,
        configuration_type=configuration_type,
    )


def parse_part_prices(body: bytes, *, price_type: str = "Net") -> dict[str, list[PriceBreak]]:
    """Part id -> its price breaks (ascending quantity; each break's max is the next min - 1)."""
    response = response_element(body, "GetConfigurationAndPricingResponse", OPERATION)
    raise_for_messages(response, OPERATION)
    configuration = child(response, "Configuration")
    prices: dict[str, list[PriceBreak]] = {}
    for part in items(configuration, "PartArray", "Part"):
        part_id = text(part, "partId")
        if not part_id:
            continue
        rows: list[tuple[int, float]] = []
        for row in items(part, "PartPriceArray", "PartPrice"):
            price = decimal(row, "price")
            if price is None:
                continue
            rows.append((integer(row, "minQuantity") or 1, price))
        rows.sort()
        breaks = [
            PriceBreak(
                quantity_min=quantity,
                quantity_max=rows[index + 1][0] - 1 if index + 1 < len(rows) else None,
                price=price,
                price_type=price_type,
            )
            for index, (quantity, price) in enumerate(rows)
        ]
        if breaks:
            prices.setdefault(part_id, breaks)
    return prices
