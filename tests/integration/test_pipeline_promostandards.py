"""Imports from the fake PromoStandards supplier through the whole pipeline (API -> discover ->
hydrate -> finalise) with the real PromoStandardsAdapter: every discovery mode, stored canonical
products, per-product supplier messages, bad credentials, transient faults and no-op re-imports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apihub.models import iso

from apihub_fakes.promostandards import FakePromoStandards, generate_catalog, running_fake_promostandards
from apihub_fakes.promostandards.responses import media_images

ADAPTER = "PromoStandardsAdapter"


@pytest.fixture(autouse=True)
def _insecure_urls_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fakes listen on http://127.0.0.1; set before the hub fixture builds its process state.
    monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "true")
    from apihub_local.harness import reset_process_state

    reset_process_state()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePromoStandards]:
    """A clean catalog shared by the tests that do not change it (seed 3: sellable, discontinued,
    closeout, sizeless, HTML-description and relative-image products are all among the first 16)."""
    with running_fake_promostandards(products=16, seed=3) as running:
        yield running


def register(hub: Any, fake: FakePromoStandards, credentials: dict[str, str] | None = None) -> dict[str, Any]:
    return hub.add_supplier(
        "fake-ps",
        adapter=ADAPTER,
        protocol="promostandards",
        protocol_config=fake.protocol_config(),
        auth_config=credentials or fake.credentials,
    )


def stored_products(hub: Any, supplier_id: str) -> dict[str, dict[str, Any]]:
    res = hub.api("GET", f"/api/suppliers/{supplier_id}/products", query={"limit": "1000"})
    assert res.status == 200, res.json
    return {p["product_id"]: p for p in res.json}


def stored_product(hub: Any, supplier_id: str, product_id: str) -> dict[str, Any]:
    res = hub.api("GET", f"/api/suppliers/{supplier_id}/products/{product_id}")
    assert res.status == 200, res.json
    return res.json  # type: ignore[no-any-return]


def error_list(hub: Any, job_id: str) -> list[dict[str, str]]:
    res = hub.api("GET", f"/api/sync-jobs/{job_id}/errors", query={"limit": "1000"})
    assert res.status == 200, res.json
    return sorted(res.json, key=lambda e: e["sku"])


def counts(job: dict[str, Any]) -> tuple[str, int, int, int]:
    return job["status"], job["total_products"], job["success_count"], job["failed_count"]


def assert_canonical(stored: dict[str, Any], fake: FakePromoStandards) -> None:
    """The stored product carries the catalog's values: parts (colour, size, GTIN, closeout, PPC net
    prices), list price, categories, plain-text description, resolved primary image, media images."""
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


# --- every discovery mode ---------------------------------------------------------------------------


def test_full_sellable_imports_every_sellable_product_with_canonical_values(hub, fake) -> None:
    # Given a PromoStandards supplier registered over the API, pointing at the fake
    supplier = register(hub, fake)
    catalog = fake.catalog
    assert catalog.discontinued_ids and catalog.closeout_ids
    # When a full_sellable import runs through the pipeline
    job = hub.run_import("fake-ps", mode="full_sellable")
    # Then every sellable product (and only those) is counted once and stored as the catalog has it
    assert counts(job) == ("success", len(catalog.sellable_ids), len(catalog.sellable_ids), 0)
    assert job["errors"] == [] and job["completed_at"]
    products = stored_products(hub, supplier["id"])
    assert sorted(products) == sorted(catalog.sellable_ids)
    for product_id in catalog.sellable_ids:
        assert_canonical(stored_product(hub, supplier["id"], product_id), fake)
    # Every shape the catalog has went through: sizeless, HTML description, relative image URL.
    sellable = [catalog.get(i) for i in catalog.sellable_ids]
    assert any(p.parts[0].size is None for p in sellable)
    assert any(p.html_description for p in sellable) and any("://" not in p.image for p in sellable)
    after = hub.api("GET", f"/api/suppliers/{supplier['id']}").json
    assert after["last_full_sync"] == job["started_at"]
    assert after["product_count"] == len(catalog.sellable_ids)


def test_first_n_imports_the_first_n_distinct_sellable_products(hub, fake) -> None:
    supplier = register(hub, fake)
    job = hub.run_import("fake-ps", mode="first_n", limit=5)
    assert counts(job) == ("success", 5, 5, 0)
    assert sorted(stored_products(hub, supplier["id"])) == sorted(fake.catalog.sellable_ids[:5])
    # first_n is not a sync of the catalog: the supplier's sync times stay unset
    assert hub.api("GET", f"/api/suppliers/{supplier['id']}").json["last_full_sync"] is None


def test_closeouts_import_exactly_the_closeout_products(hub, fake) -> None:
    supplier = register(hub, fake)
    closeouts = fake.catalog.closeout_ids
    job = hub.run_import("fake-ps", mode="closeouts")
    assert counts(job) == ("success", len(closeouts), len(closeouts), 0)
    products = stored_products(hub, supplier["id"])
    assert sorted(products) == sorted(closeouts)
    for product_id in closeouts:
        stored = stored_product(hub, supplier["id"], product_id)
        assert stored["is_closeout"] and all(part["is_closeout"] for part in stored["parts"])
        assert_canonical(stored, fake)


def test_explicit_list_imports_exactly_the_skus_asked_for_and_fails_the_unknown_one(hub, fake) -> None:
    supplier = register(hub, fake)
    mark = len(fake.calls)
    wanted = [fake.catalog.sellable_ids[3], fake.catalog.closeout_ids[0], "NO-SUCH-SKU"]
    job = hub.run_import("fake-ps", mode="explicit_list", explicit_list=wanted)
    assert counts(job) == ("partial_success", 3, 2, 1)
    expected_errors = [{"sku": "NO-SUCH-SKU", "error": "ProductError: 130 Product Id not found"}]
    assert job["errors"] == expected_errors
    assert error_list(hub, job["id"]) == expected_errors
    assert sorted(stored_products(hub, supplier["id"])) == sorted(wanted[:2])
    # No discovery call: the supplier saw one getProduct per SKU asked for and no listing call
    calls = fake.calls[mark:]
    assert sorted(c.product_id for c in calls if c.operation == "getProduct") == sorted(wanted)
    assert not [c for c in calls if c.operation.startswith(("getProductSellable", "getProductDate", "getProductClose"))]


def start_jobs_at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    """Jobs created from now on start at ``when`` (their ``started_at`` becomes the supplier's sync
    time), so a delta's window is exact instead of depending on the wall clock."""
    import apihub.jobs.service

    monkeypatch.setattr(apihub.jobs.service, "utcnow", lambda: when)


