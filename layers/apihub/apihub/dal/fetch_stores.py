"""The data layer's side of each fetch kind (``apihub.modes.fetch.WriteStores``): the change-only
write of one fetched SKU and what its table holds, for products, stock and prices. A new fetch kind adds
its pair here (and to the protocol); mypy names it when one is missing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apihub.dal.jobs.keys import sku_fits
from apihub.dal.jobs.writes import ProductWrite, StoredState, product_write
from apihub.dal.tables import JobItem, ProductItem
from apihub.modes.fetch import WriteStores
from apihub.settings import Settings


class FetchStores(WriteStores):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def product_write(self, job: JobItem, outcome: Any, content_hash: str, now: str) -> ProductWrite | str:
        return product_write(job, outcome, content_hash, now)

    def product_states(self, supplier_id: str, skus: Iterable[str]) -> dict[str, StoredState]:
        """What is stored for each of these products that exists: its content hash and, for a body
        kept in S3, the body's key. (A SKU too long to be a key is never stored: not asked for.)"""
        keys = [(supplier_id, s) for s in dict.fromkeys(skus) if sku_fits(s)]
        if not keys:
            return {}
        attributes = ["supplier_id", "product_id", "content_hash", "body_ref", "discontinued_at"]
        found = ProductItem.batch_get(keys, attributes_to_get=attributes)
        return {p.product_id: StoredState(p.content_hash, p.body_ref, p.discontinued_at is not None) for p in found}

    def stock_write(self, job: JobItem, outcome: Any, content_hash: str, now: str) -> Any:
        from apihub.dal.inventory import inventory_write  # only stock jobs load the inventory table's module

        return inventory_write(job.supplier_id, outcome.product, content_hash, outcome.fetched_at or now, job_id=job.id)

    def stock_states(self, supplier_id: str, skus: Iterable[str]) -> dict[str, StoredState]:
        from apihub.dal.inventory import InventoryRepository  # only stock jobs load it

        return InventoryRepository(self.settings).hashes(supplier_id, skus)

    def pricing_write(self, job: JobItem, outcome: Any, content_hash: str, now: str) -> Any:
        from apihub.dal.pricing import pricing_write  # only prices jobs load the pricing table's module

        read = outcome.product
        as_of = outcome.fetched_at or now
        return pricing_write(job.supplier_id, read.product_id, read.records, content_hash, as_of, job_id=job.id)

    def pricing_states(self, supplier_id: str, skus: Iterable[str]) -> dict[str, StoredState]:
        from apihub.dal.pricing import PricingRepository  # only prices jobs load it

        return PricingRepository(self.settings).states(supplier_id, skus)
