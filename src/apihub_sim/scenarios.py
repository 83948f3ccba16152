"""The timing scenarios of issue 12, each one run of the simulation, in two sizes: ``fast`` (for
``make test``: seconds of real time) and ``verify`` (for ``make verify``: the sizes the issue names).

Each returns the run's ``SimFigures``; the tests (``tests/integration/test_aws_timing_simulation.py``)
say what its true end state is. Sizes and script values are derived from the template where the
scenario is about a template value (the read timeout against the hydrate ``Timeout``, the wait
behind a big import against the sweeper's stall limit), so a changed template keeps testing the
same thing.

Run one by hand: ``python -m apihub_sim slow_supplier --size verify``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from apihub.adapters.http import DEFAULT_READ_TIMEOUT
from apihub.settings import get_settings

from apihub_sim.audit import SimFigures
from apihub_sim.world import Simulation

Size = Literal["fast", "verify"]
DAY_S = 24 * 3600


def _roomy(sim: Simulation) -> dict[str, Any]:
    """Supplier limits that never bind (these scenarios are about time, not the rate limiter): a
    slot per hydrate worker and far more calls per second than the workers can make."""
    hydrate = sim.timing.source_for(sim.timing.function_by_folder("hydrate").logical_id)
    return {"rate_limit_per_s": 1000, "max_concurrency": max(64, hydrate.max_concurrency or 0)}


def slow_supplier(size: Size = "fast", seed: int = 0) -> SimFigures:
    """A supplier answering every product call in 25 s, inside its 30 s read timeout: one hydrate
    invocation (``Timeout`` 120 s) cannot hydrate its batch (5 messages of 10 products) in time.
    True end: success, every product counted once, nothing dead-lettered, not swept."""
    with Simulation("slow supplier (25 s per call)", seed=seed) as sim:
        latency = DEFAULT_READ_TIMEOUT - 5  # near the read timeout, not past it
        sim.supplier("slow", products=50 if size == "fast" else 500, hydrate_latency_s=latency, limits=_roomy(sim))
        sim.start_import("slow")
        return sim.run(limit_s=2 * DAY_S)


def retry_after_900(size: Size = "fast", seed: int = 0) -> SimFigures:
    """A supplier answering every product call 429 with ``Retry-After: 900`` for 40 minutes (past
    the sweeper's 30-minute stall limit, and inside the four retries a message has before its last
    receive), then normally. Its rate limits are the layer's defaults (the limiter takes part).
    True end: success, not swept while a retry is due, nothing dead-lettered."""
    with Simulation("429 with Retry-After: 900 for 40 minutes", seed=seed) as sim:
        sim.supplier("busy", products=50 if size == "fast" else 1000, throttle_until_s=40 * 60, retry_after_s=900)
        sim.start_import("busy")
        return sim.run(limit_s=2 * DAY_S)


def queued_behind_big_import(size: Size = "fast", seed: int = 0) -> SimFigures:
    """A small import started just after a big one (``verify``: 50,000 products) on the shared
    hydrate queue with its ``MaximumConcurrency``: the small job's messages wait behind the big
    job's for longer than the sweeper's stall limit. ``fast`` keeps that ratio with the smallest
    deployable configuration (``HydrateMaxConcurrency`` and ``StallMinutes`` at their template
    minimums) and a big import sized from them.
    True end: both success, the small one never swept."""
    from apihub_local.template import Template

    params: dict[str, Any] = {}
    if size == "fast":
        spec = Template().data["Parameters"]
        params = {"HydrateMaxConcurrency": spec["HydrateMaxConcurrency"]["MinValue"]}
        params["StallMinutes"] = spec["StallMinutes"]["MinValue"]
    # Messages of the floor's size (``hydrate_refs_per_message``) whatever the job's size: the
    # arithmetic below sizes the big job by them, and the size a job's messages take is not what
    # this scenario is about (tests/integration/test_hydrate_message_size.py is).
    per_message = get_settings().hydrate_refs_per_message
    environment = {"APIHUB_HYDRATE_REFS_PER_MESSAGE_MAX": str(per_message)}
    with Simulation(
        "small import queued behind a big one", parameters=params, seed=seed, environment=environment
    ) as sim:
        timing = sim.timing
        hydrate = timing.source_for(timing.function_by_folder("hydrate").logical_id)
        workers = hydrate.max_concurrency or 1
        sweep_every = timing.schedule_for(timing.function_by_folder("sweeper").logical_id).period_s
        # The small job must wait past the stall limit with a sweeper tick to spare: the wait is
        # about (big products / workers) x latency, and each worker hydrates one batch (BatchSize
        # messages of per_message products) inside its Timeout less the commit reserve.
        wait_s = timing.stall_minutes * 60 + 2 * sweep_every
        settings = get_settings()
        per_batch = hydrate.batch_size * per_message
        budget_s = timing.functions[hydrate.function].timeout_s - settings.hydrate_time_reserve_ms / 1000 - 5
        slowest = budget_s / per_batch
        big = 50_000 if size == "verify" else math.ceil(wait_s * workers / slowest)
        latency = min(slowest, wait_s * workers / big)
        sim.supplier("big", products=big, hydrate_latency_s=latency, limits=_roomy(sim))
        sim.supplier("small", products=20, hydrate_latency_s=0.5, limits=_roomy(sim))
        sim.start_import("big")
        sim.start_import("small", at=60)
        return sim.run(limit_s=4 * DAY_S)


def discovery_fails_twice(size: Size = "fast", seed: int = 0) -> SimFigures:
    """A supplier whose first two discovery calls answer 503, the third succeeds (the discovery
    queue's redelivery after its visibility timeout, up to its ``maxReceiveCount``).
    True end: success, not swept as "Stalled"."""
    with Simulation("discovery fails twice, then succeeds", seed=seed) as sim:
        sim.supplier("flaky", products=50 if size == "fast" else 2000, discover_failures=2, limits=_roomy(sim))
        sim.start_import("flaky")
        return sim.run(limit_s=2 * DAY_S)


def aws_faults(size: Size = "fast", seed: int = 1, rate: float = 0.1) -> SimFigures:
    """An import while ``rate`` of the functions' DynamoDB and SQS calls answer AWS faults
    (transaction conflicts, throttling, 500s, failed sends: ``apihub_local.aws_faults``).
    True end: every product counted exactly once, none lost, no API 5xx but 503s tried again."""
    from apihub_local.aws_faults import inject_aws_faults

    products = 200 if size == "fast" else 2000
    with Simulation(f"AWS faults on {rate:.0%} of calls", seed=seed) as sim:
        sim.supplier("plain", products=products, hydrate_latency_s=0.2, limits=_roomy(sim))
        with inject_aws_faults(rate, seed=seed) as faults:
            sim.start_import("plain")
            figures = sim.run(limit_s=2 * DAY_S)
        figures.faults = dict(faults.counts)
        return figures


SCENARIOS: dict[str, Callable[..., SimFigures]] = {
    "slow_supplier": slow_supplier,
    "retry_after_900": retry_after_900,
    "queued_behind_big_import": queued_behind_big_import,
    "discovery_fails_twice": discovery_fails_twice,
    "aws_faults": aws_faults,
}

__all__ = ["SCENARIOS", "Size"]
