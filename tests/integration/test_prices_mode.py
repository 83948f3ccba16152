"""The prices mode (``import:prices``), end to end through the API on moto (docs/pricing.md, "The
prices mode"): it reads Pricing and Configuration for every stored product (or an explicit list)
through the exactly-once job path, writes a product's pricing only when it changed, makes one
``price.changed`` per changed product naming what moved and its job, is refused to a supplier
without a pricing service, and its schedule is refused when the rate limit cannot finish a run.
The supplier is ``PriceAdapter`` (tests/integration/prices_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.batch_copies import two_copies_of_a_batch
from tests.integration.prices_support import PRICES, register_price_adapter
from tests.integration.test_changes import changes
from tests.integration.test_inventory import WriteCounter, count_writes  # noqa: F401 - the fixture

SLUG = "priced"


@pytest.fixture
def price_hub(hub: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("APIHUB_CHANGES_SETTLE_MS", "0")  # the feed is read the moment streams are drained
    from apihub.settings import reset_settings

    reset_settings()
    register_price_adapter()
    PRICES.reset()
    yield hub
    PRICES.reset()


def _supplier(hub: Any, products: int = 5, **config: Any) -> dict[str, Any]:
    """A PriceAdapter supplier whose catalog is imported (the prices mode reads stored products)."""
    supplier = hub.add_supplier(SLUG, adapter="PriceAdapter", protocol_config={"products": products, **config})
    job = hub.run_import(SLUG, mode="full_sellable")
    assert job["status"] == "success" and job["total_products"] == products, job
    return supplier


def _price_events(hub: Any, supplier_id: str) -> list[dict[str, Any]]:
    hub.drain()
    return changes(hub, supplier_id=supplier_id, type="price.changed")


def _pricing(hub: Any, sku: str) -> Any:
    return hub.api("GET", f"/api/suppliers/{SLUG}/products/{sku}/pricing")


# ------------------------------------------------------------------ the mode


def test_a_prices_import_reads_the_pricing_of_every_stored_product_and_stores_it(price_hub) -> None:
    hub = price_hub
    _supplier(hub, products=5)

    job = hub.run_import(SLUG, mode="prices")

    assert (job["job_type"], job["status"], job["total_products"]) == ("import:prices", "success", 5)
    assert (job["success_count"], job["failed_count"]) == (5, 0)
    assert sorted(PRICES.calls) == [f"DEMO-{n:05d}" for n in range(1, 6)]  # one read per stored product
    res = _pricing(hub, "DEMO-00002")
    assert res.status == 200, res.json
    assert res.json["parts"][0]["prices"][0] == {
        "min_quantity": 12,
        "price": "9.75",
        "uom": None,
        "discount_code": None,
        "effective": None,
        "expiry": None,
    }
    # The supplier's sync field is the job's start; a price read never counts as a new product
    after = hub.api("GET", f"/api/suppliers/{SLUG}").json
    assert after["last_prices_sync"] == job["started_at"] and after["product_count"] == 5
    # And the product itself is not rewritten (its blank prices stay the catalog import's)
    quote = hub.api(
        "POST",
        f"/api/suppliers/{SLUG}/products/DEMO-00002/quote",
        json_body={"part_id": "DEMO-00002-BLK-M", "quantity": 24},
    )
    assert quote.status == 200 and quote.json["total"] == "234.00", quote.json


def test_a_prices_import_of_an_explicit_list_reads_only_those_and_records_failures_once(price_hub) -> None:
    hub = price_hub
    _supplier(hub, products=5)
    PRICES.fail_skus = {"DEMO-00003"}

    job = hub.run_import(SLUG, mode="prices", explicit_list=["DEMO-00001", "DEMO-00003", "DEMO-00001"])

    assert (job["status"], job["total_products"], job["success_count"], job["failed_count"]) == (
        "partial_success",
        2,
        1,
        1,
    )
    assert job["errors"] == [{"sku": "DEMO-00003", "error": "ProductError: 130 Product Id not found: DEMO-00003"}]
    assert _pricing(hub, "DEMO-00001").status == 200
    assert _pricing(hub, "DEMO-00003").status == 404


def test_a_supplier_without_a_pricing_service_is_refused_the_mode_naming_it(price_hub) -> None:
    hub = price_hub
    hub.add_supplier("plain", adapter="NoPricingAdapter", protocol_config={"products": 3})

    res = hub.start_import("plain", mode="prices")

    assert res.status == 422 and res.json["detail"].startswith("mode: prices is not supported"), res.json
    assert "serves_pricing" in res.json["detail"]
    assert hub.api("GET", "/api/sync-jobs").json == []


# ------------------------------------------------------------------ change-only writes and events


def test_an_unchanged_rerun_writes_no_pricing_and_makes_no_event(
    price_hub,
    count_writes: WriteCounter,  # noqa: F811 - the fixture imported above
) -> None:
    from apihub.settings import get_settings

    hub = price_hub
    supplier = _supplier(hub, products=20)
    pricing_table = get_settings().pricing_table
    first = hub.run_import(SLUG, mode="prices")
    assert first["success_count"] == 20 and count_writes.items[pricing_table] == 20
    assert len(_price_events(hub, supplier["id"])) == 20

    count_writes.items.clear()
    second = hub.run_import(SLUG, mode="prices")

    assert (second["status"], second["success_count"]) == ("success", 20)
    assert count_writes.items[pricing_table] == 0
    assert len(_price_events(hub, supplier["id"])) == 20  # none new
    # the run still counts: the supplier's prices are as of the second run
    assert hub.api("GET", f"/api/suppliers/{SLUG}").json["last_prices_sync"] == second["started_at"]


def test_price_changed_once_per_changed_product_naming_what_moved_and_its_job(price_hub) -> None:
    hub = price_hub
    supplier = _supplier(hub, products=6)
    first = hub.run_import(SLUG, mode="prices")
    created = _price_events(hub, supplier["id"])
    assert sorted(e["product_id"] for e in created) == [f"DEMO-{n:05d}" for n in range(1, 7)]
    assert {e["job_id"] for e in created} == {first["id"]}
    assert created[0]["data"]["changed"] == ["part_prices", "charges", "locations", "fob_points"]

    PRICES.moved = {
        "DEMO-00001": {"part_prices"},
        "DEMO-00002": {"charges"},
        "DEMO-00003": {"locations", "fob_points"},
    }
    second = hub.run_import(SLUG, mode="prices")

    events = [e for e in _price_events(hub, supplier["id"]) if e["job_id"] == second["id"]]
    assert {e["product_id"]: e["data"]["changed"] for e in events} == {
        "DEMO-00001": ["part_prices"],
        "DEMO-00002": ["charges"],
        "DEMO-00003": ["locations", "fob_points"],
    }
    assert _pricing(hub, "DEMO-00001").json["parts"][0]["prices"][0]["price"] == "9.95"


# ------------------------------------------------------------------ exactly once


def test_two_copies_of_a_prices_batch_at_once_count_each_product_once_and_store_its_pricing_once(
    price_hub, monkeypatch
) -> None:
    # Given a running prices job, and two copies of a batch of its hydrate messages that both read
    # every product's pricing before either commits
    hub = price_hub
    supplier = _supplier(hub, products=12)

    copies = two_copies_of_a_batch(hub, monkeypatch, SLUG, "prices")

    # Then each product counts once
    assert [r["batchItemFailures"] for r in copies.results] == [[], []]
    job = hub.job(copies.job_id)
    assert job["success_count"] == len(copies.skus) > 0 and job["failed_count"] == 0
    # And the rest of the job still ends exact
    copies.acknowledge()
    hub.drain()
    done = hub.job(copies.job_id)
    assert (done["status"], done["success_count"], done["total_products"]) == ("success", 12, 12)
    # And each product's pricing was stored once: one price.changed each
    events = _price_events(hub, supplier["id"])
    assert sorted(e["product_id"] for e in events) == [f"DEMO-{n:05d}" for n in range(1, 13)]


def test_transaction_conflicts_and_a_flaky_supplier_still_count_and_store_each_product_once(
    price_hub, aws_faults
) -> None:
    hub = price_hub
    supplier = _supplier(hub, products=15)
    PRICES.flaky = {"DEMO-00002", "DEMO-00009"}

    with aws_faults(0.3, kinds={"transaction_conflict"}) as faults:
        accepted = hub.start_import(SLUG, mode="prices")
        assert accepted.status == 202, accepted.json
        hub.drain()
    job = hub.job(accepted.json["sync_job_id"])

    assert faults.counts.get("transaction_conflict", 0) > 0  # the fault was really met
    assert (job["status"], job["success_count"], job["failed_count"], job["total_products"]) == ("success", 15, 0, 15)
    assert PRICES.calls.count("DEMO-00002") == 2  # the transient failure was read again
    events = _price_events(hub, supplier["id"])
    assert sorted(e["product_id"] for e in events) == [f"DEMO-{n:05d}" for n in range(1, 16)]


# ------------------------------------------------------------------ the schedule


def test_a_prices_schedule_shorter_than_one_run_at_the_rate_limit_is_refused_naming_both(price_hub) -> None:
    hub = price_hub
    # one run: 100 products x 2 calls (getFobPoints + one configuration) / 0.01 per s = 20,000 s
    _supplier(hub, products=100, rate_limit_per_s=0.01)

    res = hub.api("PATCH", f"/api/suppliers/{SLUG}", json_body={"schedules": {"prices": {"every": "4h"}}})

    assert res.status == 422, res.json
    detail = res.json["detail"]
    assert detail.startswith("schedules.prices.every: 4h (14,400 s)") and "20,000 s" in detail, detail
    assert "100 products x 2 supplier calls each" in detail and "rate_limit_per_s 0.01" in detail
    ok = hub.api("PATCH", f"/api/suppliers/{SLUG}", json_body={"schedules": {"prices": {"every": "12h"}}})
    assert ok.status == 200 and ok.json["schedules"] == {"prices": {"every": "12h"}}
    # More configurations per product make a run longer: 1 + 5 currencies = 6 calls, 60,000 s
    currencies = ["USD", "CAD", "EUR", "GBP", "MXN"]
    more = hub.api(
        "PATCH",
        f"/api/suppliers/{SLUG}",
        json_body={"protocol_config": {"rate_limit_per_s": 0.01, "pricing": {"currencies": currencies}}},
    )
    assert more.status == 422 and "schedules.prices.every: 12h" in more.json["detail"], more.json
    bad = hub.api("PATCH", f"/api/suppliers/{SLUG}", json_body={"schedules": {"prices": {"every": "15m"}}})
    assert bad.status == 422 and "prices" in bad.json["detail"] and "1h" in bad.json["detail"]


def test_the_prices_schedule_starts_due_suppliers_once_per_period_beside_the_inventory_schedule(price_hub) -> None:
    from apihub.jobs.schedules import run_scheduled_imports
    from apihub.models import DiscoveryMode

    hub = price_hub
    _supplier(hub, products=3)
    res = hub.api(
        "PATCH",
        f"/api/suppliers/{SLUG}",
        json_body={"schedules": {"prices": {"every": "1d"}, "inventory": {"every": "15m"}}},
    )
    assert res.status == 200, res.json
    day = datetime(2026, 11, 30, 10, 7, tzinfo=UTC)

    # An inventory tick takes its own slot first: the prices slot is another attribute
    assert list(run_scheduled_imports(DiscoveryMode.inventory, now=day).started) == [SLUG]
    started = run_scheduled_imports(DiscoveryMode.prices, now=day)
    again = run_scheduled_imports(DiscoveryMode.prices, now=day + timedelta(hours=1))  # same day: not due

    assert list(started.started) == [SLUG] and not again.started and not again.already_running
    hub.drain()
    assert hub.job(started.started[SLUG])["job_type"] == "import:prices"
    later = run_scheduled_imports(DiscoveryMode.prices, now=day + timedelta(days=1))
    assert list(later.started) == [SLUG]


# ------------------------------------------------------------------ the PromoStandards fake (the demo supplier)


@pytest.fixture
def insecure_urls_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake listens on http://127.0.0.1; set before the hub fixture builds its process state.
    monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "true")
    from apihub_local.harness import reset_process_state

    reset_process_state()


def test_the_promostandards_adapter_runs_the_mode_against_the_fake_suppliers_ppc_service(
    insecure_urls_allowed, price_hub
) -> None:
    from apihub_fakes.promostandards import running_fake_promostandards

    hub = price_hub
    with running_fake_promostandards(products=4, seed=3) as fake:
        supplier = hub.add_supplier(
            "fake-ps",
            adapter="PromoStandardsAdapter",
            protocol="promostandards",
            protocol_config=fake.protocol_config(),
            auth_config=fake.credentials,
        )
        catalog = hub.run_import("fake-ps", mode="full_sellable")
        assert catalog["status"] == "success", catalog
        stored = catalog["success_count"]
        before = len(fake.calls)

        job = hub.run_import("fake-ps", mode="prices")
        calls = [c.operation for c in list(fake.calls)[before:]]
        again = hub.run_import("fake-ps", mode="prices")

    assert (job["status"], job["success_count"], job["failed_count"]) == ("success", stored, 0), job
    # getFobPoints and one Decorated configuration per product (the default setting)
    assert sorted(set(calls)) == ["getConfigurationAndPricing", "getFobPoints"]
    assert calls.count("getFobPoints") == stored and calls.count("getConfigurationAndPricing") == stored
    product = hub.api("GET", "/api/suppliers/fake-ps/products", query={"limit": "1"}).json[0]["product_id"]
    pricing = hub.api("GET", f"/api/suppliers/fake-ps/products/{product}/pricing").json
    assert [loc["name"] for loc in pricing["locations"]] == ["Front", "Left Chest"], pricing
    events = _price_events(hub, supplier["id"])
    assert len(events) == stored and {e["job_id"] for e in events} == {job["id"]}
    assert again["status"] == "success"  # and, unchanged, no new event
    assert len(_price_events(hub, supplier["id"])) == stored
