"""Issue 27's priced runs: the realistic catalog, every feature on, every billed item counted.

On the main lane's stack, after the toy-catalog figures: a fake supplier serving
``generate_realistic_catalog`` (``apihub_fakes.promostandards.realistic``) registered with every
endpoint (Product Data, Pricing, Media: three calls a product), the stream triggers on (change
detection, change log, dispatch) with the webhook delivery mapping and one subscription whose
receiver on 127.0.0.1 receives. Three imports are priced from what they did (``cost.UsageMeter``,
logs counted at the template's ``LogLevel``):

* ``first``: every product new;
* ``reimport``: nothing changed at the supplier;
* ``changed_10pct``: the fake's ``POST /control/change {"reprice": N/10}`` first.

The first import is also ``throughput_real``'s row (products/s against the supplier-bound limit
with the calls a product takes counted).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from apihub_bench import cost
from apihub_bench.changes import subscribed, wait_delivered
from apihub_bench.figures import throughput_row
from apihub_bench.stack import BenchStack

CALLS_PER_PRODUCT = 3  # getProduct, getConfigurationAndPricing, getMediaContent
SLUG = "bench-real"
RECEIVER_LIFETIME_S = 900.0
PHASES = ("first", "reimport", "changed_10pct")


def endpoints_of(fake: dict[str, Any]) -> dict[str, str]:
    """Every endpoint of the fake a product import calls."""
    return {k: fake["endpoints"][k] for k in ("product_data", "pricing", "media")}


def control(fake: dict[str, Any], path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """``POST /control/<path>`` (or ``GET`` without ``body``) on a fake on loopback."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the fake on loopback
        fake["base_url"] + path, data=data, method="POST" if data is not None else "GET"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        result: dict[str, Any] = json.loads(response.read())
        return result


def real_catalog_figures(
    stack: BenchStack,
    meter: cost.UsageMeter,
    *,
    products: int,
    concurrency: int,
    latency_ms: int,
    log_level: str,
) -> dict[str, Any]:
    """The usage of each phase (``PHASES``) and the first import's throughput row."""
    assert stack.hub is not None
    fake = stack.add_fake(latency_ms, products, shape="realistic")
    stack.register_supplier(SLUG, fake, endpoints_of(fake), slots=concurrency, rate_limit_per_s=1000)
    meter.cold_start()  # the earlier runs' environments would be reclaimed by now on AWS
    stop_counting_logs = meter.watch_logs(log_level)
    usage: dict[str, cost.Usage] = {}
    jobs: dict[str, dict[str, Any]] = {}
    row: dict[str, Any] = {}
    try:
        with subscribed(stack, SLUG, path="/bench-real", lifetime_s=RECEIVER_LIFETIME_S) as got:
            for phase in PHASES:
                if phase == "changed_10pct":
                    control(fake, "/control/change", {"reprice": max(1, products // 10)})
                before = meter.snapshot()
                run = stack.run_import(SLUG, concurrency, latency_ms=latency_ms)
                wait_delivered(stack, timeout_s=300.0)  # the feed's work is part of the bill
                usage[phase] = meter.snapshot() - before
                job = run.job
                jobs[phase] = {
                    "status": job["status"],
                    "success_count": job["success_count"],
                    "seconds": round(run.seconds, 1),
                    "events_delivered": len(got.events_of_job(job["id"])),
                }
                if job["status"] != "success" or job["success_count"] != products:
                    raise RuntimeError(f"real catalog {phase}: ended {job['status']} with {job['success_count']}")
                if phase == "first":
                    row = throughput_row(concurrency, latency_ms, products, run.seconds)
                    limit = concurrency * 1000 / latency_ms / CALLS_PER_PRODUCT
                    row |= {"calls_per_product": CALLS_PER_PRODUCT, "limit_per_s": round(limit, 2)}
                    row["ratio"] = round(row["products_per_s"] / limit, 3)
    finally:
        stop_counting_logs()
    stats = control(fake, "/control/stats")
    return {"usage": usage, "jobs": jobs, "throughput": row, "fake_calls": stats, "products": products}


def priced(
    measured: dict[str, Any], memory_mb: dict[str, int], init_ms: dict[str, float], template: Any
) -> dict[str, Any]:
    """``cost_usd_per_100k_real`` and ``cost_breakdown_real`` of results.json from the usage."""
    prices = cost.load_prices()
    products = measured["products"]
    breakdown: dict[str, Any] = {"prices_as_of": prices["as_of"], "products": products}
    totals: dict[str, float] = {}
    for phase, used in measured["usage"].items():
        per = cost.per_100k(cost.bill(used, memory_mb, prices, init_ms), products)
        arm = cost.lambda_arm64(used, memory_mb, prices, init_ms) * 100_000 / products
        invoke, init = cost.gb_s_total(used, memory_mb, init_ms)
        breakdown[phase] = {
            "per_100k": per,
            "total_arm64": round(per["total"] - per["lambda"] + arm, 4),
            "lambda_arm64": round(arm, 4),
            "units": {
                "lambda_requests": dict(used.lambda_requests),
                "lambda_ms": dict(used.lambda_ms),
                "lambda_gb_s_invoke": round(invoke, 2),
                "lambda_gb_s_init": round(init, 2),
                "lambda_inits": dict(used.lambda_inits),
                "ddb_wru": round(used.wru, 1),
                "ddb_rru": round(used.rru, 1),
                "ddb_wru_by_kind": dict(sorted(used.wru_by_kind.items())),
                "requests": dict(used.requests),
                "log_bytes": sum(used.log_bytes.values()),
                "log_bytes_by_function": dict(used.log_bytes),
            },
            "job": measured["jobs"][phase],
        }
        totals[phase] = per["total"]
    last = measured["usage"][PHASES[-1]]
    breakdown["fixed_usd_per_month"] = cost.fixed_per_month(template, last, prices)
    breakdown["memory_mb"] = memory_mb
    breakdown["init_ms"] = init_ms
    return {"cost_usd_per_100k_real": totals, "cost_breakdown_real": breakdown}


def init_ms_by_function(template: Any, cold_import_ms: dict[str, float], floor_ms: float) -> dict[str, float]:
    """Each function's INIT duration: its measured cold import (by folder), else the libraries' floor."""
    return {fn.logical_id: float(cold_import_ms.get(fn.folder, floor_ms)) for fn in template.functions().values()}
