"""Imports from the fake 4Over-style REST/HMAC supplier through the whole pipeline (API -> discover ->
hydrate -> finalise) with the real FourOverAdapter: every discovery mode, stored canonical products,
per-product 404s, bad credentials, transient faults (HTTP 500 and 429) and no-op re-imports. The
scenarios are the shared ``PipelineContract``; this module says how the 4Over fake is driven."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs

from apihub.models import iso

from apihub_fakes.fourover import FakeFourOver, Fault, generate_catalog, running_fake_fourover
from tests.integration.pipeline_support import NO_FAULTS, Faults, PipelineContract, PipelineSupplier, SupplierCall

PRODUCTS_PATH = "/printproducts/products"
PAGE_SIZE = 7  # several listing pages even for a small catalog
# The fake's run sizes: a break runs from its run size to the next one minus one.
RUN_BREAKS = [(12, 47), (48, 143), (144, 499), (500, None)]


class FourOver(PipelineSupplier[FakeFourOver]):
    slug = "fourover"
    adapter = "FourOverAdapter"
    protocol = "rest_hmac"
    auth_error = "AuthError: supplier rejected credentials (HTTP 401)"
    hundred_sellable: ClassVar[tuple[int, int]] = (108, 1)
    throttles = True

    @contextmanager
    def running(self, products: int, seed: int, faults: Faults = NO_FAULTS) -> Iterator[FakeFourOver]:
        by_product: dict[str, Fault] = {
            **{sku: Fault("404") for sku in faults.not_found},
            **{sku: Fault("500") for sku in faults.failing},
            **{sku: Fault("500", times=1) for sku in faults.failing_once},
            **{sku: Fault("429", retry_after=1, times=1) for sku in faults.throttled_once},
        }
        list_fault = "500" if faults.listing_down else None
        with running_fake_fourover(products=products, seed=seed, faults=by_product, list_fault=list_fault) as fake:
            yield fake

    def connection(self, fake: FakeFourOver) -> dict[str, Any]:
        return {"base_url": fake.base_url, "protocol_config": {"page_size": PAGE_SIZE}}

    def listing_calls_for(self, products: int) -> int:
        return max(1, -(-products // PAGE_SIZE))

    def sellable_ids(self, fake: FakeFourOver) -> list[str]:
        return fake.catalog.sellable_ids()

    def sellable_ids_of(self, products: int, seed: int) -> list[str]:
        return generate_catalog(products, seed).sellable_ids()

    def closeout_ids(self, fake: FakeFourOver) -> list[str]:
        return fake.catalog.closeout_ids()

    def calls(self, fake: FakeFourOver) -> list[SupplierCall]:
        def call(path: str, query: str, product_id: str | None) -> SupplierCall:
            if path == PRODUCTS_PATH:
                args = parse_qs(query)
                return SupplierCall(
                    "changed" if "modified_since" in args else "closeouts" if "closeout" in args else "sellable"
                )
            if product_id is not None and path == f"{PRODUCTS_PATH}/{product_id}":
                return SupplierCall("product", product_id)
            return SupplierCall("other", product_id)

        return [call(r.path, r.query, r.product_id) for r in fake.request_log]

    def touch(self, fake: FakeFourOver, product_ids: Sequence[str], when: datetime) -> None:
        for product_id in product_ids:
            fake.catalog[product_id].modified_on = when

    def not_found_error(self, sku: str) -> str:
        return f"ProductError: 404 product not found: {sku}"

    def wrong_credentials(self, fake: FakeFourOver, wrong: str) -> dict[str, str]:
        account = fake.credentials["api_key"] if wrong == "secret" else "someone-else"
        return {"api_key": account, "private_key": "wrong-private-key"}

    def assert_catalog_covers_every_shape(self, fake: FakeFourOver) -> None:
        # inactive, closeout, sizeless and 2XL-upcharge products
        sellable = [fake.catalog[i] for i in fake.catalog.sellable_ids()]
        assert len(sellable) < len(fake.catalog)  # some products are inactive
        assert fake.catalog.closeout_ids()
        assert any(not p.sizes for p in sellable) and any(s.code == "2XL" for p in sellable for s in p.sizes)

    def assert_canonical(self, stored: dict[str, Any], fake: FakeFourOver) -> None:
        """Colour x size parts with their unit prices per run size (2XL/3XL with the upcharge), the
        base price group, category, brand, images, closeout."""
        source = fake.catalog[stored["product_id"]]
        assert (stored["name"], stored["brand"]) == (source.name, source.brand)
        assert stored["description"] == source.description
        assert stored["categories"] == [source.category]
        assert stored["is_closeout"] == source.closeout
        assert stored["last_change_date"] == iso(source.modified_on)
        assert stored["notes"] == []
        sizes = source.sizes or [None]
        assert [(p["part_id"], p["color"], p["size"], p["is_closeout"]) for p in stored["parts"]] == [
            ("-".join([source.code, c.code] + ([s.code] if s else [])), c.name, s.name if s else None, source.closeout)
            for c in source.colors
            for s in sizes
        ]
        base = [bp for bp in source.base_prices if not bp.option_uuids]
        assert [(g["group_name"], g["currency"]) for g in stored["prices"]] == [("Base", "USD")]
        assert [(b["quantity_min"], b["quantity_max"], b["price"]) for b in stored["prices"][0]["prices"]] == [
            (q_min, q_max, bp.unit_cents / 100) for (q_min, q_max), bp in zip(RUN_BREAKS, base, strict=True)
        ]
        for part in stored["parts"]:
            upcharge = 2.0 if part["size"] in ("2XL", "3XL") else 0.0
            assert [(b["quantity_min"], b["price"]) for b in part["prices"]] == [
                (q_min, round(bp.unit_cents / 100 + upcharge, 2))
                for (q_min, _), bp in zip(RUN_BREAKS, base, strict=True)
            ]
        assert [(i["url"], i["is_primary"]) for i in stored["images"]] == [
            (f"{fake.base_url}/images/{source.code}.jpg", True),
            (f"{fake.base_url}/images/{source.code}-back.jpg", False),
        ]


class TestFourOverPipeline(PipelineContract):
    supplier = FourOver()
