"""Deterministic stock levels for the fake PromoStandards supplier (Inventory 2.0.0).

Every part of a product is stocked in two to four of ``WAREHOUSES`` (which ones depends on the
product). A part's stock is a function of ``(seed, part, warehouse, epoch)``: its epoch starts at 0
and moves on by one on the calls where the part "churns". On each ``getInventoryLevels`` call of a
product, each of its parts churns with probability ``churn`` (decided by hashing seed, part and the
product's call number), so the same seed and the same sequence of calls give the same answers, and
about ``churn`` of the parts change per call (``APIHUB_DEMO_STOCK_CHURN``, default
``DEFAULT_STOCK_CHURN``; 0: stock never changes, the setting for an "unchanged re-run").

Shapes worth testing against: about one location in eight is out of stock and has incoming stock
(``FutureAvailabilityArray``); products whose number is divisible by 3 leave ``quantityAvailable``
out (the adapter sums the locations); non-apparel products are manufactured items, every seventh
product is buy-to-order with a replenishment lead time.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from apihub_fakes.promostandards.catalog import FakePart, FakeProduct

STOCK_CHURN_ENV = "APIHUB_DEMO_STOCK_CHURN"
DEFAULT_STOCK_CHURN = 0.05
# (id, name, postal code, country)
WAREHOUSES: tuple[tuple[str, str, str, str], ...] = (
    ("RNO", "Reno, NV", "89441", "US"),
    ("DAL", "Dallas, TX", "75038", "US"),
    ("JAX", "Jacksonville, FL", "32218", "US"),
    ("YYZ", "Mississauga, ON", "L5T 2N7", "CA"),
)
# Fixed anchors keep replies deterministic (no wall clock in them).
MODIFIED_BASE = datetime(2026, 1, 1, tzinfo=UTC)
FUTURE_BASE = datetime(2027, 1, 4, tzinfo=UTC)


def stock_churn_from_env(default: float = DEFAULT_STOCK_CHURN) -> float:
    """``APIHUB_DEMO_STOCK_CHURN`` as a share in [0, 1] (``default`` when unset)."""
    raw = os.environ.get(STOCK_CHURN_ENV, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{STOCK_CHURN_ENV}={raw!r}: must be a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{STOCK_CHURN_ENV}={raw!r}: must be between 0 and 1")
    return value


def _unit(*values: object) -> float:
    """A deterministic number in [0, 1) from ``values``."""
    digest = hashlib.sha256("|".join(str(v) for v in values).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class FutureStock:
    quantity: int
    available_on: datetime


@dataclass(frozen=True)
class LocationStock:
    location_id: str
    name: str
    postal_code: str
    country: str
    quantity: int
    future: tuple[FutureStock, ...]


@dataclass(frozen=True)
class PartStock:
    part: FakePart
    quantity_available: int | None  # None: the reply leaves it out (the sum rule)
    manufactured_item: bool
    buy_to_order: bool
    lead_time_days: int | None
    last_modified: datetime
    locations: tuple[LocationStock, ...]

    @property
    def total(self) -> int:
        """What the adapter must read as ``quantity_available`` (the sum of the locations)."""
        return sum(location.quantity for location in self.locations)


class StockLedger:
    """Each product's call count and each part's epoch, shared by the fake's server threads."""

    def __init__(self, seed: int, churn: float) -> None:
        if not 0.0 <= churn <= 1.0:
            raise ValueError(f"stock churn must be between 0 and 1, got {churn}")
        self.seed = seed
        self.churn = churn
        self._calls: dict[str, int] = {}
        self._epochs: dict[str, int] = {}
        self._lock = threading.Lock()

    def read(self, product: FakeProduct) -> list[PartStock]:
        """The product's stock as this call answers it (the first call answers epoch 0 everywhere)."""
        with self._lock:
            call = self._calls.get(product.product_id, 0) + 1
            self._calls[product.product_id] = call
            epochs = {}
            for part in product.parts:
                epoch = self._epochs.get(part.part_id, 0)
                if call > 1 and _unit(self.seed, "churn", part.part_id, call) < self.churn:
                    epoch += 1
                self._epochs[part.part_id] = epoch
                epochs[part.part_id] = epoch
        return [self.part_stock(product, part, epochs[part.part_id]) for part in product.parts]

    def part_stock(self, product: FakeProduct, part: FakePart, epoch: int) -> PartStock:
        index = int(product.product_id[-5:])
        start = int(_unit(self.seed, "warehouses", product.product_id) * len(WAREHOUSES))
        count = 2 + index % 3
        locations = []
        for offset in range(count):
            location_id, name, postal, country = WAREHOUSES[(start + offset) % len(WAREHOUSES)]
            draw = _unit(self.seed, "stock", part.part_id, location_id, epoch)
            quantity = 0 if draw < 0.125 else int(draw * 2400)
            future: tuple[FutureStock, ...] = ()
            if quantity == 0 or draw > 0.9:
                days = 7 + int(_unit(self.seed, "eta", part.part_id, location_id, epoch) * 60)
                incoming = 24 * (1 + int(_unit(self.seed, "incoming", part.part_id, location_id, epoch) * 40))
                future = (FutureStock(incoming, FUTURE_BASE + timedelta(days=days)),)
                if quantity == 0:
                    future += (FutureStock(incoming * 2, FUTURE_BASE + timedelta(days=days + 28)),)
            locations.append(LocationStock(location_id, name, postal, country, quantity, future))
        manufactured = part.size is None
        buy_to_order = index % 7 == 0
        lead_time = 5 + index % 20 if manufactured or buy_to_order else None
        modified = MODIFIED_BASE + timedelta(days=index % 90, hours=epoch, minutes=index % 60)
        stock = PartStock(
            part=part,
            quantity_available=None,
            manufactured_item=manufactured,
            buy_to_order=buy_to_order,
            lead_time_days=lead_time,
            last_modified=modified,
            locations=tuple(locations),
        )
        if index % 3 == 0:
            return stock
        return replace(stock, quantity_available=stock.total)
