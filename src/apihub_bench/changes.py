"""Issue 15's figures in ``make bench``: how long a change takes from the product's commit to a
webhook receiver, how many events a changed product gives, and that an unchanged re-import gives
none.

On the main lane's stack, after the other runs: a supplier of its own (a fake with ``products``
sellable products, 20 ms a call) is imported once, then the stream triggers start from the streams'
end (``BenchStack.start_change_feed``) with the webhook delivery mapping, and a webhook
subscription points at a receiver on 127.0.0.1 (a free port; it stops by itself after
``RECEIVER_LIFETIME_S``). The fake's ``POST /control/change {"reprice": N}`` changes N products, a
re-import commits them, and each delivered event's lag is its receipt time minus its
``occurred_at`` (the product's write time, set in the transaction that commits it). A second,
unchanged re-import follows; every stream is then read to its end and the delivery queue emptied
before its events are counted.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from apihub_bench.figures import percentile
from apihub_bench.stack import BenchStack
from apihub_fakes.webhook_receiver import receiver

RECEIVER_LIFETIME_S = 300.0
PRODUCT_EVENTS = ["product.created", "product.updated", "product.discontinued", "product.reactivated"]
FAKE_LATENCY_MS = 20  # the supplier's time is not part of the lag; a fast fake keeps the imports short


def stream_end(mapping: Any) -> int:
    """The sequence number the next record of ``mapping``'s stream will get (its shard's end): a
    search with one-record reads, since a stream has no "count" to ask."""
    shards = mapping.streams.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"]["Shards"]
    if not shards:
        return 0
    shard = shards[0]
    start = int(shard["SequenceNumberRange"]["StartingSequenceNumber"])

    def exists(seq: int) -> bool:
        iterator = mapping.streams.get_shard_iterator(
            StreamArn=mapping.stream_arn,
            ShardId=shard["ShardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=str(seq),
        )["ShardIterator"]
        return bool(mapping.streams.get_records(ShardIterator=iterator, Limit=1)["Records"])

    if not exists(start):
        return start
    step = 1
    while exists(start + step):
        step *= 2
    low, high = start + step // 2, start + step  # low exists, high does not
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if exists(mid) else (low, mid)
    return high


def wait_delivered(stack: BenchStack, *, timeout_s: float = 120.0) -> None:
    """Until every stream mapping has read its stream to the end (the change detector first, then
    the dispatcher it feeds) and the webhook queue holds no message, visible or in flight."""
    assert stack.hub is not None
    deadline = time.monotonic() + timeout_s
    order = sorted(stack.hub.stream_mappings, key=lambda m: m.fn.logical_id != "ChangesFunction")
    for mapping in order:
        end = stream_end(mapping)
        while (mapping.position or 0) < end:
            _before(deadline, f"{mapping.fn.logical_id} reading its stream")
            time.sleep(0.1)
    queue = stack.hub.stack.queue_urls["WebhookQueue"]
    sqs = stack.hub.sqs

    def queued() -> int:
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return sum(int(v) for v in attrs.values())

    while queued():
        _before(deadline, "the webhook queue emptying")
        time.sleep(0.1)


def _before(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise RuntimeError(f"change feed: timed out waiting for {what}")


@contextmanager
def subscribed(stack: BenchStack, slug: str, *, path: str, lifetime_s: float) -> Iterator[Any]:
    """The feed on (the stream triggers from the streams' end, the webhook delivery mapping) and
    one subscription to every product event of supplier ``slug``, whose receiver on 127.0.0.1
    (``path``) the block gets; all of it stopped and deleted after the block."""
    from apihub_local.pollers import Pollers

    assert stack.hub is not None
    stack.start_change_feed()
    deliveries = Pollers([stack.mapping("DeliverWebhookFunction")])
    deliveries.start()
    try:
        with receiver(lifetime_s, path=path) as got:
            sub = stack.hub.api(
                "POST", "/api/subscriptions", json_body={"url": got.url, "types": PRODUCT_EVENTS, "supplier_id": slug}
            )
            if sub.status != 201:
                raise RuntimeError(f"subscribing to {slug}: HTTP {sub.status} {sub.json}")
            try:
                yield got
            finally:
                stack.hub.api("DELETE", f"/api/subscriptions/{sub.json['id']}")
    finally:
        deliveries.stop(timeout_s=10.0)
        stack.stop_change_feed()


def change_feed_figures(stack: BenchStack, *, products: int = 200, changed: int = 50) -> dict[str, Any]:
    """The ``changes`` figures of bench/results.json (see the module docstring)."""
    assert stack.hub is not None
    slug = "bench-changes"
    stack.add_promostandards_supplier(slug, slots=10, latency_ms=FAKE_LATENCY_MS, products=products)
    first = stack.run_import(slug, 10, latency_ms=FAKE_LATENCY_MS)
    if first.job["status"] != "success":
        raise RuntimeError(f"change feed: first import ended {first.job['status']}")
    with subscribed(stack, slug, path="/bench-webhook", lifetime_s=RECEIVER_LIFETIME_S) as got:
        control = stack.fakes[(FAKE_LATENCY_MS, products)]["base_url"] + "/control/change"
        request = urllib.request.Request(  # noqa: S310 - the fake on loopback
            control, data=json.dumps({"reprice": changed}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            repriced = len(json.loads(response.read())["repriced"])
        change = stack.run_import(slug, 10, latency_ms=FAKE_LATENCY_MS)
        wait_delivered(stack)
        events = got.events_of_job(change.job["id"])
        lags = [(at - _epoch(event["occurred_at"])) * 1000 for at, event in events.values()]
        unchanged = stack.run_import(slug, 10, latency_ms=FAKE_LATENCY_MS)
        wait_delivered(stack)
        quiet = got.events_of_job(unchanged.job["id"])
    if not lags:
        raise RuntimeError(f"change feed: no event delivered for the {repriced} changed products")
    return {
        "products": products,
        "fake_latency_ms": FAKE_LATENCY_MS,
        "changed_products": repriced,
        "events": len(events),
        "events_by_type": _by_type(events),
        "lag_ms_p50": round(percentile(lags, 50), 1),
        "lag_ms_p95": round(percentile(lags, 95), 1),
        "lag_ms_max": round(max(lags), 1),
        "events_per_changed_product": round(len(events) / repriced, 3),
        "events_on_unchanged_reimport": len(quiet),
    }


def _epoch(iso: str) -> float:
    from apihub.models import parse_iso

    when = parse_iso(iso)
    assert when is not None
    return when.timestamp()


def _by_type(events: dict[str, tuple[float, dict[str, Any]]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, event in events.values():
        out[event["type"]] = out.get(event["type"], 0) + 1
    return out
