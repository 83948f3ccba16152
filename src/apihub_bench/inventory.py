"""Issue 14's figures in ``make bench``: the inventory mode against the supplier-bound limit, what
an unchanged re-run writes, and what a live read adds to the supplier's own latency.

Runs on the main lane's stack, on the products the C=10 throughput run stored (so the mode has a
catalog to read without another import): that supplier is registered again with its Inventory
endpoint (same fake, 200 ms a call, stock that never churns), then

1. ``inventory`` job, ``concurrency`` calls in flight: one getInventoryLevels call per product, so
   the limit is the throughput runs' C x 1000 / latency;
2. the same job again, nothing changed at the supplier: DynamoDB write requests per product, the
   inventory table's alone and every table's, and the items every table's requests wrote (a
   transaction's one by one);
3. ``live_reads`` sequential ``GET .../products/{pid}/inventory?max_age_s=0`` over HTTP (every one
   reads the supplier), median wall time minus the fake's latency; and, for scale, the same reads
   of the stored copy (``max_age_s=86400``), which call no supplier.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from apihub_bench.awscalls import DynamoDBCalls, writes
from apihub_bench.figures import p50, per_product, throughput_row
from apihub_bench.stack import BenchStack


def inventory_figures(
    stack: BenchStack, calls: DynamoDBCalls, *, slug: str, concurrency: int, live_reads: int = 20
) -> dict[str, Any]:
    """The ``inventory`` figures of bench/results.json (see the module docstring)."""
    assert stack.hub is not None
    latency = stack.latency_ms
    stack.add_promostandards_supplier(slug, slots=concurrency, latency_ms=latency, inventory=True)
    first = stack.run_import(slug, concurrency, mode="inventory")
    _check(first.job, stack.products)
    row = throughput_row(concurrency, latency, first.job["success_count"], first.seconds)

    tables, items, before = calls.table_writes(), calls.table_items(), calls.snapshot()
    rerun = stack.run_import(slug, concurrency, mode="inventory")
    _check(rerun.job, stack.products)
    delta = calls.table_writes() - tables
    items_written = calls.table_items() - items
    requests = calls.snapshot() - before
    inventory_table = stack.hub.stack.refs["InventoryTable"]  # the table's name on this stack

    supplier_id = stack.hub.api("GET", f"/api/suppliers/{slug}").json["id"]
    listed = stack.hub.api("GET", f"/api/suppliers/{supplier_id}/products", query={"limit": str(live_reads)})
    product_ids = [p["product_id"] for p in listed.json]
    token = stack.hub.admin_token
    timings = [read_ms(stack.url, token, supplier_id, pid, max_age_s=0) for pid in product_ids]
    stored = [read_ms(stack.url, token, supplier_id, pid, max_age_s=86400) for pid in product_ids]
    return {
        "products": row["products"],
        "concurrency": concurrency,
        "latency_ms": latency,
        "products_per_s": row["products_per_s"],
        "limit_per_s": row["limit_per_s"],
        "ratio": row["ratio"],
        "seconds": round(first.seconds, 1),
        "rerun_writes_per_product": {
            "inventory": per_product(delta.get(inventory_table, 0), rerun.job["success_count"]),
            "all": per_product(writes(requests), rerun.job["success_count"]),
            "all_items": per_product(sum(items_written.values()), rerun.job["success_count"]),
        },
        "rerun_writes_by_table": dict(delta),
        "rerun_seconds": round(rerun.seconds, 1),
        "live_reads": len(timings),
        "live_read_ms_p50": round(p50(timings), 1),
        "live_read_added_ms_p50": round(p50(timings) - latency, 1),
        "stored_read_ms_p50": round(p50(stored), 1),
    }


def _check(job: dict[str, Any], products: int) -> None:
    if job["status"] != "success" or job["success_count"] != products:
        raise RuntimeError(f"inventory job ended {job['status']} with {job['success_count']} of {products} products")


def read_ms(url: str, token: str, supplier_id: str, product_id: str, *, max_age_s: int) -> float:
    """Wall time of one inventory read over HTTP, checked to have read the supplier when
    ``max_age_s`` is 0 (the stored copy is always too old) and the stored copy otherwise."""
    path = f"/api/suppliers/{supplier_id}/products/{product_id}/inventory?max_age_s={max_age_s}"
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own loopback server
        body = json.loads(response.read())
    elapsed = (time.perf_counter() - started) * 1000
    expected = "live" if max_age_s == 0 else "stored"
    if body.get("source") != expected:
        raise RuntimeError(f"inventory read of {product_id} answered source {body.get('source')!r}: {body}")
    return elapsed
