"""Imports from the fake 4Over-style REST/HMAC supplier through the whole pipeline (API -> discover ->
hydrate -> finalise) with the real FourOverAdapter: every discovery mode, stored canonical products,
per-product 404s, bad credentials, transient faults and no-op re-imports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apihub.models import iso

from apihub_fakes.fourover import FakeFourOver, Fault, running_fake_fourover

ADAPTER = "FourOverAdapter"
PRODUCTS_PATH = "/printproducts/products"
# The fake's run sizes: a break runs from its run size to the next one minus one.
RUN_BREAKS = [(12, 47), (48, 143), (144, 499), (500, None)]


@pytest.fixture(autouse=True)
def _insecure_urls_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fakes listen on http://127.0.0.1; set before the hub fixture builds its process state.
    monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "true")
    from apihub_local.harness import reset_process_state

    reset_process_state()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeFourOver]:
    """A clean catalog shared by the tests that do not change it (inactive, closeout, sizeless and
    2XL-upcharge products are all among the first 16)."""
    with running_fake_fourover(products=16, seed=3) as running:
        yield running


def register(hub: Any, fake: FakeFourOver, credentials: dict[str, str] | None = None) -> dict[str, Any]:
    return hub.add_supplier(
        "fourover",
        adapter=ADAPTER,
        protocol="rest_hmac",
        base_url=fake.base_url,
        protocol_config={"page_size": 7},  # several listing pages even for a small catalog
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


def start_jobs_at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    """Jobs created from now on start at ``when`` (their ``started_at`` becomes the supplier's sync
    time), so a delta's window is exact instead of depending on the wall clock."""
    import apihub.jobs.service

    monkeypatch.setattr(apihub.jobs.service, "utcnow", lambda: when)


def assert_canonical(stored: dict[str, Any], fake: FakeFourOver) -> None:
    """The stored product carries the catalog's values: colour x size parts with their unit prices per
    run size (2XL/3XL with the upcharge), the base price group, category, brand, images, closeout."""
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
            (q_min, round(bp.unit_cents / 100 + upcharge, 2)) for (q_min, _), bp in zip(RUN_BREAKS, base, strict=True)
        ]
    assert [(i["url"], i["is_primary"]) for i in stored["images"]] == [
        (f"{fake.base_url}/images/{source.code}.jpg", True),
        (f"{fake.base_url}/images/{source.code}-back.jpg", False),
    ]


# --- every discovery mode ---------------------------------------------------------------------------


def test_full_sellable_imports_every_active_product_with_canonical_values(hub, fake) -> None:
    # Given a 4Over supplier registered over the API, pointing at the fake
    supplier = register(hub, fake)
    sellable = fake.catalog.sellable_ids()
    assert len(sellable) < len(fake.catalog)  # some products are inactive
    # When a full_sellable import runs through the pipeline
    job = hub.run_import("fourover", mode="full_sellable")
    # Then every active product (and only those) is counted once and stored as the catalog has it
    assert counts(job) == ("success", len(sellable), len(sellable), 0)
    assert job["errors"] == [] and job["completed_at"]
    assert sorted(stored_products(hub, supplier["id"])) == sorted(sellable)
    for product_id in sellable:
        assert_canonical(stored_product(hub, supplier["id"], product_id), fake)
    products = [fake.catalog[i] for i in sellable]
    assert any(not p.sizes for p in products) and any(s.code == "2XL" for p in products for s in p.sizes)
    after = hub.api("GET", f"/api/suppliers/{supplier['id']}").json
    assert after["last_full_sync"] == job["started_at"]
    assert after["product_count"] == len(sellable)


def test_first_n_imports_the_first_n_active_products_across_pages(hub, fake) -> None:
    supplier = register(hub, fake)
    job = hub.run_import("fourover", mode="first_n", limit=9)  # more than one listing page of 7
    assert counts(job) == ("success", 9, 9, 0)
    assert sorted(stored_products(hub, supplier["id"])) == sorted(fake.catalog.sellable_ids()[:9])
    assert hub.api("GET", f"/api/suppliers/{supplier['id']}").json["last_full_sync"] is None


def test_closeouts_import_exactly_the_active_closeout_products(hub, fake) -> None:
    supplier = register(hub, fake)
    closeouts = fake.catalog.closeout_ids()
    assert closeouts
    job = hub.run_import("fourover", mode="closeouts")
    assert counts(job) == ("success", len(closeouts), len(closeouts), 0)
    assert sorted(stored_products(hub, supplier["id"])) == sorted(closeouts)
    for product_id in closeouts:
        stored = stored_product(hub, supplier["id"], product_id)
        assert stored["is_closeout"] and all(part["is_closeout"] for part in stored["parts"])
        assert_canonical(stored, fake)


