"""The realistic catalog's shape as apihub sees it (issue 27): part counts, the supplier calls and
reply bytes a product takes, and the bytes it is stored in.

Each product of a ``generate_realistic_catalog`` sample is hydrated by the real
``PromoStandardsAdapter`` from an in-process fake supplier registered with every endpoint
(Product Data, Pricing, Media), no latency; the stored body is what the hydrate pipeline writes
(``dal/jobs/writes._product_write``: zlib level 6 of the canonical JSON).

    PYTHONPATH=layers/apihub:src .venv/bin/python -m apihub_bench.catalog_shape --products 1000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import zlib
from collections import Counter
from typing import Any

from apihub_fakes.promostandards.realistic import generate_realistic_catalog, percentile, shape_of

# What a products-table item holds besides its body (keys, hash, dates, job id): measured from one
# ``ProductItem.serialize()`` of the bench (names plus values, DynamoDB's size rule).
ITEM_OVERHEAD_BYTES = 190


def measure(products: int = 1000, seed: int = 1) -> dict[str, Any]:
    os.environ.setdefault("APIHUB_ALLOW_INSECURE_URLS", "true")  # the fake answers on loopback http
    from apihub.adapters.base import AdapterContext
    from apihub.adapters.promostandards import PromoStandardsAdapter
    from apihub.models import ProductRef, Protocol
    from apihub.supplier_models import Supplier

    from apihub_fakes.promostandards import running_fake_promostandards

    catalog = generate_realistic_catalog(products, seed)
    shape = shape_of(catalog).as_dict()
    with running_fake_promostandards(products, seed, shape="realistic", record=True) as fake:
        supplier = Supplier(
            id="shape",
            name="Shape",
            slug="shape",
            protocol=Protocol.promostandards,
            adapter_class="PromoStandardsAdapter",
            protocol_config=fake.protocol_config(),
            created_at="2024-01-01T00:00:00.000Z",
        )
        adapter = PromoStandardsAdapter(supplier, AdapterContext(credentials=fake.credentials))
        stored: list[int] = []
        raw: list[int] = []
        for product in catalog.products:
            body = adapter.hydrate(ProductRef(product_id=product.product_id)).model_dump_json().encode()
            raw.append(len(body))
            stored.append(len(zlib.compress(body, 6)) + ITEM_OVERHEAD_BYTES)
        calls = Counter(call.operation for call in fake.calls)
        reply_bytes = sum(len(reply.body) for reply in fake.replies)
    return {
        "products": products,
        "seed": seed,
        **shape,
        "calls_per_product": round(sum(calls.values()) / products, 2),
        "calls": dict(calls),
        "reply_bytes_per_product": round(reply_bytes / products),
        "json_bytes_median": statistics.median(raw),
        "item_bytes_median": statistics.median(stored),
        "item_bytes_p90": percentile(stored, 0.9),
        "item_bytes_max": max(stored),
        "item_bytes_mean": round(statistics.fmean(stored)),
        "write_units_per_product": round(statistics.fmean(-(-size // 1024) for size in stored), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apihub_bench.catalog_shape", description=__doc__)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.products, args.seed), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
