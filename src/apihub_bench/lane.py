"""One throughput lane of ``make bench`` in a process of its own: its own local stack (moto server,
fake supplier, functions) and one 2,000-product import per concurrency given. Prints one JSON line:
the throughput rows and the DynamoDB requests the lane made.

Why lanes: the supplier-bound runs are long by construction (2,000 products at 200 ms per call is
400 s at C=1 and 200 s at C=2 even at the limit), and their single worker spends almost all its time
waiting on the supplier. Run one after another with the other figures they alone would take most
of the 15-minute budget, so C=1 and C=2 each run in a lane beside the main one. A lane cannot share
the main process: the local stack's configuration (endpoint, table names) is process-wide.
"""

from __future__ import annotations

import argparse
import json
import sys

from apihub_bench.awscalls import DynamoDBCalls


def run_lane(products: int, latency_ms: int, concurrencies: list[int]) -> dict[str, object]:
    from apihub_bench.stack import BenchStack

    calls = DynamoDBCalls().install()
    stack = BenchStack(products=products, latency_ms=latency_ms).start()
    rows = []
    try:
        for c in concurrencies:
            rows.append(stack.first_import(c))
    finally:
        stack.stop()
        calls.uninstall()
    return {"throughput": rows, "calls": dict(calls.snapshot())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apihub_bench.lane", description=__doc__)
    parser.add_argument("--products", type=int, required=True)
    parser.add_argument("--latency-ms", type=int, required=True)
    parser.add_argument("--concurrency", type=int, nargs="+", required=True)
    args = parser.parse_args(argv)
    result = run_lane(args.products, args.latency_ms, args.concurrency)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
