"""Imports from the fake PromoStandards supplier through the whole pipeline (API -> discover ->
hydrate -> finalise) with the real PromoStandardsAdapter: every discovery mode, stored canonical
products, per-product supplier messages, bad credentials, transient faults and no-op re-imports.
The scenarios are the shared ``PipelineContract``; this module says how the PromoStandards fake is
driven."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar

from apihub.models import iso

from apihub_fakes.promostandards import FakePromoStandards, generate_catalog, running_fake_promostandards
from apihub_fakes.promostandards.responses import media_images
from tests.integration.pipeline_support import (
    NO_FAULTS,
    CallKind,
    Faults,
    PipelineContract,
    PipelineSupplier,
    SupplierCall,
)

OPERATION_KINDS: dict[str, CallKind] = {
    "getProductSellable": "sellable",
    "getProductCloseOut": "closeouts",
    "getProductDateModified": "changed",
    "getProduct": "product",
}


class PromoStandards(PipelineSupplier[FakePromoStandards]):
    slug = "fake-ps"
    adapter = "PromoStandardsAdapter"
    protocol = "promostandards"
    auth_error = "AuthError: 105 Authentication Credentials failed"
    hundred_sellable: ClassVar[tuple[int, int]] = (106, 1)

    @contextmanager
    def running(self, products: int, seed: int, faults: Faults = NO_FAULTS) -> Iterator[FakePromoStandards]:
        if faults.throttled_once:
            raise ValueError("the PromoStandards fake has no HTTP 429")
        with running_fake_promostandards(
            products=products,
            seed=seed,
            fault_skus={
                **dict.fromkeys(faults.not_found, "130"),
                **dict.fromkeys([*faults.failing, *faults.failing_once], "http500"),
            },
            fault_times=dict.fromkeys(faults.failing_once, 1),
            fail_operations={"getProductSellable": "http500"} if faults.listing_down else None,
        ) as fake:
            yield fake

    def connection(self, fake: FakePromoStandards) -> dict[str, Any]:
        return {"protocol_config": fake.protocol_config()}

    def listing_calls_for(self, products: int) -> int:
        return 1  # a PromoStandards listing is one call, whatever its size

    def sellable_ids(self, fake: FakePromoStandards) -> list[str]:
        return fake.catalog.sellable_ids

    def sellable_ids_of(self, products: int, seed: int) -> list[str]:
        return generate_catalog(products=products, seed=seed).sellable_ids

    def closeout_ids(self, fake: FakePromoStandards) -> list[str]:
        return fake.catalog.closeout_ids

    def calls(self, fake: FakePromoStandards) -> list[SupplierCall]:
        return [SupplierCall(OPERATION_KINDS.get(c.operation, "other"), c.product_id) for c in list(fake.calls)]

    def touch(self, fake: FakePromoStandards, product_ids: Sequence[str], when: datetime) -> None:
        fake.catalog.touch(list(product_ids), when)

    def not_found_error(self, sku: str) -> str:
        return "ProductError: 130 Product Id not found"

    def wrong_credentials(self, fake: FakePromoStandards, wrong: str) -> dict[str, str]:
        if wrong == "secret":
            return {"id": fake.credentials["id"], "password": "wrong-Pa55word"}
        return {"id": "someone-else", "password": "s3cret-value"}

    def assert_catalog_covers_every_shape(self, fake: FakePromoStandards) -> None:
        # discontinued, closeout, sizeless, HTML-description and relative-image products
        catalog = fake.catalog
        assert catalog.discontinued_ids and catalog.closeout_ids
        sellable = [catalog.get(i) for i in catalog.sellable_ids]
        assert any(p.parts[0].size is None for p in sellable)
        assert any(p.html_description for p in sellable) and any("://" not in p.image for p in sellable)

    def assert_canonical(self, stored: dict[str, Any], fake: FakePromoStandards) -> None:
        """Parts (colour, size, GTIN, closeout, PPC net prices), list price, categories, plain-text
        description, resolved primary image, media images."""
        expected = fake.catalog.get(stored["product_id"])
        assert expected is not None
        assert (stored["name"], stored["brand"]) == (expected.name, expected.brand)
        assert stored["description"] == expected.expected_description
        category = f"{expected.category} > {expected.sub_category}" if expected.sub_category else expected.category
        assert stored["categories"] == [category]
        assert [(p["part_id"], p["color"], p["size"], p["gtin"], p["is_closeout"]) for p in stored["parts"]] == [
            (p.part_id, p.color, p.size, p.gtin, p.is_closeout) for p in expected.parts
        ]
        for part, fake_part in zip(stored["parts"], expected.parts, strict=True):
            assert [(b["quantity_min"], b["quantity_max"], b["price"], b["price_type"]) for b in part["prices"]] == [
                (q, q_max, price, "Net") for (q, price), q_max in zip(fake_part.net_prices, [11, 71, None], strict=True)
            ]
        assert [(g["group_name"], g["prices"][0]["price"]) for g in stored["prices"]] == [("List", expected.list_price)]
        primary = stored["images"][0]
        assert primary["is_primary"]
        assert primary["url"] == (expected.image if "://" in expected.image else f"{fake.base_url}/{expected.image}")
        assert [i["url"] for i in stored["images"][1:]] == [m[0] for m in media_images(expected)]
        assert stored["is_closeout"] == expected.is_closeout
        assert stored["last_change_date"] == iso(expected.last_change)
        assert stored["notes"] == []


class TestPromoStandardsPipeline(PipelineContract):
    supplier = PromoStandards()
