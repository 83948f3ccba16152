"""A small supplier with an inventory service, for the inventory tests: the demo catalog plus
deterministic stock per part and warehouse. Its calls go through the adapter's call guard (as the
HTTP client's do), so the supplier's rate limit and concurrency slots apply to them.

``STOCK`` is the supplier's state, shared by every adapter instance of the process: ``revision``
changes the stock of the SKUs in ``changed`` (or of all when it is None), ``down`` makes every
inventory call a TransientError, ``delay_s`` holds each call, ``calls`` records (sku, monotonic
time) per call.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date

from apihub.adapters.registry import register_adapter
from apihub.errors import ProductError, TransientError
from apihub.inventory.models import FutureQuantity, Inventory, InventoryLocation, InventoryPart
from apihub.models import ProductRef

from apihub_fakes.demo_adapter import COLORS, SIZES, DemoAdapter

WAREHOUSES = (("1", "Seattle, WA", "98101"), ("2", "Jacksonville, FL", "32202"))


@dataclass
class StockState:
    revision: int = 0
    changed: set[str] | None = None  # SKUs whose stock follows ``revision`` (None: every SKU)
    down: bool = False
    delay_s: float = 0.0
    fail_skus: set[str] = field(default_factory=set)
    calls: list[tuple[str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.revision, self.changed, self.down, self.delay_s = 0, None, False, 0.0
        self.fail_skus = set()
        with self.lock:
            self.calls.clear()

    def calls_for(self, sku: str) -> int:
        with self.lock:
            return sum(1 for s, _ in self.calls if s == sku)


STOCK = StockState()


class StockAdapter(DemoAdapter):
    name = "StockAdapter"
    serves_inventory = True

    def inventory(self, ref: ProductRef) -> Inventory:
        guard = self.context.guard
        if guard is not None:
            guard.before_call()  # the supplier's rate limit and slots, as the HTTP client consults them
        with STOCK.lock:
            STOCK.calls.append((ref.product_id, time.monotonic()))
        if STOCK.delay_s:
            time.sleep(STOCK.delay_s)  # the supplier's own latency
        if guard is not None:
            guard.after_call(200, None)
        if STOCK.down:
            raise TransientError("supplier answered HTTP 503")
        if ref.product_id in STOCK.fail_skus:
            raise ProductError(f"600 Product Id not found: {ref.product_id}", code="600")
        return stock_of(ref.product_id)


def stock_of(sku: str) -> Inventory:
    """The stock the fake supplier holds for ``sku`` now."""
    revision = STOCK.revision if STOCK.changed is None or sku in STOCK.changed else 0
    seed = sum(map(ord, sku)) + 7 * revision
    parts = []
    for c, color in enumerate(COLORS[:2]):
        for s, size in enumerate(SIZES[:2]):
            locations = [
                InventoryLocation(
                    location_id=loc_id,
                    name=name,
                    postal_code=postal,
                    country="US",
                    quantity=float((seed + 3 * c + s + int(loc_id)) % 40),
                    future=[FutureQuantity(quantity=100.0, available_on=date(2027, 1, 15))] if loc_id == "2" else [],
                )
                for loc_id, name, postal in WAREHOUSES
            ]
            parts.append(
                InventoryPart(
                    part_id=f"{sku}-{color[:3].upper()}-{size}",
                    color=color,
                    size=size,
                    quantity_available=sum(loc.quantity or 0 for loc in locations),
                    uom="EA",
                    lead_time_days=3,
                    locations=locations,
                )
            )
    return Inventory(product_id=sku, parts=parts)


class CatalogOnlyAdapter(DemoAdapter):
    """A protocol with no inventory service (as 4Over-style REST): DemoAdapter itself serves stock."""

    name = "CatalogOnlyAdapter"
    serves_inventory = False


def register_stock_adapter() -> None:
    register_adapter(StockAdapter.name, StockAdapter)
    register_adapter(CatalogOnlyAdapter.name, CatalogOnlyAdapter)
