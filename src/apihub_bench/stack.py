"""The local stack, assembled for measurement from the same parts as ``make run``
(``apihub_local``): a moto server process, the template's resources and functions (``Harness``),
the discovery and hydrate event source mappings (``Pollers``), the HTTP server (``LocalApi``) and a
fake PromoStandards supplier process. Unlike ``make run`` it writes no CLI config or state file,
registers its own suppliers, and runs the hydrate mapping at whatever concurrency a run asks for.

Time is not scaled (``timeout_scale`` 1.0): the functions get the template's real timeouts, so a
hydrate invocation works through its whole batch as it would in Lambda.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from apihub_local.children import Child, start_child
from apihub_local.harness import UNBOUND_LIMITS, Harness
from apihub_local.pollers import Pollers
from apihub_local.server import LocalApi
from apihub_local.sqs import EventSourceMapping
from apihub_local.stack import start_functions_on_moto, stop_in_order

TERMINAL = ("success", "partial_success", "failed")


def catalog_size_for(sellable: int, seed: int) -> int:
    """Catalog size whose fake PromoStandards catalog has exactly ``sellable`` sellable products
    (about 1 in 20 generated products is not sellable)."""
    from apihub_fakes.promostandards import generate_catalog

    n = round(sellable / 0.95)
    while True:
        got = len(generate_catalog(n, seed).sellable_ids)
        if got == sellable:
            return n
        n += 1 if got < sellable else -1


@dataclass
class ImportRun:
    job: dict[str, Any]
    seconds: float  # job started_at -> completed_at
    wall_s: float  # POST -> terminal status seen


@dataclass
class BenchStack:
    products: int
    latency_ms: int
    seed: int = 1
    children: list[Child] = field(default_factory=list)
    hub: Harness | None = None
    api: LocalApi | None = None
    discovery_pollers: Pollers | None = None
    fake: dict[str, Any] = field(default_factory=dict)

    def start(self) -> BenchStack:
        self.hub, _ = start_functions_on_moto(
            self.children,
            timeout_scale=1.0,
            environment={"APIHUB_ALLOW_INSECURE_URLS": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"},
        )
        size = catalog_size_for(self.products, self.seed)
        args = ["-m", "apihub_local.children", "apihub_fakes.promostandards", "--port", "0"]
        args += ["--products", str(size), "--seed", str(self.seed), "--latency-ms", str(self.latency_ms)]
        fake = start_child("fake PromoStandards supplier", args)
        self.children.append(fake)
        self.fake = fake.info
        self.discovery_pollers = Pollers([self.mapping("DiscoverFunction")])
        self.discovery_pollers.start()
        self.api = LocalApi(self.hub.gateway, 0)
        self.api.start()
        return self

    def stop(self) -> None:
        stop_in_order(self.api, self.discovery_pollers, self.children)

    @property
    def url(self) -> str:
        assert self.api is not None
        return self.api.url

    def mapping(self, logical_id: str) -> EventSourceMapping:
        assert self.hub is not None
        return next(m for m in self.hub.mappings if m.fn.logical_id == logical_id)

    def add_promostandards_supplier(self, slug: str) -> None:
        """The fake supplier with Product Data only (pricing and media switched off), so a product
        costs exactly one supplier call, and limits that never bind (``UNBOUND_LIMITS``)."""
        assert self.hub is not None
        endpoints = {"product_data": self.fake["endpoints"]["product_data"], "pricing": "", "media": ""}
        body = {
            "name": f"Bench {slug}",
            "slug": slug,
            "protocol": "promostandards",
            "adapter_class": "PromoStandardsAdapter",
            "auth_config": self.fake["credentials"],
            "protocol_config": {"endpoints": endpoints, **UNBOUND_LIMITS},
        }
        res = self.hub.api("POST", "/api/suppliers", json_body=body)
        if res.status not in (200, 201):
            raise RuntimeError(f"registering {slug}: HTTP {res.status} {res.json}")

    def first_import(self, concurrency: int) -> dict[str, Any]:
        """The throughput run at ``concurrency``: a first import through a supplier of its own
        (``bench-c<C>``), checked to end in success with every product; returns its ``throughput`` row."""
        from apihub_bench.figures import throughput_row

        slug = f"bench-c{concurrency}"
        self.add_promostandards_supplier(slug)
        run = self.run_import(slug, concurrency)
        status, done = run.job["status"], run.job["success_count"]
        if status != "success" or done != self.products:
            raise RuntimeError(f"C={concurrency}: import ended {status} with {done} products")
        return throughput_row(concurrency, self.latency_ms, done, run.seconds)

    def run_import(self, slug: str, concurrency: int, *, timeout_s: float = 900.0) -> ImportRun:
        """A full_sellable import with the hydrate mapping at ``MaximumConcurrency`` = ``concurrency``."""
        from apihub.models import parse_iso

        assert self.hub is not None
        mapping = self.mapping("HydrateFunction")
        mapping.source.max_concurrency = concurrency
        pollers = Pollers([mapping])
        pollers.start()
        try:
            began = time.monotonic()
            res = self.hub.start_import(slug, mode="full_sellable")
            if res.status != 202:
                raise RuntimeError(f"import {slug}: HTTP {res.status} {res.json}")
            job_id = res.json["sync_job_id"]
            while True:
                job = self.hub.job(job_id)
                if job["status"] in TERMINAL:
                    break
                if time.monotonic() - began > timeout_s:
                    raise RuntimeError(f"import {slug} not finished after {timeout_s:.0f} s: {job}")
                time.sleep(0.5)
            wall = time.monotonic() - began
        finally:
            pollers.stop(timeout_s=10.0)
        started, completed = parse_iso(job["started_at"]), parse_iso(job["completed_at"])
        assert started and completed
        return ImportRun(job=job, seconds=(completed - started).total_seconds(), wall_s=wall)
