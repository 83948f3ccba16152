"""The inventory mode, its storage, the stock reads (stored and live) and the inventory schedule,
end to end through the API on moto (docs/inventory.md). The supplier is ``StockAdapter``
(tests/integration/inventory_support.py): the demo catalog with deterministic stock."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apihub.dal.jobs.keys import GROUP_PREFIX, OUTCOME_ITEMS_PER_TRANSACTION, OUTCOME_PREFIX
from apihub.modes.fetch import STOCK as STOCK_FETCH
from botocore.client import BaseClient

from apihub_bench.awscalls import written_items, written_tables
from tests.integration.batch_copies import two_copies_of_a_batch
from tests.integration.inventory_support import STOCK, register_stock_adapter

PART_KEYS = {"part_id", "color", "size", "quantity_available", "uom", "buy_to_order", "lead_time_days", "locations"}
LOCATION_KEYS = {"location_id", "name", "postal_code", "country", "quantity", "future"}


@pytest.fixture
def stock_hub(hub: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # changed_since holds back its last minutes in AWS; these tests list stock the moment it is written.
    monkeypatch.setenv("APIHUB_INVENTORY_CHANGES_SETTLE_S", "0")
    from apihub.settings import reset_settings

    reset_settings()
    register_stock_adapter()
    STOCK.reset()
    yield hub
    STOCK.reset()


def _supplier(hub: Any, slug: str = "stock", products: int = 5, **config: Any) -> dict[str, Any]:
    """A StockAdapter supplier whose catalog is imported (the inventory mode reads stored products)."""
    supplier = hub.add_supplier(slug, adapter="StockAdapter", protocol_config={"products": products, **config})
    job = hub.run_import(slug, mode="full_sellable")
    assert job["status"] == "success" and job["total_products"] == products, job
    return supplier


def _inventory(hub: Any, slug: str, sku: str, **query: Any) -> Any:
    return hub.api(
        "GET", f"/api/suppliers/{slug}/products/{sku}/inventory", query={k: str(v) for k, v in query.items()}
    )


# ------------------------------------------------------------------ the mode


def test_an_inventory_import_reads_the_stock_of_every_stored_product_and_answers_it_per_part_and_warehouse(
    stock_hub,
) -> None:
    hub = stock_hub
    _supplier(hub, products=5)
    calls_before = len(STOCK.calls)

    job = hub.run_import("stock", mode="inventory")

    assert (job["job_type"], job["status"], job["total_products"]) == ("import:inventory", "success", 5)
    assert (job["success_count"], job["failed_count"]) == (5, 0)
    assert len(STOCK.calls) - calls_before == 5  # one inventory call per stored product, no listing call
    res = _inventory(hub, "stock", "DEMO-00002")
    assert res.status == 200, res.json
    body = res.json
    assert (body["product_id"], body["source"], body["stale"]) == ("DEMO-00002", "stored", False)
    assert body["as_of"] >= job["started_at"]
    assert len(body["parts"]) == 4 and set(body["parts"][0]) == PART_KEYS
    location = body["parts"][0]["locations"][1]
    assert set(location) == LOCATION_KEYS and location["future"] == [{"quantity": 100.0, "available_on": "2027-01-15"}]
    assert body["parts"][0]["quantity_available"] == sum(loc["quantity"] for loc in body["parts"][0]["locations"])
    # A stock change never rewrites the product; the product says when its stock was confirmed
    product = hub.api("GET", "/api/suppliers/stock/products/DEMO-00002").json
    assert product["inventory_as_of"] == body["as_of"] and "parts" in product


def test_an_inventory_import_of_an_explicit_list_reads_only_those_and_records_failures_once(stock_hub) -> None:
    hub = stock_hub
    _supplier(hub, products=5)
    STOCK.fail_skus = {"DEMO-00003"}

    job = hub.run_import("stock", mode="inventory", explicit_list=["DEMO-00001", "DEMO-00003", "DEMO-00001"])

    assert (job["status"], job["total_products"], job["success_count"], job["failed_count"]) == (
        "partial_success",
        2,
        1,
        1,
    )
    assert job["errors"] == [{"sku": "DEMO-00003", "error": "ProductError: 600 Product Id not found: DEMO-00003"}]
    assert _inventory(hub, "stock", "DEMO-00001").status == 200
    assert _inventory(hub, "stock", "DEMO-00003").status == 404


def test_retrying_an_inventory_jobs_failures_reads_their_stock_again(stock_hub) -> None:
    hub = stock_hub
    _supplier(hub, products=4)
    STOCK.fail_skus = {"DEMO-00002", "DEMO-00004"}
    job = hub.run_import("stock", mode="inventory")
    assert job["failed_count"] == 2
    STOCK.fail_skus = set()
    calls = len(STOCK.calls)

    res = hub.api("POST", f"/api/sync-jobs/{job['id']}/retry", query={"failed_only": "true"})

    assert res.status == 201, res.json
    assert (res.json["job_type"], res.json["params"]["explicit_list"]) == (
        "import:inventory",
        ["DEMO-00002", "DEMO-00004"],
    )
    hub.drain()
    retried = hub.job(res.json["id"])
    assert (retried["status"], retried["success_count"]) == ("success", 2)
    assert len(STOCK.calls) - calls == 2  # stock calls, not catalog hydrations
    assert _inventory(hub, "stock", "DEMO-00004").status == 200


def test_a_supplier_without_an_inventory_service_is_refused_the_mode_naming_it(stock_hub) -> None:
    hub = stock_hub
    hub.add_supplier("plain", adapter="CatalogOnlyAdapter", protocol_config={"products": 3})

    res = hub.start_import("plain", mode="inventory")

    assert res.status == 422 and res.json["detail"].startswith("mode: inventory is not supported"), res.json
    assert "serves_inventory" in res.json["detail"]
    assert hub.api("GET", "/api/sync-jobs").json == []


def test_the_inventory_lock_is_independent_of_catalog_imports_and_one_per_supplier(stock_hub) -> None:
    hub = stock_hub
    _supplier(hub, products=3)

    catalog = hub.start_import("stock", mode="full_sellable")
    first = hub.start_import("stock", mode="inventory")
    second = hub.start_import("stock", mode="inventory")

    assert (catalog.status, first.status) == (202, 202), (catalog.json, first.json)
    assert second.status == 409 and first.json["sync_job_id"] in second.json["detail"]
    hub.drain()
    assert hub.job(first.json["sync_job_id"])["status"] == "success"
    assert hub.start_import("stock", mode="inventory").status == 202  # the lock went with the job


# ------------------------------------------------------------------ storage


class WriteCounter:
    """DynamoDB writes by table while installed: items put, updated or deleted (a transaction's items
    counted one by one), as botocore sends them (``apihub_bench.awscalls``, as make bench counts)."""

    def __init__(self) -> None:
        self.items: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.outcome_transactions = 0  # transactions recording product outcomes

    def record(self, operation: str, params: dict[str, Any]) -> None:
        self.items.update(written_items(operation, params))
        self.calls.update(written_tables(operation, params))
        if operation == "TransactWriteItems":
            outcomes = [  # outcome groups (updated), or a failure's detail item (put)
                a
                for a in params["TransactItems"]
                if a.get("Update", {}).get("Key", {}).get("sk", {}).get("S", "").startswith(GROUP_PREFIX)
                or a.get("Put", {}).get("Item", {}).get("sk", {}).get("S", "").startswith(OUTCOME_PREFIX)
            ]
            self.outcome_transactions += 1 if outcomes else 0


@pytest.fixture
def count_writes(monkeypatch: pytest.MonkeyPatch) -> WriteCounter:
    counter = WriteCounter()
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            counter.record(operation, params)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return counter


def test_an_unchanged_rerun_writes_at_most_five_hundredths_of_a_write_per_product(stock_hub, count_writes) -> None:
    # Given N products whose stock an inventory job stored
    hub = stock_hub
    n = 200
    _supplier(hub, products=n)
    from apihub.settings import get_settings

    inventory_table = get_settings().inventory_table
    first = hub.run_import("stock", mode="inventory")
    assert first["success_count"] == n and count_writes.items[inventory_table] == n

    # When the stock is unchanged and the job runs again
    count_writes.items.clear()
    count_writes.calls.clear()
    count_writes.outcome_transactions = 0
    second = hub.run_import("stock", mode="inventory")

    # Then it succeeded for every product and wrote (almost) nothing for the stock
    assert second["success_count"] == n
    stock_writes = count_writes.items[inventory_table]
    per_product = stock_writes / n
    total = sum(count_writes.items.values())
    print(  # the figure docs/inventory.md quotes (run with -s)
        f"unchanged re-run of {n} products: {stock_writes} inventory-table writes ({per_product:.3f}/product); "
        f"all tables: {total} items written ({total / n:.2f}/product, the job's exactly-once outcomes included)"
        f"; {sum(count_writes.calls.values())} write requests {dict(count_writes.calls)}"
    )
    assert per_product <= 0.05
    # And its outcomes took as few transactions as 100 items allow (an unchanged SKU is one item):
    # the SKUs came 100 to a message, 500 to an invocation, committed 98 at a time
    assert count_writes.outcome_transactions == math.ceil(
        n / STOCK_FETCH.outcomes_per_commit(OUTCOME_ITEMS_PER_TRANSACTION)
    )
    # And as_of stays honest: the stock is confirmed as of the second job's start, without a write
    body = _inventory(hub, "stock", "DEMO-00007").json
    assert body["as_of"] == second["started_at"] > first["started_at"]


def test_the_stored_listing_reads_product_ids_from_the_keys_only_index(stock_hub, monkeypatch) -> None:
    # Given stored products (each item holds its whole compressed body)
    hub = stock_hub
    _supplier(hub, products=5)
    from apihub.settings import get_settings

    from apihub_local.template import Template

    products_table = get_settings().products_table
    queries: list[dict[str, Any]] = []
    original = BaseClient._make_api_call

    def recording(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "Query" and params.get("TableName") == products_table:
            queries.append(params)
        return original(self, operation, params)

    # When an inventory job lists every stored product
    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    job = hub.run_import("stock", mode="inventory")

    # Then it read them all from an index holding keys only: DynamoDB bills a Query by the size of
    # the items it reads, so the table's own Query would cost every product's body on every run
    assert job["success_count"] == 5 and queries
    assert {q.get("IndexName") for q in queries} == {"product_ids"}
    (index,) = [
        g
        for g in Template().resources["ProductsTable"]["Properties"]["GlobalSecondaryIndexes"]
        if g["IndexName"] == "product_ids"
    ]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_only_changed_stock_is_written_and_listed_by_changed_since(stock_hub, count_writes) -> None:
    hub = stock_hub
    _supplier(hub, products=6)
    hub.run_import("stock", mode="inventory")
    between = datetime.now(UTC)
    from apihub.settings import get_settings

    table = get_settings().inventory_table
    count_writes.items.clear()
    STOCK.revision, STOCK.changed = 1, {"DEMO-00002", "DEMO-00005"}

    hub.run_import("stock", mode="inventory")

    assert count_writes.items[table] == 2
    since = between.isoformat().replace("+00:00", "Z")
    first = hub.api("GET", "/api/suppliers/stock/inventory", query={"changed_since": since, "limit": "1"})
    assert first.status == 200 and len(first.json) == 1 and first.headers.get("x-next-token"), first.json
    token = first.headers["x-next-token"]
    rest = hub.api(
        "GET", "/api/suppliers/stock/inventory", query={"changed_since": since, "limit": "1", "next_token": token}
    )
    listed = [c["product_id"] for c in first.json + rest.json]
    assert sorted(listed) == ["DEMO-00002", "DEMO-00005"]
    assert set(first.json[0]) == {"product_id", "changed_at", "as_of", "last_modified"}
    everything = hub.api("GET", "/api/suppliers/stock/inventory", query={"changed_since": "2000-01-01T00:00:00Z"})
    assert len(everything.json) == 6
    # A cursor belongs to its list: another changed_since is a 400 naming next_token
    other = hub.api(
        "GET",
        "/api/suppliers/stock/inventory",
        query={"changed_since": "2000-01-01T00:00:00Z", "next_token": token},
    )
    assert other.status == 400 and "next_token" in other.json["detail"]
    # Not a date and time: a word, a bare number (pydantic would read 0 as the epoch), a date, month 13
    for value in ("yesterday", "0", "0.5", "2000-01-01", "2000-13-01T00:00:00Z"):
        bad = hub.api("GET", "/api/suppliers/stock/inventory", query={"changed_since": value})
        assert bad.status == 422 and "changed_since" in str(bad.json), (value, bad.json)


# ------------------------------------------------------------------ reading: 404s and 422s


def test_unknown_products_and_unknown_stock_are_404_and_a_bad_max_age_is_a_422_naming_it(stock_hub) -> None:
    hub = stock_hub
    _supplier(hub, products=3)

    assert _inventory(hub, "stock", "NOPE").status == 404
    assert _inventory(hub, "stock", "NOPE", max_age_s=0).status == 404  # unknown product: no supplier call
    res = _inventory(hub, "stock", "DEMO-00001")
    assert res.status == 404 and "Inventory not found" in res.json["detail"]
    assert _inventory(hub, "nobody", "DEMO-00001").status == 404
    for bad in ("-1", "86401", "soon"):
        res = _inventory(hub, "stock", "DEMO-00001", max_age_s=bad)
        assert res.status == 422 and "max_age_s" in str(res.json), (bad, res.json)
    assert STOCK.calls_for("NOPE") == 0


# ------------------------------------------------------------------ reading: live


def test_a_fresh_enough_copy_is_answered_stored_and_an_older_one_is_read_live_and_stored(stock_hub) -> None:
    hub = stock_hub
    _supplier(hub, products=3)
    hub.run_import("stock", mode="inventory")
    calls = STOCK.calls_for("DEMO-00001")

    fresh = _inventory(hub, "stock", "DEMO-00001", max_age_s=3600)
    assert fresh.json["source"] == "stored" and STOCK.calls_for("DEMO-00001") == calls

    STOCK.revision = 2
    live = _inventory(hub, "stock", "DEMO-00001", max_age_s=0)
    assert live.status == 200 and (live.json["source"], live.json["stale"]) == ("live", False), live.json
    assert STOCK.calls_for("DEMO-00001") == calls + 1
    assert live.json["as_of"] > fresh.json["as_of"] and live.json["parts"] != fresh.json["parts"]
    # Stored (change-only): the next plain read is the live one's content
    assert _inventory(hub, "stock", "DEMO-00001").json["parts"] == live.json["parts"]


def test_a_live_read_makes_one_supplier_call_and_only_the_aws_calls_it_needs(stock_hub, monkeypatch) -> None:
    # Given stored stock of a supplier with credentials, and one live read made (the container's
    # adapter is built, its credentials decrypted)
    hub = stock_hub
    secret = {"id": "reader", "password": "s3cret"}
    hub.add_supplier("stock", adapter="StockAdapter", protocol_config={"products": 3}, auth_config=secret)
    assert hub.run_import("stock", mode="full_sellable")["status"] == "success"
    hub.run_import("stock", mode="inventory")
    assert _inventory(hub, "stock", "DEMO-00001", max_age_s=0).json["source"] == "live"
    STOCK.revision = 3  # the next read finds changed stock: it is stored as well
    calls: Counter[tuple[str, str]] = Counter()
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        calls[(self.meta.service_model.service_name, operation)] += 1
        return original(self, operation, params)

    # When another product is read live
    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    supplier_calls = len(STOCK.calls)
    live = _inventory(hub, "stock", "DEMO-00002", max_age_s=0)
    monkeypatch.undo()

    # Then the supplier is called once and the answer is its stock, stored
    assert live.status == 200 and live.json["source"] == "live" and len(STOCK.calls) == supplier_calls + 1
    assert _inventory(hub, "stock", "DEMO-00002").json["parts"] == live.json["parts"]
    # And besides the caller's token, AWS sees only: the supplier and the stored stock read once each,
    # the product's live-read lease taken and handed back, the supplier's slot (its free slots read,
    # one leased and handed back, its 429 penalty read) and the changed stock's put. No credentials
    # decrypted again (the adapter is the container's), no confirmed as_of worked out (max_age_s 0:
    # every stored copy is too old), nothing read twice.
    dynamodb = {op: n for (service, op), n in calls.items() if service == "dynamodb"}
    assert not [key for key in calls if key[0] == "kms"], calls
    token_reads = 1  # the authorizer's GetItem of the bearer token
    slug_lookup = 1  # the supplier named by slug: its index, then its item
    assert dynamodb == {"GetItem": 2 + 1 + token_reads, "UpdateItem": 4, "Query": 1 + slug_lookup, "PutItem": 1}


def test_a_supplier_down_answers_the_stored_copy_stale_or_503_with_retry_after_when_nothing_is_stored(
    stock_hub,
) -> None:
    hub = stock_hub
    _supplier(hub, products=3)
    hub.run_import("stock", mode="inventory", explicit_list=["DEMO-00001"])
    STOCK.down = True

    stale = _inventory(hub, "stock", "DEMO-00001", max_age_s=0)
    assert stale.status == 200 and (stale.json["source"], stale.json["stale"]) == ("stored", True), stale.json
    assert "503" in stale.json["warning"]

    nothing = _inventory(hub, "stock", "DEMO-00002", max_age_s=0)
    assert nothing.status == 503 and int(nothing.headers["retry-after"]) >= 1, nothing.json


def _concurrently(n: int, fn: Any) -> list[Any]:
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_concurrent_live_reads_of_one_product_make_one_supplier_call(stock_hub) -> None:
    hub = stock_hub
    _supplier(hub, products=3)
    # Six warm execution environments (the local runtime loads one per concurrent invocation: cold
    # starts would otherwise spread the readers over seconds)
    assert {r.status for r in _concurrently(6, lambda _: _inventory(hub, "stock", "NOPE"))} == {404}
    STOCK.delay_s = 1.0  # the supplier is slow: every reader arrives while the first call is out

    results = _concurrently(6, lambda _: _inventory(hub, "stock", "DEMO-00003", max_age_s=0))

    assert [r.status for r in results] == [200] * 6, [r.json for r in results]
    assert {r.json["source"] for r in results} == {"live"}
    assert len({str(r.json["parts"]) for r in results}) == 1
    assert STOCK.calls_for("DEMO-00003") == 1


def test_live_reads_go_through_the_suppliers_rate_limit(stock_hub) -> None:
    # Given a supplier allowing 2 calls a second, one at a time
    hub = stock_hub
    _supplier(hub, products=4)
    hub.api(
        "PATCH",
        "/api/suppliers/stock",
        json_body={"protocol_config": {"products": 4, "rate_limit_per_s": 2, "max_concurrency": 1, "rate_burst": 1}},
    )
    STOCK.calls.clear()

    # When four products are read live at once
    skus = [f"DEMO-0000{i}" for i in range(1, 5)]
    results = _concurrently(4, lambda i: _inventory(hub, "stock", skus[i], max_age_s=0))

    # Then each was read, the calls spaced by the rate
    assert [r.status for r in results] == [200] * 4, [r.json for r in results]
    times = sorted(t for _, t in STOCK.calls)
    assert len(times) == 4
    assert times[-1] - times[0] >= 3 / 2 * 0.9, times


def test_a_live_read_our_rate_limit_refuses_is_stale_or_503(stock_hub) -> None:
    # Given a supplier allowing one call per 100 s, whose one call was just spent
    hub = stock_hub
    _supplier(hub, products=3)
    hub.run_import("stock", mode="inventory", explicit_list=["DEMO-00001"])
    hub.api(
        "PATCH",
        "/api/suppliers/stock",
        json_body={"protocol_config": {"products": 3, "rate_limit_per_s": 0.01, "max_concurrency": 1, "rate_burst": 1}},
    )
    assert _inventory(hub, "stock", "DEMO-00003", max_age_s=0).json["source"] == "live"
    calls = len(STOCK.calls)

    # When more live reads are asked for: no supplier call
    stale = _inventory(hub, "stock", "DEMO-00001", max_age_s=0)
    refused = _inventory(hub, "stock", "DEMO-00002", max_age_s=0)

    assert len(STOCK.calls) == calls
    assert stale.status == 200 and stale.json["stale"] is True and "rate limit" in stale.json["warning"], stale.json
    assert refused.status == 503 and int(refused.headers["retry-after"]) >= 1, refused.json


# ------------------------------------------------------------------ schedules and health


def test_an_inventory_schedule_shorter_than_one_pass_at_the_rate_limit_is_refused_naming_both(stock_hub) -> None:
    hub = stock_hub
    _supplier(hub, products=100, rate_limit_per_s=0.1)  # one pass: 100 / 0.1 = 1,000 s

    res = hub.api("PATCH", "/api/suppliers/stock", json_body={"schedules": {"inventory": {"every": "15m"}}})

    assert res.status == 422, res.json
    detail = res.json["detail"]
    assert detail.startswith("schedules.inventory.every: 15m (900 s)") and "1,000 s" in detail, detail
    assert "100 products" in detail and "rate_limit_per_s 0.1" in detail
    ok = hub.api("PATCH", "/api/suppliers/stock", json_body={"schedules": {"inventory": {"every": "30m"}}})
    assert ok.status == 200 and ok.json["schedules"] == {"inventory": {"every": "30m"}}
    # Lowering the rate limit under the schedule is refused the same way
    slower = hub.api("PATCH", "/api/suppliers/stock", json_body={"protocol_config": {"rate_limit_per_s": 0.01}})
    assert slower.status == 422 and "schedules.inventory.every: 30m" in slower.json["detail"]
    bad = hub.api("PATCH", "/api/suppliers/stock", json_body={"schedules": {"inventory": {"every": "2h"}}})
    assert bad.status == 422 and "inventory" in bad.json["detail"]


def test_the_inventory_schedule_starts_due_suppliers_once_per_period_and_skips_and_counts_a_run_still_going(
    stock_hub,
) -> None:
    from apihub.jobs.schedules import run_scheduled_imports
    from apihub.models import DiscoveryMode

    hub = stock_hub
    _supplier(hub, products=3)
    _supplier(hub, "unscheduled", products=2)  # default: off
    hub.api("PATCH", "/api/suppliers/stock", json_body={"schedules": {"inventory": {"every": "1h"}}})
    hour = datetime(2026, 11, 30, 10, 7, tzinfo=UTC)

    started = run_scheduled_imports(DiscoveryMode.inventory, now=hour)
    again = run_scheduled_imports(DiscoveryMode.inventory, now=hour + timedelta(minutes=15))  # same hour: not due
    skipped = run_scheduled_imports(DiscoveryMode.inventory, now=hour + timedelta(hours=1))  # due, still running

    assert list(started.started) == ["stock"] and not again.started and not again.already_running
    assert skipped.already_running == {"stock": started.started["stock"]} and not skipped.started
    supplier = hub.api("GET", "/api/suppliers/stock").json
    assert supplier["inventory_runs_skipped"] == 1 and supplier["inventory_last_skipped_at"].startswith("2026-11-30T11")
    hub.drain()
    later = run_scheduled_imports(DiscoveryMode.inventory, now=hour + timedelta(hours=2))
    assert list(later.started) == ["stock"]  # not queued: the next period's run, once the last one ended


def test_health_shows_stock_age_per_supplier_and_its_last_inventory_job(stock_hub) -> None:
    hub = stock_hub
    _supplier(hub, products=4)
    hub.api("PATCH", "/api/suppliers/stock", json_body={"schedules": {"inventory": {"every": "4h"}}})
    job = hub.run_import("stock", mode="inventory")

    (row,) = [r for r in hub.api("GET", "/api/sync-jobs/health").json if r["slug"] == "stock"]

    assert row["inventory_products"] == 4 and row["inventory_every"] == "4h"
    assert 0 <= row["inventory_age_p50_s"] <= row["inventory_age_p95_s"] < 600
    assert row["last_inventory_job"]["id"] == job["id"] and row["last_inventory_job"]["status"] == "success"
    assert row["last_job"]["id"] == job["id"]


class ReadCounter:
    """DynamoDB items read while installed (a Query's or Scan's Count, a GetItem's item, a batch's
    responses), as the answers come back."""

    def __init__(self) -> None:
        self.items = 0
        self.calls = 0

    def record(self, operation: str, response: dict[str, Any]) -> None:
        if operation in {"Query", "Scan"}:
            self.items += int(response.get("Count", 0))
        elif operation == "GetItem":
            self.items += 1 if "Item" in response else 0
        elif operation == "BatchGetItem":
            self.items += sum(len(found) for found in response.get("Responses", {}).values())
        else:
            return
        self.calls += 1


def _health_reads(hub: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[ReadCounter, dict[str, Any]]:
    """What one health request reads, and its rows by slug."""
    counter = ReadCounter()
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        response = original(self, operation, params)
        if self.meta.service_model.service_name == "dynamodb":
            counter.record(operation, response)
        return response

    with monkeypatch.context() as patched:
        patched.setattr(BaseClient, "_make_api_call", counting)
        rows = hub.api("GET", "/api/sync-jobs/health").json
    return counter, {r["slug"]: r for r in rows}


def test_health_reads_as_much_for_a_supplier_of_30_products_as_for_one_of_3(stock_hub, monkeypatch) -> None:
    # Given what health reads for the suppliers there are (one with stock: every request shape occurs)
    hub = stock_hub
    _supplier(hub, "first", products=1)
    hub.run_import("first", mode="inventory")
    before, _ = _health_reads(hub, monkeypatch)
    # When a supplier of 3 products has its stock read by an inventory job, then one of 30
    _supplier(hub, "small", products=3)
    hub.run_import("small", mode="inventory")
    with_small, _ = _health_reads(hub, monkeypatch)
    _supplier(hub, "large", products=30)
    job = hub.run_import("large", mode="inventory")
    with_both, rows = _health_reads(hub, monkeypatch)

    # Then the second supplier's row cost what the first one's did: items and requests per
    # supplier, none per product
    small_row = (with_small.items - before.items, with_small.calls - before.calls)
    large_row = (with_both.items - with_small.items, with_both.calls - with_small.calls)
    assert large_row == small_row
    # And each still answers its products' stock ages, as of its inventory job
    assert rows["small"]["inventory_products"] == 3 and rows["large"]["inventory_products"] == 30
    assert 0 <= rows["large"]["inventory_age_p50_s"] <= rows["large"]["inventory_age_p95_s"] < 600
    assert rows["large"]["last_inventory_job"]["id"] == job["id"]


def test_two_copies_of_an_inventory_batch_at_once_count_each_product_once_and_store_its_stock_once(
    stock_hub, monkeypatch
) -> None:
    # Given a running inventory job, and two copies of a batch of its hydrate messages that both
    # read every product's stock before either commits
    hub = stock_hub
    _supplier(hub, products=25)

    copies = two_copies_of_a_batch(hub, monkeypatch, "stock", "inventory")

    # Then each product counts once, and its stock was written once
    assert [r["batchItemFailures"] for r in copies.results] == [[], []]
    job = hub.job(copies.job_id)
    assert job["success_count"] == len(copies.skus) and job["failed_count"] == 0
    # (the losing copy's puts were in its cancelled transaction: the table holds one item each)
    stored = hub.api("GET", "/api/suppliers/stock/inventory", query={"changed_since": "2000-01-01T00:00:00Z"}).json
    assert sorted(c["product_id"] for c in stored) == sorted(copies.skus)
    # And the rest of the job still ends exact (the batch acknowledged, as the event source would)
    copies.acknowledge()
    hub.drain()
    done = hub.job(copies.job_id)
    assert (done["status"], done["success_count"], done["total_products"]) == ("success", 25, 25)
