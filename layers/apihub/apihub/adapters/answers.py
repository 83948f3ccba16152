"""Rules for supplier replies that should never come, whatever the protocol (docs/inventory.md,
"Replies by rule").

* **Another product's reply**: stored under the id that was asked for, so a reply naming another
  product (``G500`` for ``PC61``) would put that product's data under the wrong id. It is a
  ``ProductError`` instead; ids that differ only in case or surrounding spaces are the same product.
* **Quantities**: a number of units is from 0 to ``QUANTITY_MAX``. Anything else a supplier sends
  where a quantity belongs (negative, huge, ``NaN``, ``Infinity``, ``1e308``) is unknown (None) with
  a warning saying what came; text that is no number at all (``N/A``, empty) is unknown without one.
  Parsed as a ``Decimal`` (no float overflow, whatever the digits), so no reply can raise here.

Hand-written: no library states these rules; they are what a storefront reading the stock needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from apihub.errors import ProductError

QUANTITY_MAX = 10**9  # units: more than any warehouse holds of one part
WRONG_PRODUCT = "wrong_product"  # the ProductError code of another product's reply

# A plain or exponent decimal, as suppliers write numbers (thousands separators and spaces removed first).
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SHOWN = 40  # characters of an odd value quoted in a warning


@dataclass(frozen=True)
class Quantity:
    """A quantity as read: its value (None: unknown) and, when a sent value was refused, why."""

    value: float | None
    warning: str | None = None


def quantity(raw: str | None, what: str) -> Quantity:
    """``raw`` (a supplier's quantity text) by the quantity rule; ``what`` names it in the warning."""
    if raw is None:
        return Quantity(None)
    cleaned = raw.replace(",", "").replace(" ", "").strip()
    if cleaned.lower().lstrip("+-") in ("nan", "snan", "inf", "infinity"):
        return Quantity(None, _refused(raw, what))
    if not _DECIMAL.fullmatch(cleaned):
        return Quantity(None)  # not a number at all (N/A, empty): unknown, as the supplier said
    try:
        value = Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        return Quantity(None)
    if not 0 <= value <= QUANTITY_MAX:
        return Quantity(None, _refused(raw, what))
    return Quantity(float(value))


def _refused(raw: str, what: str) -> str:
    shown = raw.strip()
    shown = shown if len(shown) <= _SHOWN else shown[: _SHOWN - 1] + "…"
    return f"{what}: '{shown}' is not a quantity from 0 to {QUANTITY_MAX:,}; unknown"


def answered_product(asked: str, answered: str | None, what: str) -> str:
    """The id a reply is kept under: ``asked``. A reply that names another product raises a
    ``ProductError`` (code ``wrong_product``); a reply that names none is taken as the asked one's."""
    if not asked or answered is None or not answered.strip():
        return asked or (answered or "").strip()
    if answered.strip().casefold() == asked.strip().casefold():
        return asked
    shown = answered.strip()
    shown = shown if len(shown) <= _SHOWN else shown[: _SHOWN - 1] + "…"
    raise ProductError(f"{what}: supplier answered productId '{shown}' for '{asked}'", code=WRONG_PRODUCT)
