"""DemoAdapter: a deterministic generated catalog, no network, for tests, the local stack and the
benchmarks. Dev-only: it implements the same interface as the real protocol adapters but does not
ship in the layer; ``register_demo_adapter()`` makes ``adapter_class: "DemoAdapter"`` known in the
process that calls it (``apihub_local.harness.Harness`` does, so every in-process apihub has it).

``protocol_config`` knobs: ``products`` (N, default 50), ``fail_skus`` (permanent ProductError),
``fail_rate`` (share of SKUs, chosen deterministically, that fail permanently), ``flaky_skus``
(always TransientError), ``auth_error`` (every call raises AuthError), ``page_size`` (discovery
page size, default 1000), ``modified_every`` / ``closeout_every`` (delta and closeout sets).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from apihub.adapters.base import DiscoveryPage, DiscoveryRequest, SupplierAdapter, explicit_pages, unsupported_listing
from apihub.adapters.registry import register_adapter
from apihub.errors import AuthError, ProductError, TransientError
from apihub.jobs.modes import Listing
from apihub.models import PriceBreak, PriceGroup, Product, ProductImage, ProductPart, ProductRef

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
COLORS = ("Black", "White", "Navy", "Red")
SIZES = ("S", "M", "L", "XL")


def demo_sku(index: int) -> str:
    return f"DEMO-{index:05d}"


def deterministic_share(sku: str, rate: float) -> bool:
    """True for about ``rate`` of all SKUs, always the same ones."""
    digest = int(hashlib.sha256(sku.encode()).hexdigest()[:8], 16)
    return digest / 0xFFFFFFFF < rate


class DemoAdapter(SupplierAdapter):
    name = "DemoAdapter"

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

    def hydrate(self, ref: ProductRef) -> Product:
        self._check_auth()
        sku = ref.product_id
        if sku in set(self._cfg.get("flaky_skus", [])):
            raise TransientError(f"supplier timed out for {sku}")
        fail_rate = float(self._cfg.get("fail_rate", 0))
        if sku in set(self._cfg.get("fail_skus", [])) or (fail_rate and deterministic_share(sku, fail_rate)):
            raise ProductError(f"130 Product Id not found: {sku}", code="130")
        try:
            index = int(sku.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            raise ProductError(f"130 Product Id not found: {sku}", code="130") from None
        if not 1 <= index <= self._count():
            raise ProductError(f"130 Product Id not found: {sku}", code="130")
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


def register_demo_adapter() -> None:
    """Make ``DemoAdapter`` a known ``adapter_class`` in this process (idempotent)."""
    register_adapter(DemoAdapter.name, DemoAdapter)
