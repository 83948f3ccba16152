"""DemoAdapter: a deterministic generated catalog, no network, for tests, the local stack and the
benchmarks. Dev-only: it implements the same interface as the real protocol adapters but does not
ship in the layer; ``register_demo_adapter()`` makes ``adapter_class: "DemoAdapter"`` known in the
process that calls it (``apihub_local.harness.Harness`` does, so every in-process apihub has it).

``protocol_config`` knobs: ``products`` (N, default 50), ``fail_skus`` (permanent ProductError),
``fail_rate`` (share of SKUs, chosen deterministically, that fail permanently), ``flaky_skus``
(always TransientError), ``auth_error`` (every call raises AuthError), ``page_size`` (discovery
page size, default 1000), ``modified_every`` / ``closeout_every`` (delta and closeout sets),
``revision`` (added to every price: a changed catalog), ``unlisted_skus`` (left out of the sellable
list, still hydrated when asked: products the supplier stopped selling).
``stock_churn`` (share of parts whose stock changes per inventory read; default
``APIHUB_DEMO_STOCK_CHURN``, else 0.05).

``inventory`` answers every part in two warehouses with deterministic stock: a part's stock moves
on (its epoch +1) on the reads where it churns, decided by hashing the SKU, part and read number,
so the same sequence of reads gives the same answers in any process. Reads are counted per supplier
and SKU in this process. ``fail_skus`` / ``fail_rate`` answer 600, ``flaky_skus`` time out.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

from apihub.adapters.base import DiscoveryPage, DiscoveryRequest, SupplierAdapter, explicit_pages, unsupported_listing
from apihub.adapters.registry import register_adapter
from apihub.errors import AuthError, ProductError, TransientError
from apihub.inventory.models import FutureQuantity, Inventory, InventoryLocation, InventoryPart
from apihub.models import PriceBreak, PriceGroup, Product, ProductImage, ProductPart, ProductRef
from apihub.modes.table import Listing

from apihub_fakes.promostandards.stock import stock_churn_from_env

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
COLORS = ("Black", "White", "Navy", "Red")
SIZES = ("S", "M", "L", "XL")
WAREHOUSES = (("RNO", "Reno, NV", "89441", "US"), ("JAX", "Jacksonville, FL", "32218", "US"))
STOCK_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
INCOMING_ON = date(2027, 1, 4)
# Inventory reads per (supplier id, SKU) and each part's stock epoch, in this process.
_stock_reads: dict[tuple[str, str], int] = {}
_stock_epochs: dict[tuple[str, str], int] = {}
_stock_lock = threading.Lock()


def demo_sku(index: int) -> str:
    return f"DEMO-{index:05d}"


def deterministic_share(sku: str, rate: float) -> bool:
    """True for about ``rate`` of all SKUs, always the same ones."""
    digest = int(hashlib.sha256(sku.encode()).hexdigest()[:8], 16)
    return digest / 0xFFFFFFFF < rate


def _unit(*values: object) -> float:
    digest = hashlib.sha256("|".join(str(v) for v in values).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class DemoAdapter(SupplierAdapter):
    name = "DemoAdapter"
    serves_inventory = True

    @property
    def _cfg(self) -> dict:
        return self.supplier.protocol_config or {}

    def _count(self) -> int:
        return int(self._cfg.get("products", 50))

    def _check_auth(self) -> None:
        if self._cfg.get("auth_error"):
            raise AuthError("105 Authentication Credentials required", code="105")

    def _modified_at(self, index: int) -> datetime:
        every = int(self._cfg.get("modified_every", 5))
        # Every ``every``-th product changed "recently"; the rest long ago.
        return EPOCH + timedelta(days=365 if index % every == 0 else 1, minutes=index)

    def _is_closeout(self, index: int) -> bool:
        return index % int(self._cfg.get("closeout_every", 10)) == 0

    def discover(self, request: DiscoveryRequest, cursor: str | None = None) -> Iterator[DiscoveryPage]:
        self._check_auth()
        if request.listing is Listing.given:
            yield from explicit_pages(request)
            return
        indexes: Sequence[int] = range(1, self._count() + 1)
        if request.listing is Listing.changed:
            since = request.since or EPOCH
            indexes = [i for i in indexes if self._modified_at(i) > since]
        elif request.listing is Listing.closeouts:
            indexes = [i for i in indexes if self._is_closeout(i)]
        elif request.listing is not Listing.sellable:
            raise unsupported_listing(self, request)
        else:
            unlisted = set(self._cfg.get("unlisted_skus", []))
            indexes = [i for i in indexes if demo_sku(i) not in unlisted]
        if request.limit is not None:
            indexes = list(indexes)[: request.limit]
        page_size = int(self._cfg.get("page_size", 1000))
        start = int(cursor or 0)
        all_refs = [ProductRef(product_id=demo_sku(i)) for i in indexes]
        while start < len(all_refs):
            end = start + page_size
            yield DiscoveryPage(refs=all_refs[start:end], cursor=str(end) if end < len(all_refs) else None)
            start = end
        if not all_refs:
            yield DiscoveryPage(refs=[])

    def _index(self, sku: str, not_found: str) -> int:
        """The product number of ``sku``; the configured failures, else ``not_found`` (the code a
        PromoStandards service answers) for SKUs outside the catalog."""
        if sku in set(self._cfg.get("flaky_skus", [])):
            raise TransientError(f"supplier timed out for {sku}")
        fail_rate = float(self._cfg.get("fail_rate", 0))
        if sku in set(self._cfg.get("fail_skus", [])) or (fail_rate and deterministic_share(sku, fail_rate)):
            raise ProductError(f"{not_found} Product Id not found: {sku}", code=not_found)
        try:
            index = int(sku.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            raise ProductError(f"{not_found} Product Id not found: {sku}", code=not_found) from None
        if not 1 <= index <= self._count():
            raise ProductError(f"{not_found} Product Id not found: {sku}", code=not_found)
        return index

    def hydrate(self, ref: ProductRef) -> Product:
        self._check_auth()
        sku = ref.product_id
        index = self._index(sku, "130")
        revision = int(self._cfg.get("revision", 0))
        base_price = 5 + (index % 20) + revision
        parts = [
            ProductPart(
                part_id=f"{sku}-{color[:3].upper()}-{size}",
                color=color,
                size=size,
                gtin=f"{index:07d}{c:02d}{s:02d}0",
                is_closeout=self._is_closeout(index),
                prices=[PriceBreak(quantity_min=1, quantity_max=11, price=base_price, price_type="Net")],
            )
            for c, color in enumerate(COLORS)
            for s, size in enumerate(SIZES)
        ]
        return Product(
            product_id=sku,
            name=f"Demo Tee {index}",
            brand="Demo Brand",
            description=f"Demo product number {index}.",
            categories=["T-Shirts"],
            parts=parts,
            images=[ProductImage(url=f"https://example.invalid/img/{sku}.jpg", is_primary=True)],
            prices=[
                PriceGroup(
                    group_name="List",
                    prices=[PriceBreak(quantity_min=1, price=base_price * 2, price_type="List")],
                )
            ],
            is_closeout=self._is_closeout(index),
            last_change_date=self._modified_at(index),
        )

    def _stock_churn(self) -> float:
        configured = self._cfg.get("stock_churn")
        return stock_churn_from_env() if configured is None else float(configured)

    def inventory(self, ref: ProductRef) -> Inventory:
        """Every part's stock in two warehouses; about ``stock_churn`` of the parts change per read."""
        self._check_auth()
        sku = ref.product_id
        index = self._index(sku, "600")
        churn = self._stock_churn()
        part_ids = [f"{sku}-{color[:3].upper()}-{size}" for color in COLORS for size in SIZES]
        with _stock_lock:
            key = (self.supplier.id, sku)
            read = _stock_reads.get(key, 0) + 1
            _stock_reads[key] = read
            epochs = {}
            for part_id in part_ids:
                epoch = _stock_epochs.get((self.supplier.id, part_id), 0)
                if read > 1 and _unit("churn", part_id, read) < churn:
                    epoch += 1
                _stock_epochs[(self.supplier.id, part_id)] = epoch
                epochs[part_id] = epoch
        parts = []
        for c, color in enumerate(COLORS):
            for s, size in enumerate(SIZES):
                part_id = part_ids[c * len(SIZES) + s]
                epoch = epochs[part_id]
                locations = []
                for location_id, name, postal, country in WAREHOUSES:
                    draw = _unit("stock", part_id, location_id, epoch)
                    quantity = 0.0 if draw < 0.1 else float(int(draw * 1200))
                    future = [FutureQuantity(quantity=144, available_on=INCOMING_ON + timedelta(days=index % 30))]
                    locations.append(
                        InventoryLocation(
                            location_id=location_id,
                            name=name,
                            postal_code=postal,
                            country=country,
                            quantity=quantity,
                            future=future if quantity == 0 else [],
                        )
                    )
                parts.append(
                    InventoryPart(
                        part_id=part_id,
                        color=color,
                        size=size,
                        quantity_available=sum(loc.quantity or 0 for loc in locations),
                        uom="EA",
                        last_modified=STOCK_EPOCH + timedelta(hours=epoch, minutes=index % 60),
                        locations=locations,
                    )
                )
        return Inventory(product_id=sku, parts=parts)


def register_demo_adapter() -> None:
    """Make ``DemoAdapter`` a known ``adapter_class`` in this process (idempotent)."""
    register_adapter(DemoAdapter.name, DemoAdapter)
