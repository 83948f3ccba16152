"""Pricing through the API: stored per product, read by FOB point / currency / price type, quoted
with markup; storage writes only changed content and spills large configurations (docs/pricing.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from apihub.dal.pricing import PricingRepository
from apihub.dal.tables import PricingItem
from apihub.errors import ConcurrentChange
from apihub.pricing.models import ProductPricing

from apihub_fakes.promostandards import generate_catalog
from apihub_fakes.promostandards import ppc as fake_ppc

READ_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PRODUCT = generate_catalog(3, seed=7).products[0]


def _records() -> list[ProductPricing]:
    return [
        fake_ppc.demo_pricing(PRODUCT, "1", "USD", "Net").model_copy(update={"as_of": READ_AT}),
        fake_ppc.demo_pricing(PRODUCT, "2", "USD", "Net").model_copy(update={"as_of": READ_AT}),
        fake_ppc.demo_pricing(PRODUCT, "2", "CAD", "List").model_copy(
            update={"as_of": READ_AT, "requested_price_type": "Customer"}
        ),
    ]


@pytest.fixture
def priced(hub: Any) -> dict[str, Any]:
    supplier = hub.add_supplier("priced")
    PricingRepository().store(supplier["id"], PRODUCT.product_id, _records(), READ_AT)
    return supplier


def _path(what: str, product_id: str = PRODUCT.product_id) -> str:
    return f"/api/suppliers/priced/products/{product_id}/{what}"


def test_pricing_is_answered_per_fob_point_currency_and_price_type(hub: Any, priced: dict[str, Any]) -> None:
    first = hub.api("GET", _path("pricing"))
    dallas = hub.api("GET", _path("pricing"), query={"fob_id": "2", "currency": "usd"})
    asked_customer = hub.api("GET", _path("pricing"), query={"price_type": "Customer"})

    assert first.status == 200 and (first.json["fob_id"], first.json["currency"]) == ("1", "USD")
    assert first.json["as_of"].startswith("2026-12-01T12:00")
    assert [f["city"] for f in first.json["fob_points"]] == ["Reno", "Dallas"]
    assert first.json["locations"][0]["decorations"][0]["charges"][0]["type"] == "setup"
    assert dallas.json["fob_id"] == "2" and dallas.json["parts"][0]["prices"] != first.json["parts"][0]["prices"]
    # the supplier refused Customer: List was read, and the record says so
    assert (asked_customer.json["price_type"], asked_customer.json["requested_price_type"]) == ("List", "Customer")


def test_unknown_pricing_is_404_naming_pricing_and_an_unstored_choice_is_422_naming_it(
    hub: Any, priced: dict[str, Any]
) -> None:
    missing = hub.api("GET", _path("pricing", "NOPE"))
    wrong_fob = hub.api("GET", _path("pricing"), query={"fob_id": "9"})
    quote_missing = hub.api("POST", _path("quote", "NOPE"), json_body={"part_id": "x", "quantity": 1})

    assert missing.status == 404 and missing.json["detail"].startswith("pricing:")
    assert quote_missing.status == 404 and quote_missing.json["detail"].startswith("pricing:")
    assert wrong_fob.status == 422 and wrong_fob.json["detail"] == "fob_id: no pricing stored for '9'; stored: 1, 2"


def test_a_viewer_quotes_with_the_most_specific_markup_rule(hub: Any, priced: dict[str, Any]) -> None:
    part = PRODUCT.parts[0].part_id
    everyone = hub.api("POST", "/api/markup-rules", json_body={"scope": "all", "markup_pct": "40", "rounding": "up_99"})
    product = hub.api(
        "POST",
        "/api/markup-rules",
        json_body={"scope": "product", "supplier_id": priced["id"], "product_id": PRODUCT.product_id, "markup_pct": 50},
    )
    assert everyone.status == 201 and product.status == 201

    body = {"part_id": part, "quantity": 144, "decorations": [{"location_id": "1", "decoration_id": "1", "units": 3}]}
    viewer = hub.token("viewer")
    result = hub.api("POST", _path("quote"), json_body=body, token=viewer)

    assert result.status == 200, result.json
    kinds = [(line["kind"], line["charge_id"]) for line in result.json["lines"]]
    assert kinds == [("blank", None), ("setup", "101"), ("run", "102")]
    assert result.json["ltm"] is False
    assert result.json["total"] == str(sum(float(line["amount"]) for line in result.json["lines"]).__format__(".2f"))
    assert result.json["sell"]["rule_id"] == product.json["rule_id"]

    hub.api("DELETE", f"/api/markup-rules/{product.json['rule_id']}")
    fallback = hub.api("POST", _path("quote"), json_body=body, token=viewer)
    unmarked = hub.api("POST", _path("quote"), json_body={**body, "markup": False}, token=viewer)
    assert fallback.json["sell"]["rule_id"] == everyone.json["rule_id"]
    assert fallback.json["sell"]["unit_total"].endswith(".99")
    assert unmarked.json["sell"] is None


def test_a_markup_rule_names_its_supplier_by_slug_and_keeps_the_id_quotes_match_on(
    hub: Any, priced: dict[str, Any]
) -> None:
    # Given a supplier rule that names the supplier by its slug
    rule = hub.api(
        "POST", "/api/markup-rules", json_body={"scope": "supplier", "supplier_id": "priced", "markup_pct": 20}
    )
    # Then the rule keeps the supplier's id, and a quote of that supplier's product uses it
    assert rule.status == 201 and rule.json["supplier_id"] == priced["id"], rule.json
    quote = hub.api("POST", _path("quote"), json_body={"part_id": PRODUCT.parts[0].part_id, "quantity": 144})
    assert quote.status == 200 and quote.json["sell"]["rule_id"] == rule.json["rule_id"], quote.json
    # And a supplier nobody has is a 404, with no rule stored
    unknown = hub.api(
        "POST", "/api/markup-rules", json_body={"scope": "supplier", "supplier_id": "nobody", "markup_pct": 20}
    )
    assert (unknown.status, unknown.json) == (404, {"detail": "Supplier not found"})
    assert [r["rule_id"] for r in hub.api("GET", "/api/markup-rules").json] == [rule.json["rule_id"]]


def test_quote_refusals_are_422_naming_the_field(hub: Any, priced: dict[str, Any]) -> None:
    part = PRODUCT.parts[0].part_id
    cases = {
        "decorations[0].decoration_id": {"location_id": "1", "decoration_id": "2", "units": 1},
        "decorations[0].units": {"location_id": "1", "decoration_id": "1", "units": 7},
    }
    for field, decoration in cases.items():
        res = hub.api("POST", _path("quote"), json_body={"part_id": part, "quantity": 50, "decorations": [decoration]})
        assert res.status == 422 and res.json["detail"].startswith(field), res.json
    unknown = hub.api("POST", _path("quote"), json_body={"part_id": "NOPE", "quantity": 1})
    assert unknown.status == 422 and unknown.json["detail"].startswith("part_id: 'NOPE' is not a part")
    bad_body = hub.api("POST", _path("quote"), json_body={"part_id": part, "quantity": 0})
    assert bad_body.status == 422 and "quantity" in str(bad_body.json)


def test_markup_rules_are_admin_only_and_checked(hub: Any) -> None:
    viewer = hub.token("viewer")
    assert hub.api("GET", "/api/markup-rules", token=viewer).status == 403
    assert hub.api("POST", "/api/markup-rules", json_body={"scope": "all", "markup_pct": 1}, token=viewer).status == 403
    refused = hub.api("POST", "/api/markup-rules", json_body={"scope": "category", "markup_pct": 10})
    assert refused.status == 422 and "category is required" in str(refused.json)
    gone = hub.api("DELETE", "/api/markup-rules/5b0c3f2e-7a1d-4e8b-9c6f-0a1b2c3d4e5f")
    assert gone.status == 404
    assert hub.api("GET", "/api/markup-rules").json == []


def test_an_unchanged_read_writes_nothing_and_a_changed_one_is_stored(hub: Any, priced: dict[str, Any]) -> None:
    repo = PricingRepository()
    later = datetime(2026, 12, 2, tzinfo=UTC)
    before = repo.get(priced["id"], PRODUCT.product_id)

    unchanged = [r.model_copy(update={"as_of": later}) for r in _records()]
    assert repo.store(priced["id"], PRODUCT.product_id, unchanged, later) is False
    assert repo.get(priced["id"], PRODUCT.product_id).changed_at == before.changed_at

    moved = _records()
    part = moved[0].parts[0]
    moved[0].parts[0] = part.model_copy(update={"prices": [part.prices[0].model_copy(update={"price": "1.23"})]})
    assert repo.store(priced["id"], PRODUCT.product_id, moved, later) is True
    assert repo.get(priced["id"], PRODUCT.product_id).records[0].parts[0].prices[0].price == "1.23"


def test_a_concurrent_writer_of_other_content_is_not_overwritten(
    hub: Any, priced: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = PricingRepository()
    stale = repo.get(priced["id"], PRODUCT.product_id).content_hash
    moved = _records()[:1]
    assert repo.store(priced["id"], PRODUCT.product_id, moved, READ_AT) is True
    # a writer that read the old hash before that write lands second
    monkeypatch.setattr(PricingRepository, "hash_of", lambda self, s, p: stale)
    with pytest.raises(ConcurrentChange):
        repo.store(priced["id"], PRODUCT.product_id, _records()[1:], READ_AT)
    monkeypatch.undo()
    assert [r.fob_id for r in repo.get(priced["id"], PRODUCT.product_id).records] == ["1"]


def test_a_configuration_too_big_for_an_item_goes_to_s3_and_reads_back(hub: Any) -> None:
    supplier = hub.add_supplier("huge")
    base = fake_ppc.demo_pricing(PRODUCT, "1")
    # thousands of parts with incompressible descriptions: far over 400 KB compressed
    import os

    parts = [
        base.parts[0].model_copy(update={"part_id": f"P{i:05d}", "description": os.urandom(120).hex()})
        for i in range(3000)
    ]
    big = base.model_copy(update={"parts": parts, "as_of": READ_AT})

    assert PricingRepository().store(supplier["id"], "BIG", [big], READ_AT) is True

    item = PricingItem.get(supplier["id"], "BIG")
    assert item.body_ref is not None and item.data is None
    res = hub.api("GET", "/api/suppliers/huge/products/BIG/pricing")
    assert res.status == 200 and len(res.json["parts"]) == 3000 and res.json["parts"][-1]["part_id"] == "P02999"
