"""``make bench``'s webhook throughput (issue 23): deliveries per second to one subscriber whose
receiver answers after 200 ms, measured on a small run through the template's delivery mapping and
worker, and its keys in bench/results.json and the page."""

from __future__ import annotations

import copy
import time
from dataclasses import replace
from typing import Any

import pytest

from apihub_bench import report
from apihub_bench.changes import webhook_delivery_rate
from apihub_fakes.webhook_receiver import receiver
from tests.integration.test_webhooks import loopback_hub
from tests.tooling.test_bench_freshness import CHANGES, _info

__all__ = ["loopback_hub"]  # the fixture, shared with tests/integration/test_webhooks.py


def test_the_rate_of_a_small_backlog_at_200_ms_comes_from_the_receipts(loopback_hub) -> None:
    from apihub_local.pollers import Pollers

    hub = loopback_hub
    (mapping,) = [m for m in hub.mappings if m.fn.logical_id == "DeliverWebhookFunction"]
    # Two pollers, as many as this small backlog needs (each takes a batch of the template's size)
    pollers = Pollers([replace(mapping, source=replace(mapping.source, max_concurrency=2))], long_poll_s=1)
    with receiver(path="/rate") as rx:
        sub = hub.api("POST", "/api/subscriptions", json_body={"url": rx.url, "types": ["product.updated"]}).json
        pollers.start()
        try:
            started = time.time()
            figures = webhook_delivery_rate(hub, rx, sub["id"], deliveries=30, latency_ms=200)
        finally:
            pollers.stop(timeout_s=10.0)
        # Every delivery reached the receiver, each answered after 200 ms (the delay is per run only)
        ids = [r["headers"]["Apihub-Event-Id"] for r in rx.requests]
        assert len(set(ids)) == 30 and rx.delays == {}
    times = sorted(r["at"] for r in rx.requests)
    assert figures["webhook_rate_deliveries"] == figures["webhook_rate_delivered"] == 30
    assert figures["webhook_receiver_latency_ms"] == 200
    # The rate is the receipts' own: deliveries after the first over the first-to-last span (how
    # high it is depends on the machine: the local stack runs every invocation in one process)
    assert figures["webhook_deliveries_per_s"] == pytest.approx(29 / (times[-1] - times[0]), abs=0.006)
    assert times[0] >= started
    # And more than two pollers making their deliveries one by one could (2 x 5/s at 200 ms)
    assert figures["webhook_deliveries_per_s"] > 10


def test_results_and_page_carry_the_webhook_rate() -> None:
    info: dict[str, Any] = _info()
    rate = {
        "webhook_rate_deliveries": 500,
        "webhook_rate_delivered": 500,
        "webhook_receiver_latency_ms": 200,
        "webhook_deliveries_per_s": 212.4,
    }
    info["changes"] = copy.deepcopy(CHANGES) | rate
    results = report.results(info, products=2000)
    page = report.markdown(results, info, plot="plot.png")
    assert results["changes"]["webhook_deliveries_per_s"] == 212.4
    assert results["changes"]["webhook_receiver_latency_ms"] == 200
    assert "**212.4\n  deliveries/s**" in page or "**212.4 deliveries/s**" in page