def test_delta_imports_only_what_changed_since_the_last_sync(hub, monkeypatch) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    full_at, changed_at, delta_at = now - timedelta(hours=3), now - timedelta(hours=2), now - timedelta(hours=1)
    # Given a catalog of its own (this test changes it) imported in full once
    with running_fake_promostandards(products=20, seed=5) as fake:
        supplier = register(hub, fake)
        start_jobs_at(monkeypatch, full_at)
        full = hub.run_import("fake-ps", mode="full_sellable")
        assert full["status"] == "success"
        assert hub.api("GET", f"/api/suppliers/{supplier['id']}").json["last_full_sync"] == iso(full_at)
        # ...and three of its products change after that sync (the rest changed back in 2024)
        changed = fake.catalog.sellable_ids[2:5]
        fake.catalog.touch(changed, changed_at)
        # When a delta import runs
        start_jobs_at(monkeypatch, delta_at)
        delta = hub.run_import("fake-ps", mode="delta")
        # Then it picked exactly the changed products (getProductDateModified since the last sync)
        assert counts(delta) == ("success", 3, 3, 0)
        assert len(fake.calls_for("getProductDateModified")) == 1
        for product_id in changed:
            stored = stored_product(hub, supplier["id"], product_id)
            assert stored["last_change_date"] == iso(changed_at)
            assert_canonical(stored, fake)
        after = hub.api("GET", f"/api/suppliers/{supplier['id']}").json
        assert (after["last_full_sync"], after["last_delta_sync"]) == (iso(full_at), iso(delta_at))
        # And the next delta starts from that delta: nothing changed since, an empty success
        start_jobs_at(monkeypatch, now)
        again = hub.run_import("fake-ps", mode="delta")
        assert counts(again) == ("success", 0, 0, 0)
        assert len(fake.calls_for("getProductDateModified")) == 2