def test_explicit_list_imports_exactly_the_skus_asked_for_and_fails_the_unknown_one(hub, fake) -> None:
    supplier = register(hub, fake)
    mark = len(fake.request_log)
    wanted = [fake.catalog.sellable_ids()[4], fake.catalog.closeout_ids()[0], "no-such-product"]
    job = hub.run_import("fourover", mode="explicit_list", explicit_list=wanted)
    assert counts(job) == ("partial_success", 3, 2, 1)
    expected_errors = [{"sku": "no-such-product", "error": "ProductError: 404 product not found: no-such-product"}]
    assert job["errors"] == expected_errors
    assert error_list(hub, job["id"]) == expected_errors
    assert sorted(stored_products(hub, supplier["id"])) == sorted(wanted[:2])
    # explicit_list makes no listing call
    assert all(r.path != PRODUCTS_PATH for r in fake.request_log[mark:])


def test_delta_imports_only_what_changed_since_the_last_sync(hub, monkeypatch) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    full_at, changed_at, delta_at = now - timedelta(hours=3), now - timedelta(hours=2), now - timedelta(hours=1)
    # Given a catalog of its own (this test changes it) imported in full once
    with running_fake_fourover(products=20, seed=5) as fake:
        supplier = register(hub, fake)
        start_jobs_at(monkeypatch, full_at)
        full = hub.run_import("fourover", mode="full_sellable")
        assert full["status"] == "success"
        assert hub.api("GET", f"/api/suppliers/{supplier['id']}").json["last_full_sync"] == iso(full_at)
        # ...and three of its products change after that sync (the others changed in 2023/2024)
        changed = fake.catalog.sellable_ids()[2:5]
        for product_id in changed:
            fake.catalog[product_id].modified_on = changed_at
        # When a delta import runs
        start_jobs_at(monkeypatch, delta_at)
        mark = len(fake.request_log)
        delta = hub.run_import("fourover", mode="delta")
        # Then it asked for changes since the last sync and imported exactly the changed products
        assert counts(delta) == ("success", 3, 3, 0)
        listings = [r.query for r in fake.request_log[mark:] if r.path == PRODUCTS_PATH]
        assert listings and all("modified_since=" in q for q in listings)
        for product_id in changed:
            stored = stored_product(hub, supplier["id"], product_id)
            assert stored["last_change_date"] == iso(changed_at)
            assert_canonical(stored, fake)
        after = hub.api("GET", f"/api/suppliers/{supplier['id']}").json
        assert (after["last_full_sync"], after["last_delta_sync"]) == (iso(full_at), iso(delta_at))
        # And the next delta starts from that delta: nothing changed since, an empty success
        start_jobs_at(monkeypatch, now)
        again = hub.run_import("fourover", mode="delta")
        assert counts(again) == ("success", 0, 0, 0)


def test_supplier_down_at_discovery_fails_the_job_after_its_retries_and_releases_the_lock(hub) -> None:
    # Given a supplier whose product listing answers HTTP 500 every time
    with running_fake_fourover(products=5, seed=1, list_fault="500") as fake:
        register(hub, fake)
        # When a full import runs (discovery is redelivered, then gives up)
        job = hub.run_import("fourover", mode="full_sellable")
        calls = sum(1 for r in fake.request_log if r.path == PRODUCTS_PATH)
    # Then the job failed with the reason, after exactly its allowed attempts, and the lock is free
    assert job["status"] == "failed" and job["completed_at"]
    assert job["error_log"].startswith("TransientError: ") and "HTTP 500" in job["error_log"]
    assert job["error_log"].endswith("(discovery gave up after 3 attempts)")
    assert calls == 3
    assert hub.start_import("fourover", mode="full_sellable").status == 202


# --- per-product supplier errors --------------------------------------------------------------------


def test_404_for_5_of_100_products_ends_partial_success_with_exactly_those_skus(hub) -> None:
    # Given a supplier with 100 active products that answers 404 for five of them
    with running_fake_fourover(products=108, seed=1) as fake:
        sellable = fake.catalog.sellable_ids()
        assert len(sellable) == 100
        failing = sorted([sellable[0], sellable[13], sellable[50], sellable[51], sellable[99]])
        for product_id in failing:
            fake.set_fault(product_id, "404")
        supplier = register(hub, fake)
        # When a full import runs
        job = hub.run_import("fourover", mode="full_sellable")
    # Then those five failed with the supplier's answer, the other 95 are stored
    assert counts(job) == ("partial_success", 100, 95, 5)
    expected = [{"sku": sku, "error": f"ProductError: 404 product not found: {sku}"} for sku in failing]
    assert sorted(job["errors"], key=lambda e: e["sku"]) == expected
    assert error_list(hub, job["id"]) == expected
    assert sorted(stored_products(hub, supplier["id"])) == sorted(set(sellable) - set(failing))
    assert hub.api("GET", f"/api/suppliers/{supplier['id']}").json["last_full_sync"] == job["started_at"]


