"""Benchmark: parse + normalise a 400+-part ``getProduct`` reply (shaped like S&S style 6030).

    taskset -c 0 .venv/bin/python bench/parse_bench.py [--runs 50]

Measures what a hydrate worker does with the reply bytes: safe XML parsing (defusedxml), SOAP
envelope and ServiceMessage checks, and normalisation into the canonical pydantic ``Product``.
No network. Prints the reply size, the part count and the median / p90 / min over ``--runs``
timed runs (after warm-up runs). Budget: median <= 50 ms on one core (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)

    body = ss6030_get_product_response()
    for _ in range(args.warmup):
        reply = read_get_product(body, image_base_url=ENDPOINT)
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        reply = read_get_product(body, image_base_url=ENDPOINT)
        timings.append((time.perf_counter() - started) * 1000)

    product = reply.product
    colours = len({part.color for part in product.parts})
    timings.sort()
    median = statistics.median(timings)
    p90 = timings[int(len(timings) * 0.9) - 1]
    print(f"getProduct reply: {len(body):,} bytes, {len(product.parts)} parts, {colours} colours")
    print(f"parse+normalise over {args.runs} runs: median {median:.1f} ms, p90 {p90:.1f} ms, min {timings[0]:.1f} ms")
    print(f"budget {BUDGET_MS:.0f} ms: {'OK' if median <= BUDGET_MS else 'OVER BUDGET'}")
    return 0 if median <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