def test_delta_after_a_newer_full_sync_starts_from_that_full_sync(hub, monkeypatch) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with running_fake_promostandards(products=12, seed=6) as fake:
        supplier = register(hub, fake)
        first, second = fake.catalog.sellable_ids[0], fake.catalog.sellable_ids[1]
        # Given a full sync, a delta, then a product change and another (newer) full sync
        start_jobs_at(monkeypatch, now - timedelta(hours=4))
        assert hub.run_import("fake-ps", mode="full_sellable")["status"] == "success"
        fake.catalog.touch([first], now - timedelta(hours=3, minutes=30))
        start_jobs_at(monkeypatch, now - timedelta(hours=3))
        assert counts(hub.run_import("fake-ps", mode="delta")) == ("success", 1, 1, 0)
        fake.catalog.touch([second], now - timedelta(hours=2, minutes=30))
        start_jobs_at(monkeypatch, now - timedelta(hours=2))
        assert hub.run_import("fake-ps", mode="full_sellable")["status"] == "success"
        after = hub.api("GET", f"/api/suppliers/{supplier['id']}").json
        assert after["last_full_sync"] > after["last_delta_sync"]
        # When the next delta runs
        start_jobs_at(monkeypatch, now - timedelta(hours=1))
        delta = hub.run_import("fake-ps", mode="delta")
    # Then it starts from the supplier's last sync (the full one): the change the full import already
    # brought in is not imported again
    assert counts(delta) == ("success", 0, 0, 0)


def test_a_delta_with_no_previous_sync_lists_every_sellable_product(hub) -> None:
    # Given a supplier never synced (no last full or delta sync) whose catalog has discontinued products
    with running_fake_promostandards(products=16, seed=3) as fake:
        supplier = register(hub, fake)
        assert fake.catalog.discontinued_ids
        # When a delta import runs
        delta = hub.run_import("fake-ps", mode="delta")
        listings = [
            c.operation for c in fake.calls if c.operation.startswith("getProduct") and c.operation != "getProduct"
        ]
    # Then it fell back to the sellable list (docs/decisions.md): every sellable product, no discontinued one
    assert listings == ["getProductSellable"]
    sellable = fake.catalog.sellable_ids
    assert counts(delta) == ("success", len(sellable), len(sellable), 0)
    assert sorted(stored_products(hub, supplier["id"])) == sorted(sellable)
    # And the job recorded that its listing had no since (a resumed listing keeps to it)
    from apihub.dal.jobs import JobsRepository

    assert JobsRepository().get_item(delta["id"]).discovery["since"] is None
    # And it is the supplier's last delta sync, so the next delta lists only what changed after it
    assert hub.api("GET", f"/api/suppliers/{supplier['id']}").json["last_delta_sync"] == delta["started_at"]


def test_supplier_down_at_discovery_fails_the_job_after_its_retries_and_releases_the_lock(hub) -> None:
    # Given a supplier whose getProductSellable answers HTTP 500 every time
    with running_fake_promostandards(products=5, seed=1, fail_operations={"getProductSellable": "http500"}) as fake:
        register(hub, fake)
        # When a full import runs (discovery is redelivered, then gives up)
        job = hub.run_import("fake-ps", mode="full_sellable")
        calls = len(fake.calls_for("getProductSellable"))
    # Then the job failed with the reason, after exactly its allowed attempts, and the lock is free
    assert job["status"] == "failed" and job["completed_at"]
    assert job["error_log"].startswith("TransientError: ") and "HTTP 500" in job["error_log"]
    assert job["error_log"].endswith("(discovery gave up after 3 attempts)")
    assert calls == 3
    assert hub.start_import("fake-ps", mode="full_sellable").status == 202


# --- per-product supplier messages ------------------------------------------------------------------


def test_130_for_5_of_100_products_ends_partial_success_with_exactly_those_skus(hub) -> None:
    # Given a supplier with 100 sellable products that answers 130 for five of them
    sellable = generate_catalog(products=106, seed=1).sellable_ids
    assert len(sellable) == 100
    failing = sorted([sellable[0], sellable[17], sellable[50], sellable[51], sellable[99]])
    with running_fake_promostandards(products=106, seed=1, fault_skus=dict.fromkeys(failing, "130")) as fake:
        supplier = register(hub, fake)
        # When a full import runs
        job = hub.run_import("fake-ps", mode="full_sellable")
    # Then those five failed with the supplier's message, the other 95 are stored
    assert counts(job) == ("partial_success", 100, 95, 5)
    expected = [{"sku": sku, "error": "ProductError: 130 Product Id not found"} for sku in failing]
    assert sorted(job["errors"], key=lambda e: e["sku"]) == expected
    assert error_list(hub, job["id"]) == expected
    assert sorted(stored_products(hub, supplier["id"])) == sorted(set(sellable) - set(failing))
    # partial success is still a sync of the catalog
    assert hub.api("GET", f"/api/suppliers/{supplier['id']}").json["last_full_sync"] == job["started_at"]


# --- credentials ------------------------------------------------------------------------------------