# --- credentials ------------------------------------------------------------------------------------


def test_bad_credentials_at_discovery_fail_the_job_and_release_the_lock(hub, fake) -> None:
    # Given a supplier whose private key is wrong (the fake answers 401 to the bad signature)
    wrong = {"api_key": fake.credentials["api_key"], "private_key": "wrong-private-key"}
    register(hub, fake, credentials=wrong)
    # When a full import runs
    job = hub.run_import("fourover", mode="full_sellable")
    # Then the job failed at discovery naming the status, with no secret in the text
    assert job["status"] == "failed" and job["completed_at"]
    assert job["error_log"].startswith("AuthError: supplier rejected credentials (HTTP 401)")
    assert "credentials rejected during discovery" in job["error_log"]
    assert "wrong-private-key" not in job["error_log"]
    # And the lock is gone: a new import of the same mode is accepted
    assert hub.start_import("fourover", mode="full_sellable").status == 202


def test_bad_credentials_at_first_hydration_fail_the_job_and_release_the_lock(hub, fake) -> None:
    # Given a supplier with a wrong private key and an explicit_list import (no listing call)
    wrong = {"api_key": fake.credentials["api_key"], "private_key": "wrong-private-key"}
    supplier = register(hub, fake, credentials=wrong)
    wanted = fake.catalog.sellable_ids()[:12]
    mark = len(fake.request_log)
    # When it runs
    job = hub.run_import("fourover", mode="explicit_list", explicit_list=wanted)
    # Then the first hydration's 401 failed the whole job
    assert job["status"] == "failed" and job["completed_at"]
    assert job["error_log"].startswith("AuthError: supplier rejected credentials (HTTP 401)")
    assert "credentials rejected while hydrating" in job["error_log"]
    assert "wrong-private-key" not in job["error_log"]
    assert len(fake.request_log[mark:]) == 1  # no more calls to a supplier that rejected the credentials
    assert stored_products(hub, supplier["id"]) == {}
    # And once the credentials are fixed, the same import is accepted and succeeds
    res = hub.api("PATCH", f"/api/suppliers/{supplier['id']}", json_body={"auth_config": fake.credentials})
    assert res.status == 200, res.json
    retried = hub.run_import("fourover", mode="explicit_list", explicit_list=wanted)
    assert counts(retried) == ("success", 12, 12, 0)


# --- transient faults -------------------------------------------------------------------------------


def test_http_500_that_recovers_succeeds_and_one_that_persists_fails_after_its_retries(hub) -> None:
    # Given a supplier answering HTTP 500 for one product once, 429 for another once, and 500 always for a third
    with running_fake_fourover(products=12, seed=2) as fake:
        sellable = fake.catalog.sellable_ids()
        recovers, throttled, persists = sellable[1], sellable[3], sellable[6]
        fake.set_fault(recovers, Fault("500", times=1))
        fake.set_fault(throttled, Fault("429", retry_after=1, times=1))
        fake.set_fault(persists, Fault("500"))
        supplier = register(hub, fake)
        # When a full import runs (transient failures are redelivered with backoff)
        job = hub.run_import("fourover", mode="full_sellable")
        attempts = {
            sku: sum(1 for r in fake.request_log if r.path == f"{PRODUCTS_PATH}/{sku}")
            for sku in (recovers, throttled, persists)
        }
    # Then the counts are honest: the recovered products succeeded, the other failed with its reason
    assert counts(job) == ("partial_success", len(sellable), len(sellable) - 1, 1)
    assert [e["sku"] for e in job["errors"]] == [persists]
    error = job["errors"][0]["error"]
    assert error.startswith("TransientError: ") and "HTTP 500" in error
    assert error.endswith("(gave up after 5 attempts)")
    assert attempts == {recovers: 2, throttled: 2, persists: 5}
    products = stored_products(hub, supplier["id"])
    assert recovers in products and throttled in products and persists not in products


# --- no-op re-import --------------------------------------------------------------------------------


def test_reimport_of_an_unchanged_catalog_writes_no_products(hub, fake) -> None:
    # Given a supplier imported in full
    supplier = register(hub, fake)
    first = hub.run_import("fourover", mode="full_sellable")
    assert first["status"] == "success"
    before = stored_products(hub, supplier["id"])
    # When the same, unchanged catalog is imported again
    second = hub.run_import("fourover", mode="full_sellable")
    # Then every product is counted again but none was rewritten
    assert counts(second) == counts(first)
    after = stored_products(hub, supplier["id"])
    assert {k: (v["updated_at"], v["content_hash"]) for k, v in after.items()} == {
        k: (v["updated_at"], v["content_hash"]) for k, v in before.items()
    }
    assert all(v["updated_at"] <= first["completed_at"] for v in after.values())
    assert hub.api("GET", f"/api/suppliers/{supplier['id']}").json["product_count"] == len(before)
