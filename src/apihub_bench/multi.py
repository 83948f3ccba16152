"""Issue 27's multi-supplier run: ``suppliers`` fake suppliers of the realistic shape importing at
once on the local stack, each behind its own limits, against the scale model's prediction.

Each supplier has a fake of its own (a process serving ``products`` realistic products after
``latency_ms``, counting its calls: ``GET /control/stats``) and is registered with
``max_concurrency`` ``slots`` and ``rate_limit_per_s`` ``rate``. The hydrate mapping's
``MaximumConcurrency`` holds every supplier's slots (``BenchStack.invocations_for`` each, summed),
as a deployment sized by docs/benchmarks.md's rule would. All imports start together; the run
ends when every job is terminal. Checked, per supplier: the job ended ``success`` with exactly its
products, and the fake never saw more than ``slots`` calls in flight nor more than the limiter's
bound, ``rate + max(rate, slots)`` calls within one second (``apihub.ratelimit``).

The model's wall time for the same size is ``scale.wall_s``: the slowest supplier at its own
limit, ``products x calls / min(slots x 1000 / latency, rate)``.

    PYTHONPATH=layers/apihub:src .venv/bin/python -m apihub_bench.multi --suppliers 2 --products 50
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from apihub_bench import scale
from apihub_bench.real import CALLS_PER_PRODUCT, control, endpoints_of
from apihub_bench.stack import BenchStack

SUPPLIERS = 20
PRODUCTS = 100  # each (``--multi-products 1000`` for the 20 x 1,000, alone: ``--real-only``)
SLOTS = 4
RATE = 10.0  # calls/s each supplier allows
LATENCY_MS = 200


def rate_bound(rate: float, slots: int) -> float:
    """The most calls the limiter lets start within any one second (``apihub.ratelimit``)."""
    return rate + max(rate, slots)


def supplier_row(
    slug: str, job: dict[str, Any], stats: dict[str, int], *, products: int, slots: int, rate: float
) -> dict[str, Any]:
    """One supplier's outcome: its job exact (``success`` with every product) and its limits kept
    by what its fake saw (``GET /control/stats``)."""
    return {
        "supplier": slug,
        "status": job["status"],
        "success_count": job["success_count"],
        "exact": job["status"] == "success" and job["success_count"] == products,
        "calls": stats["calls"],
        "max_calls_in_1s": stats["max_calls_in_1s"],
        "max_in_flight": stats["max_in_flight"],
        "limits_respected": stats["max_in_flight"] <= slots and stats["max_calls_in_1s"] <= rate_bound(rate, slots),
    }


def multi_supplier(
    stack: BenchStack,
    *,
    suppliers: int = SUPPLIERS,
    products: int = PRODUCTS,
    slots: int = SLOTS,
    rate: float = RATE,
    latency_ms: int = LATENCY_MS,
    timeout_s: float = 1800.0,
) -> dict[str, Any]:
    """results.json ``multi_supplier``."""
    from apihub_local.pollers import Pollers

    assert stack.hub is not None
    fakes = {}
    for n in range(suppliers):
        slug = f"bench-multi-{n:02d}"
        fakes[slug] = stack.add_fake(latency_ms, products, shape="realistic", instance=n + 1)
        stack.register_supplier(slug, fakes[slug], endpoints_of(fakes[slug]), slots=slots, rate_limit_per_s=rate)
    mapping = stack.mapping("HydrateFunction")
    mapping.source.max_concurrency = suppliers * stack.invocations_for(slots)
    pollers = Pollers([mapping])
    pollers.start()
    try:
        began = time.monotonic()
        job_ids = {}
        for slug in fakes:
            res = stack.hub.start_import(slug, mode="full_sellable")
            if res.status != 202:
                raise RuntimeError(f"multi-supplier: import {slug}: HTTP {res.status} {res.json}")
            job_ids[slug] = res.json["sync_job_id"]
        by_id = stack.wait_jobs(list(job_ids.values()), began, timeout_s)
        jobs = {slug: by_id[job_id] for slug, job_id in job_ids.items()}
        wall = time.monotonic() - began
    finally:
        pollers.stop(timeout_s=10.0)
    per_supplier = [
        supplier_row(slug, job, control(fakes[slug], "/control/stats"), products=products, slots=slots, rate=rate)
        for slug, job in jobs.items()
    ]
    workload = scale.Workload(
        products=suppliers * products,
        suppliers=suppliers,
        concurrency=slots,
        latency_ms=latency_ms,
        calls_per_product=CALLS_PER_PRODUCT,
        rate_limit_per_s=rate,
    )
    total = sum(row["success_count"] for row in per_supplier)
    return {
        "suppliers": suppliers,
        "products_per_supplier": products,
        "slots": slots,
        "rate_limit_per_s": rate,
        "latency_ms": latency_ms,
        "products_per_s": round(total / wall, 2),
        "all_exact": all(row["exact"] for row in per_supplier),
        "limits_respected": all(row["limits_respected"] for row in per_supplier),
        "wall_s": round(wall, 1),
        "model_wall_s": round(scale.wall_s(workload), 1),
        "model_products_per_s": round(workload.products_per_s, 2),
        "per_supplier": per_supplier,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apihub_bench.multi", description=__doc__)
    parser.add_argument("--suppliers", type=int, default=SUPPLIERS)
    parser.add_argument("--products", type=int, default=PRODUCTS)
    parser.add_argument("--slots", type=int, default=SLOTS)
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--latency-ms", type=int, default=LATENCY_MS)
    args = parser.parse_args(argv)
    stack = BenchStack(products=args.products, latency_ms=args.latency_ms).start()
    try:
        result = multi_supplier(
            stack,
            suppliers=args.suppliers,
            products=args.products,
            slots=args.slots,
            rate=args.rate,
            latency_ms=args.latency_ms,
        )
    finally:
        stack.stop()
    print(json.dumps(result, indent=2))
    return 0 if result["all_exact"] and result["limits_respected"] else 1


if __name__ == "__main__":
    sys.exit(main())
