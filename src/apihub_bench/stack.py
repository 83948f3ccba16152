"""The local stack, assembled for measurement from the same parts as ``make run``
(``apihub_local``): a moto server process, the template's resources and functions (``Harness``),
the discovery and hydrate event source mappings (``Pollers``), the HTTP server (``LocalApi``) and a
fake PromoStandards supplier process. Unlike ``make run`` it writes no CLI config or state file,
registers its own suppliers, and runs the hydrate mapping at whatever concurrency a run asks for.

Time is not scaled (``timeout_scale`` 1.0): the functions get the template's real timeouts, so a
hydrate invocation works through its whole batch as it would in Lambda.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from apihub_local.children import Child, start_child
from apihub_local.harness import Harness
from apihub_local.pollers import Pollers
from apihub_local.server import LocalApi
from apihub_local.sqs import EventSourceMapping
from apihub_local.stack import start_functions_on_moto, stop_in_order
from apihub_local.streams import StreamPollers

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
    # by (latency ms, products); a realistic one by (latency ms, products, "realistic", instance)
    fakes: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    stream_pollers: StreamPollers | None = None  # started by ``start_change_feed``, not before

    def start(self) -> BenchStack:
        self.hub, _ = start_functions_on_moto(
            self.children,
            timeout_scale=1.0,
            environment={"APIHUB_ALLOW_INSECURE_URLS": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"},
        )
        self.fake = self.add_fake(self.latency_ms)
        self.discovery_pollers = Pollers([self.mapping("DiscoverFunction")])
        self.discovery_pollers.start()
        self.api = LocalApi(self.hub.gateway, 0)
        self.api.start()
        return self

    def add_fake(
        self, latency_ms: int, products: int | None = None, *, shape: str = "toy", instance: int = 0
    ) -> dict[str, Any]:
        """A fake PromoStandards supplier answering after ``latency_ms`` with ``products`` sellable
        products (default: the bench's catalog), started once per latency and size. Its stock never
        churns (``--stock-churn 0``): an inventory re-run finds every product unchanged. ``shape``
        ``"realistic"``: the catalog of real suppliers' shape (``apihub_fakes.promostandards.realistic``);
        ``instance`` tells apart fakes of the same kind (one per supplier of a multi-supplier run,
        each counting its own calls)."""
        products = products or self.products
        key: tuple[Any, ...] = (latency_ms, products)
        if shape != "toy" or instance:
            key = (latency_ms, products, shape, instance)
        if key not in self.fakes:
            # The sellable rule is by index in both shapes, so the toy catalog's size fits both.
            size = catalog_size_for(products, self.seed)
            args = ["-m", "apihub_local.children", "apihub_fakes.promostandards", "--port", "0"]
            args += ["--products", str(size), "--seed", str(self.seed), "--latency-ms", str(latency_ms)]
            args += ["--stock-churn", "0", "--shape", shape]
            fake = start_child(f"fake PromoStandards supplier ({latency_ms} ms, {products} {shape} products)", args)
            self.children.append(fake)
            self.fakes[key] = fake.info
        return self.fakes[key]

    def stop(self) -> None:
        self.stop_change_feed()
        stop_in_order(self.api, self.discovery_pollers, self.children)

    def start_change_feed(self) -> None:
        """Start the stream triggers (``ChangesFunction``, ``DispatchChangesFunction``) as ``make
        run`` does, but from each stream's end: like a mapping created now with ``StartingPosition:
        LATEST``, so the earlier runs' records are not replayed (and the throughput runs before
        it did not pay for the change feed)."""
        from apihub_bench.changes import stream_end

        assert self.hub is not None
        for mapping in self.hub.stream_mappings:
            mapping.position = stream_end(mapping)
        self.stream_pollers = StreamPollers(self.hub.stream_mappings)
        self.stream_pollers.start()

    def stop_change_feed(self) -> None:
        """Stop the stream triggers (their idle polls would load moto during the later figures)."""
        if self.stream_pollers is not None:
            self.stream_pollers.stop(timeout_s=5.0)
            self.stream_pollers = None

    @property
    def url(self) -> str:
        assert self.api is not None
        return self.api.url

    def mapping(self, logical_id: str) -> EventSourceMapping:
        assert self.hub is not None
        return next(m for m in self.hub.mappings if m.fn.logical_id == logical_id)

    def add_promostandards_supplier(
        self,
        slug: str,
        *,
        slots: int = 64,
        latency_ms: int | None = None,
        products: int | None = None,
        inventory: bool = False,
    ) -> None:
        """The fake supplier with Product Data only (pricing and media switched off), so a product
        costs exactly one supplier call; ``slots`` calls in flight at most (its ``max_concurrency``)
        and a rate limit that never binds. With ``inventory`` its Inventory endpoint too (one call
        a product in the inventory mode). Registering a slug again updates that supplier."""
        fake = self.add_fake(latency_ms or self.latency_ms, products)
        endpoints = {"product_data": fake["endpoints"]["product_data"], "pricing": "", "media": ""}
        if inventory:
            endpoints["inventory"] = fake["endpoints"]["inventory"]
        self.register_supplier(slug, fake, endpoints, slots=slots, rate_limit_per_s=1000)

    def register_supplier(
        self, slug: str, fake: dict[str, Any], endpoints: dict[str, str], *, slots: int, rate_limit_per_s: float
    ) -> None:
        """Register (or update) supplier ``slug`` on ``fake`` with those ``endpoints`` and limits."""
        assert self.hub is not None
        body = {
            "name": f"Bench {slug}",
            "slug": slug,
            "protocol": "promostandards",
            "adapter_class": "PromoStandardsAdapter",
            "auth_config": fake["credentials"],
            "protocol_config": {
                "endpoints": endpoints,
                "rate_limit_per_s": rate_limit_per_s,
                "max_concurrency": slots,
            },
        }
        res = self.hub.api("POST", "/api/suppliers", json_body=body)
        if res.status not in (200, 201):
            raise RuntimeError(f"registering {slug}: HTTP {res.status} {res.json}")

    def first_import(self, concurrency: int, latency_ms: int | None = None) -> dict[str, Any]:
        """The throughput run at ``concurrency`` supplier calls in flight: a first import through a
        supplier of its own (``bench-c<C>``, ``max_concurrency`` C), checked to end in success with
        every product; returns its ``throughput`` row."""
        from apihub_bench.figures import throughput_row

        latency_ms = latency_ms or self.latency_ms
        slug = f"bench-c{concurrency}"
        self.add_promostandards_supplier(slug, slots=concurrency, latency_ms=latency_ms)
        run = self.run_import(slug, concurrency, latency_ms=latency_ms)
        status, done = run.job["status"], run.job["success_count"]
        if status != "success" or done != self.products:
            raise RuntimeError(f"C={concurrency}: import ended {status} with {done} products")
        return throughput_row(concurrency, latency_ms, done, run.seconds)

    def invocations_for(self, concurrency: int, latency_ms: int | None = None) -> int:
        """Hydrate ``MaximumConcurrency`` for C calls in flight: each invocation keeps up to
        ``APIHUB_HYDRATE_CALLS_IN_FLIGHT`` (K) of them, so ceil(C / K) invocations hold every slot.
        (A spare invocation waiting for the slots another releases was measured at C=10, 1,000
        products: 31.9 products/s without, 31.2 with one, 27.3 with two: no gain, and its waiting
        is billed. ``latency_ms`` is kept for callers that size by it.)"""
        from apihub.settings import get_settings

        del latency_ms
        return max(1, math.ceil(concurrency / get_settings().hydrate_calls_in_flight))

    def wait_jobs(self, job_ids: list[str], began: float, timeout_s: float) -> dict[str, dict[str, Any]]:
        """Each job of ``job_ids`` once it is terminal, polled through the API; raises when one is
        not ``timeout_s`` after ``began`` (``time.monotonic()``)."""
        assert self.hub is not None
        done: dict[str, dict[str, Any]] = {}
        while True:
            for job_id in job_ids:
                if job_id not in done:
                    job = self.hub.job(job_id)
                    if job["status"] in TERMINAL:
                        done[job_id] = job
            if len(done) == len(job_ids):
                return done
            if time.monotonic() - began > timeout_s:
                raise RuntimeError(
                    f"{len(job_ids) - len(done)} of {len(job_ids)} imports unfinished after {timeout_s:.0f} s"
                )
            time.sleep(0.5)

    def run_import(
        self,
        slug: str,
        concurrency: int,
        *,
        latency_ms: int | None = None,
        timeout_s: float = 900.0,
        mode: str = "full_sellable",
    ) -> ImportRun:
        """An import (``mode``, full_sellable by default) of ``concurrency`` supplier calls in
        flight (the hydrate mapping's ``MaximumConcurrency`` is ``invocations_for(concurrency)``)."""
        from apihub.models import parse_iso

        assert self.hub is not None
        mapping = self.mapping("HydrateFunction")
        mapping.source.max_concurrency = self.invocations_for(concurrency, latency_ms)
        pollers = Pollers([mapping])
        pollers.start()
        try:
            began = time.monotonic()
            res = self.hub.start_import(slug, mode=mode)
            if res.status != 202:
                raise RuntimeError(f"import {slug}: HTTP {res.status} {res.json}")
            job = self.wait_jobs([res.json["sync_job_id"]], began, timeout_s)[res.json["sync_job_id"]]
            wall = time.monotonic() - began
        finally:
            pollers.stop(timeout_s=10.0)
        started, completed = parse_iso(job["started_at"]), parse_iso(job["completed_at"])
        assert started and completed
        return ImportRun(job=job, seconds=(completed - started).total_seconds(), wall_s=wall)