def test_bad_credentials_at_discovery_fail_the_job_and_release_the_lock(hub, fake) -> None:
    # Given a supplier whose password the fake rejects (ServiceMessage 105)
    register(hub, fake, credentials={"id": fake.credentials["id"], "password": "wrong-Pa55word"})
    # When a full import runs
    job = hub.run_import("fake-ps", mode="full_sellable")
    # Then the job failed at discovery with the supplier's code, and no secret in the text
    assert job["status"] == "failed" and job["completed_at"]
    assert job["error_log"].startswith("AuthError: 105 Authentication Credentials failed")
    assert "credentials rejected during discovery" in job["error_log"]
    assert "wrong-Pa55word" not in job["error_log"]
    assert (job["success_count"], job["failed_count"]) == (0, 0)
    # And the lock is gone: a new import of the same mode is accepted
    assert hub.start_import("fake-ps", mode="full_sellable").status == 202


def test_bad_credentials_at_first_hydration_fail_the_job_and_release_the_lock(hub, fake) -> None:
    # Given a supplier with a wrong password and an explicit_list import (no discovery call)
    supplier = register(hub, fake, credentials={"id": "someone-else", "password": "s3cret-value"})
    wanted = fake.catalog.sellable_ids[:12]
    mark = len(fake.calls)
    # When it runs
    job = hub.run_import("fake-ps", mode="explicit_list", explicit_list=wanted)
    # Then the first hydration's 105 failed the whole job, naming the code
    assert job["status"] == "failed" and job["completed_at"]
    assert job["error_log"].startswith("AuthError: 105 Authentication Credentials failed")
    assert "credentials rejected while hydrating" in job["error_log"]
    assert "s3cret-value" not in job["error_log"] and "someone-else" not in job["error_log"]
    assert len(fake.calls[mark:]) == 1  # no more calls to a supplier that rejected the credentials
    assert stored_products(hub, supplier["id"]) == {}
    # And once the credentials are fixed, the same import is accepted and succeeds
    res = hub.api("PATCH", f"/api/suppliers/{supplier['id']}", json_body={"auth_config": fake.credentials})
    assert res.status == 200, res.json
    retried = hub.run_import("fake-ps", mode="explicit_list", explicit_list=wanted)
    assert counts(retried) == ("success", 12, 12, 0)


# --- transient faults -------------------------------------------------------------------------------


def test_http_500_that_recovers_succeeds_and_one_that_persists_fails_after_its_retries(hub) -> None:
    # Given a supplier answering HTTP 500 for one product once, and for another one always
    sellable = generate_catalog(products=12, seed=2).sellable_ids
    recovers, persists = sellable[1], sellable[4]
    with running_fake_promostandards(
        products=12,
        seed=2,
        fault_skus={recovers: "http500", persists: "http500"},
        fault_times={recovers: 1},
    ) as fake:
        supplier = register(hub, fake)
        # When a full import runs (transient failures are redelivered with backoff)
        job = hub.run_import("fake-ps", mode="full_sellable")
        attempts = {
            sku: sum(1 for c in fake.calls_for("getProduct") if c.product_id == sku) for sku in (recovers, persists)
        }
    # Then the counts are honest: the recovered product succeeded, the other failed with its reason
    assert counts(job) == ("partial_success", len(sellable), len(sellable) - 1, 1)
    assert [e["sku"] for e in job["errors"]] == [persists]
    error = job["errors"][0]["error"]
    assert error.startswith("TransientError: ") and "HTTP 500" in error
    assert error.endswith("(gave up after 5 attempts)")
    assert attempts == {recovers: 2, persists: 5}
    assert recovers in stored_products(hub, supplier["id"])
    assert persists not in stored_products(hub, supplier["id"])


# --- no-op re-import --------------------------------------------------------------------------------


def test_reimport_of_an_unchanged_catalog_writes_no_products(hub, fake) -> None:
    # Given a supplier imported in full
    supplier = register(hub, fake)
    first = hub.run_import("fake-ps", mode="full_sellable")
    assert first["status"] == "success"
    before = stored_products(hub, supplier["id"])
    # When the same, unchanged catalog is imported again
    second = hub.run_import("fake-ps", mode="full_sellable")
    # Then every product is counted again but none was rewritten
    assert counts(second) == counts(first)
    after = stored_products(hub, supplier["id"])
    assert {k: (v["updated_at"], v["content_hash"]) for k, v in after.items()} == {
        k: (v["updated_at"], v["content_hash"]) for k, v in before.items()
    }
    assert all(v["updated_at"] <= first["completed_at"] for v in after.values())
    assert hub.api("GET", f"/api/suppliers/{supplier['id']}").json["product_count"] == len(before)
