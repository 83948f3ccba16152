"""The demo suppliers of the local stack: the fake PromoStandards supplier (slug ``demo``) and the
fake 4Over-style REST supplier (slug ``demo-rest``), each its own process on loopback."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from apihub_local.children import Child, start_child

DEMO_SEED = 1
# A later issue enforces these per supplier; the demo suppliers are local and can take anything.
DEMO_LIMITS = {"rate_limit_per_s": 1000, "max_concurrency": 64}


def failing_skus(products: int, rate: float, seed: int = DEMO_SEED) -> list[str]:
    """The demo SKUs that answer a permanent product error: ``round(rate * sellable)`` of them,
    chosen by hashing the SKU, so the same settings always pick the same products."""
    if rate <= 0:
        return []
    from apihub_fakes.promostandards import generate_catalog

    sellable = generate_catalog(products, seed).sellable_ids
    ranked = sorted(sellable, key=lambda sku: hashlib.sha256(sku.encode()).hexdigest())
    return sorted(ranked[: round(rate * len(sellable))])


@dataclass
class DemoSuppliers:
    promostandards: Child
    rest: Child
    rest_credentials: dict[str, str]
    failing: list[str]

    @property
    def children(self) -> list[Child]:
        return [self.promostandards, self.rest]

    def bodies(self) -> list[dict[str, Any]]:
        """``POST /api/suppliers`` bodies registering both fakes."""
        ps = self.promostandards.info
        return [
            {
                "name": "Demo PromoStandards supplier",
                "slug": "demo",
                "protocol": "promostandards",
                "adapter_class": "PromoStandardsAdapter",
                "auth_config": ps["credentials"],
                "protocol_config": {"endpoints": ps["endpoints"], **DEMO_LIMITS},
                # Stock every hour (docs/inventory.md, "Schedules"), prices daily (docs/pricing.md); the other
                # suppliers default to off.
                "schedules": {"inventory": {"every": "1h"}, "prices": {"every": "1d"}},
            },
            {
                "name": "Demo REST supplier",
                "slug": "demo-rest",
                "protocol": "rest_hmac",
                "base_url": self.rest.info["base_url"],
                "adapter_class": "FourOverAdapter",
                "auth_config": self.rest_credentials,
                "protocol_config": dict(DEMO_LIMITS),
            },
        ]


def start_demo_suppliers(products: int, latency_ms: int, fail_rate: float) -> DemoSuppliers:
    failing = failing_skus(products, fail_rate)
    ps_args = ["-m", "apihub_local.children", "apihub_fakes.promostandards", "--port", "0"]
    ps_args += ["--products", str(products), "--seed", str(DEMO_SEED), "--latency-ms", str(latency_ms)]
    for sku in failing:
        ps_args += ["--fault", f"{sku}=130"]  # ServiceMessage 130: Product Id not found (permanent)
    promostandards = start_child("fake PromoStandards supplier", ps_args)
    credentials = {"api_key": f"demo-{secrets.token_hex(8)}", "private_key": secrets.token_urlsafe(24)}
    rest_args = ["-m", "apihub_local.children", "apihub_fakes.fourover", "--port", "0"]
    rest_args += ["--products", str(products), "--seed", str(DEMO_SEED), "--latency-ms", str(latency_ms)]
    # "--opt=value": a generated key may start with "-", which argparse would take for an option.
    rest_args += [f"--api-key={credentials['api_key']}", f"--private-key={credentials['private_key']}"]
    try:
        rest = start_child("fake REST supplier", rest_args)
    except Exception:
        promostandards.stop()
        raise
    return DemoSuppliers(promostandards=promostandards, rest=rest, rest_credentials=credentials, failing=failing)
