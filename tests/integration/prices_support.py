"""A small supplier with a Pricing and Configuration service, for the prices mode's tests: the demo
catalog plus deterministic pricing per product (one FOB point, one location and decoration with a
setup charge). Its calls go through the adapter's call guard (as the HTTP client's do), so the
supplier's rate limit and slots apply to them.

``PRICES`` is the supplier's state, shared by every adapter instance of the process: ``moved`` maps a
SKU to the aspects whose prices moved (``part_prices``, ``charges``, ``locations``, ``fob_points``),
``down`` makes every call a TransientError (``flaky``: the next call of those SKUs), ``fail_skus`` a
ProductError, ``calls`` records each SKU read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from apihub.adapters.registry import register_adapter
from apihub.errors import ProductError, TransientError
from apihub.models import ProductRef
from apihub.pricing.models import (
    Charge,
    ChargePrice,
    Decoration,
    FobPoint,
    Location,
    Part,
    PartPrice,
    PricingRead,
    ProductPricing,
)

from apihub_fakes.demo_adapter import DemoAdapter


@dataclass
class PriceState:
    moved: dict[str, set[str]] = field(default_factory=dict)
    down: bool = False
    fail_skus: set[str] = field(default_factory=set)
    flaky: set[str] = field(default_factory=set)  # SKUs whose next call is a TransientError (once each)
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.moved, self.down, self.fail_skus, self.flaky = {}, False, set(), set()
        with self.lock:
            self.calls.clear()


PRICES = PriceState()


class PriceAdapter(DemoAdapter):
    name = "PriceAdapter"
    serves_pricing = True

    def pricing(self, ref: ProductRef) -> PricingRead:
        guard = self.context.guard
        if guard is not None:
            guard.before_call()
        with PRICES.lock:
            PRICES.calls.append(ref.product_id)
            flaky = ref.product_id in PRICES.flaky
            PRICES.flaky.discard(ref.product_id)
        if guard is not None:
            guard.after_call(200, None)
        if PRICES.down or flaky:
            raise TransientError("supplier answered HTTP 503")
        if ref.product_id in PRICES.fail_skus:
            raise ProductError(f"130 Product Id not found: {ref.product_id}", code="130")
        return pricing_of(ref.product_id)


def pricing_of(sku: str) -> PricingRead:
    """The pricing the fake supplier holds for ``sku`` now."""
    moved = PRICES.moved.get(sku, set())
    setup = "45.00" if "charges" in moved else "40.00"
    record = ProductPricing(
        product_id=sku,
        fob_id="1",
        currency="USD",
        price_type="Net",
        fob_points=[FobPoint(fob_id="1", city="Dallas" if "fob_points" in moved else "Reno", currencies=["USD"])],
        parts=[
            Part(
                part_id=f"{sku}-BLK-M",
                location_ids=["1"],
                prices=[
                    PartPrice(min_quantity=12, price="9.95" if "part_prices" in moved else "9.75"),
                    PartPrice(min_quantity=144, price="8.50"),
                ],
            )
        ],
        locations=[
            Location(
                location_id="1",
                name="Left chest" if "locations" in moved else "Front",
                decorations=[
                    Decoration(
                        decoration_id="1",
                        name="Screen print",
                        units_max=6,
                        charges=[
                            Charge(
                                charge_id="1",
                                name="Setup",
                                type="setup",
                                per_color=1,
                                prices=[ChargePrice(x_min_qty=1, y_min_qty=1, price=setup)],
                            )
                        ],
                    )
                ],
            )
        ],
    )
    return PricingRead(product_id=sku, records=[record])


class NoPricingAdapter(DemoAdapter):
    """A protocol with no pricing service (DemoAdapter's default)."""

    name = "NoPricingAdapter"


def register_price_adapter() -> None:
    register_adapter(PriceAdapter.name, PriceAdapter)
    register_adapter(NoPricingAdapter.name, NoPricingAdapter)
