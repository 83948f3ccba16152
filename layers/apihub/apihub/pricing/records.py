"""Which stored pricing record a request means: by FOB point, currency and price type."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from apihub.errors import InvalidInput
from apihub.pricing.models import ProductPricing


def choose_record(
    records: Sequence[ProductPricing],
    *,
    fob_id: str | None = None,
    currency: str | None = None,
    price_type: str | None = None,
) -> ProductPricing:
    """The record matching every given filter; the first stored one (the supplier's first FOB point,
    first configured currency and price type) when none is given. A price type matches the type read
    or the one asked for when the supplier fell back to List. A filter no record matches is a 422
    naming it and the values stored."""
    matching = list(records)
    filters: tuple[tuple[str, str | None, Callable[[ProductPricing], set[str]]], ...] = (
        ("fob_id", fob_id, lambda r: {r.fob_id}),
        ("currency", currency.upper() if currency else None, lambda r: {r.currency}),
        ("price_type", price_type, lambda r: {r.price_type, r.requested_price_type or r.price_type}),
    )
    for field, value, keys in filters:
        if value is None:
            continue
        kept = [record for record in matching if value in keys(record)]
        if not kept:
            stored = sorted({key for record in matching for key in keys(record)})
            raise InvalidInput(f"{field}: no pricing stored for '{value}'; stored: {', '.join(stored) or 'none'}")
        matching = kept
    if not matching:
        raise InvalidInput("pricing: the stored pricing holds no records")
    return matching[0]
