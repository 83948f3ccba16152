"""``python -m apihub_fakes.fourover --port N --products N``: run the fake as a process (local stack).

Prints one JSON line with ``base_url`` and ``api_key`` once listening, then serves until interrupted.
The private key is the one passed with ``--private-key`` (default: ``DEFAULT_CREDENTIALS``).
"""

from __future__ import annotations

import argparse
import sys

from apihub_fakes.fourover.server import DEFAULT_CREDENTIALS, FakeFourOver
from apihub_fakes.http import serve_until_stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apihub_fakes.fourover", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--products", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--api-key", default=DEFAULT_CREDENTIALS["api_key"])
    parser.add_argument("--private-key", default=DEFAULT_CREDENTIALS["private_key"])
    args = parser.parse_args(argv)

    fake = FakeFourOver(
        products=args.products,
        seed=args.seed,
        latency_ms=args.latency_ms,
        credentials={"api_key": args.api_key, "private_key": args.private_key},
        host=args.host,
        port=args.port,
    )
    return serve_until_stopped(
        fake, lambda: {"base_url": fake.base_url, "api_key": args.api_key, "products": args.products}
    )


if __name__ == "__main__":
    sys.exit(main())
