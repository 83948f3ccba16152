"""``python -m apihub_fakes.promostandards --port 8081 --products 200``: the fake as a process.

Prints one JSON line (base_url, endpoints, credentials, directory_url) on stdout once it listens,
then serves until SIGINT/SIGTERM or ``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import sys

from apihub_fakes.http import serve_until_stopped
from apihub_fakes.promostandards.server import DEFAULT_COMPANY_CODE, SHAPES, FakePromoStandards
from apihub_fakes.promostandards.stock import DEFAULT_STOCK_CHURN, STOCK_CHURN_ENV


def parse_faults(values: list[str]) -> dict[str, str]:
    faults: dict[str, str] = {}
    for value in values:
        sku, sep, fault = value.partition("=")
        if not sep:
            raise SystemExit(f"--fault expects SKU=KIND, got {value!r}")
        faults[sku] = fault
    return faults


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apihub_fakes.promostandards", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--products", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--slow-ms", type=int, default=3000)
    parser.add_argument(
        "--fault", action="append", default=[], metavar="SKU=KIND", help="130|malformed|http500|slow|600|999|610|..."
    )
    parser.add_argument("--company-code", default=DEFAULT_COMPANY_CODE)
    parser.add_argument(
        "--stock-churn",
        type=float,
        default=None,
        help=f"share of parts whose stock changes per inventory call (default ${STOCK_CHURN_ENV}, else {DEFAULT_STOCK_CHURN})",
    )
    parser.add_argument("--shape", choices=SHAPES, default="toy", help="the catalog's shape (realistic: issue 27)")
    parser.add_argument("--lifetime", type=float, default=None, help="stop by itself after this many seconds")
    args = parser.parse_args(argv)

    try:
        fake = FakePromoStandards(
            args.products,
            args.seed,
            fault_skus=parse_faults(args.fault),
            latency_ms=args.latency_ms,
            slow_ms=args.slow_ms,
            port=args.port,
            company_code=args.company_code,
            lifetime_s=args.lifetime,
            stock_churn=args.stock_churn,
            shape=args.shape,
        )
    except ValueError as exc:  # a bad knob (e.g. APIHUB_DEMO_STOCK_CHURN): say which, no traceback
        parser.error(str(exc))

    return serve_until_stopped(
        fake,
        lambda: {
            "base_url": fake.base_url,
            "endpoints": fake.endpoints,
            "credentials": fake.credentials,
            "directory_url": fake.directory_url,
            "company_code": fake.company_code,
            "products": len(fake.catalog),
        },
    )


if __name__ == "__main__":
    sys.exit(main())
