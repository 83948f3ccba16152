"""Benchmark: parse + normalise a 400+-part ``getProduct`` reply (shaped like S&S style 6030).

    taskset -c 0 .venv/bin/python bench/parse_bench.py [--runs 50] [--json]

Measures what a hydrate worker does with the reply bytes: safe XML parsing (defusedxml), SOAP
envelope and ServiceMessage checks, and normalisation into the canonical pydantic ``Product``.
No network. Prints the reply size, the part count and the median / p90 / min over ``--runs``
timed runs (after warm-up runs). Budget: median <= 50 ms on one core (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "apihub"), str(ROOT / "src")]

from apihub.adapters.promostandards.product import read_get_product  # noqa: E402

from apihub_fakes.promostandards import ss6030_get_product_response  # noqa: E402

ENDPOINT = "https://promostandards.ssactivewear.com/productdata/v2/productdataservicev2.svc"
BUDGET_MS = 50.0


def measure(runs: int = 50, warmup: int = 5) -> dict[str, float | int]:
    """Parse + normalise the reply ``runs`` times (after ``warmup`` runs); figures in ms."""
    body = ss6030_get_product_response()
    for _ in range(warmup):
        reply = read_get_product(body, image_base_url=ENDPOINT)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        reply = read_get_product(body, image_base_url=ENDPOINT)
        timings.append((time.perf_counter() - started) * 1000)
    product = reply.product
    timings.sort()
    return {
        "bytes": len(body),
        "parts": len(product.parts),
        "colours": len({part.color for part in product.parts}),
        "runs": runs,
        "median_ms": round(statistics.median(timings), 1),
        "p90_ms": round(timings[int(len(timings) * 0.9) - 1], 1),
        "min_ms": round(timings[0], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args(argv)

    m = measure(args.runs, args.warmup)
    median = float(m["median_ms"])
    if args.json:
        print(json.dumps(m))
    else:
        print(f"getProduct reply: {m['bytes']:,} bytes, {m['parts']} parts, {m['colours']} colours")
        print(
            f"parse+normalise over {args.runs} runs: median {median:.1f} ms, p90 {m['p90_ms']:.1f} ms, "
            f"min {m['min_ms']:.1f} ms"
        )
        print(f"budget {BUDGET_MS:.0f} ms: {'OK' if median <= BUDGET_MS else 'OVER BUDGET'}")
    return 0 if median <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
