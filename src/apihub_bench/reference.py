"""The reference way to import (the API-HUB this project replaces): one process, a thread pool of
10 concurrent hydrations, one DynamoDB write per product, no queue, no job counters."""

from __future__ import annotations

import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

from apihub.adapters.base import DiscoveryRequest, SupplierAdapter
from apihub.models import DiscoveryMode, ProductRef, now_iso


def import_in_process(supplier_id: str, workers: int = 10) -> tuple[int, float]:
    """Discover and hydrate every sellable product of ``supplier_id`` with ``workers`` threads,
    putting each product as it arrives. Returns (products written, seconds)."""
    from apihub.dal.tables import ProductItem
    from apihub.pipeline.adapter_factory import adapter_for

    local = threading.local()

    def adapter() -> SupplierAdapter:
        if getattr(local, "adapter", None) is None:
            from apihub.adapters.registry import build_adapter

            shared = adapter_for(supplier_id)
            local.adapter = build_adapter(shared.supplier, shared.context)  # own HTTP client per thread
        return local.adapter

    def hydrate_and_put(sku: str) -> None:
        product = adapter().hydrate(ProductRef(product_id=sku))
        ProductItem(
            supplier_id,
            sku,
            content_hash=product.compute_hash(),
            data=zlib.compress(product.model_dump_json().encode(), 6),
            updated_at=now_iso(),
        ).save()

    started = time.monotonic()
    skus: list[str] = []
    for page in adapter_for(supplier_id).discover(DiscoveryRequest(mode=DiscoveryMode.full_sellable)):
        skus.extend(ref.product_id for ref in page.refs)
    skus = list(dict.fromkeys(skus))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(hydrate_and_put, skus))
    return len(skus), time.monotonic() - started
