"""Fan-out of a 100,000-product sellable list into hydrate messages, across continuations."""

from __future__ import annotations

import os
import time
from typing import Any

from apihub_local.harness import UNBOUND_LIMITS, reset_process_state
from apihub_local.runtime import Functions
from apihub_local.sqs import build_mappings, queue_depth

# DiscoverFunction's 300 s timeout and 30 s reserve, scaled down so that 100k products need
# several invocations (each continues through the discovery queue from the stored cursor).
TIME_SCALE = 0.05


def discovery_fan_out(hub: Any, products: int = 100_000, time_scale: float = TIME_SCALE) -> dict[str, Any]:
    """Discover ``products`` DemoAdapter products (no supplier latency, so this is our own cost) and
    send them to the hydrate queue. Runs the discover function with its timeout and time reserve
    scaled by ``time_scale``; nothing hydrates meanwhile. Returns the figures."""
    slug = "bench-discovery"
    hub.add_supplier(slug, adapter="DemoAdapter", protocol_config={"products": products, **UNBOUND_LIMITS})
    functions = Functions(timeout_scale=time_scale)
    timeout_s = functions.defs["DiscoverFunction"].timeout * time_scale
    reserve = str(max(1, round(30_000 * time_scale)))
    mapping = next(m for m in build_mappings(functions, hub.stack, hub.sqs) if m.fn.logical_id == "DiscoverFunction")
    durations: list[float] = []
    real_invoke = functions.invoke

    def timed_invoke(logical_id: str, event: dict[str, Any]) -> Any:
        started = time.monotonic()
        try:
            return real_invoke(logical_id, event)
        finally:
            durations.append(time.monotonic() - started)

    functions.invoke = timed_invoke  # type: ignore[method-assign]  # a deliberate monkeypatch: timed while the figure is taken
    saved = os.environ.get("APIHUB_DISCOVERY_TIME_RESERVE_MS")
    os.environ["APIHUB_DISCOVERY_TIME_RESERVE_MS"] = reserve
    reset_process_state()
    try:
        started = time.monotonic()
        res = hub.start_import(slug, mode="full_sellable")
        if res.status != 202:
            raise RuntimeError(f"import {slug}: HTTP {res.status} {res.json}")
        job_id = res.json["sync_job_id"]
        while mapping.poll_once(wait_seconds=0) or queue_depth(hub.sqs, mapping.queue_url):
            pass
        seconds = time.monotonic() - started
        job = hub.job(job_id)
        hydrate_url = hub.stack.queue_urls["HydrateQueue"]
        messages = queue_depth(hub.sqs, hydrate_url)
    finally:
        if saved is None:
            os.environ.pop("APIHUB_DISCOVERY_TIME_RESERVE_MS", None)
        else:
            os.environ["APIHUB_DISCOVERY_TIME_RESERVE_MS"] = saved
        reset_process_state()
    # End the job (nothing will hydrate it) and drop its messages.
    hub.api("PATCH", f"/api/sync-jobs/{job_id}", json_body={"status": "failed"})
    hub.sqs.purge_queue(QueueUrl=hydrate_url)
    if job.get("total_products") != products:
        raise RuntimeError(f"discovery found {job.get('total_products')} of {products} products")
    return {
        "seconds": round(seconds, 1),
        "products": products,
        "hydrate_messages": messages,
        "invocations": len(durations),
        "max_invocation_s": round(max(durations), 2),
        "timeout_s": timeout_s,
    }
