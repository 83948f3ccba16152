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

Webhook throughput (issue 23, ``webhook_delivery_rate``): ``RATE_DELIVERIES`` delivery messages for
the subscription are put on the deliveries queue at once (a backlog, as after a large import) while
the receiver answers each after ``RATE_LATENCY_MS``; the rate is the deliveries received per second
from the first receipt to the last, through the template's delivery mapping (batch size,
``MaximumConcurrency``) and worker (``APIHUB_WEBHOOK_IN_FLIGHT`` at once).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from apihub_bench.figures import percentile
from apihub_bench.stack import BenchStack
from apihub_fakes.webhook_receiver import Receiver, receiver

RECEIVER_LIFETIME_S = 300.0
PRODUCT_EVENTS = ["product.created", "product.updated", "product.discontinued", "product.reactivated"]
FAKE_LATENCY_MS = 20  # the supplier's time is not part of the lag; a fast fake keeps the imports short
RATE_DELIVERIES = 250
RATE_LATENCY_MS = 200


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


def webhook_delivery_rate(
    hub: Any,
    rx: Receiver,
    subscription_id: str,
    *,
    deliveries: int = RATE_DELIVERIES,
    latency_ms: int = RATE_LATENCY_MS,
) -> dict[str, Any]:
    """Deliveries per second to one subscriber answering after ``latency_ms``, from a backlog of
    ``deliveries`` messages put on the deliveries queue at once; the delivery pollers must be
    running. The receiver's path for the subscription is slowed for the run only."""
    from apihub.changes.delivery_message import DeliveryMessage
    from apihub.dal.queues import webhook_group

    path = urlsplit(next(s["url"] for s in hub.api("GET", "/api/subscriptions").json if s["id"] == subscription_id))
    ids = [f"evt_rate{n:027d}" for n in range(deliveries)]
    rx.delays[path.path] = latency_ms / 1000
    queue = hub.stack.queue_urls["WebhookQueue"]
    try:
        for start in range(0, deliveries, 10):
            entries = []
            for n, event_id in enumerate(ids[start : start + 10]):
                body = json.dumps({"id": event_id, "type": "product.updated", "rate_probe": True})
                message = DeliveryMessage(
                    subscription_id=subscription_id, event_id=event_id, event_type="product.updated", body=body
                ).model_dump()
                entries.append(
                    {"Id": str(n), "MessageBody": json.dumps(message), "MessageGroupId": webhook_group(message)}
                )
            sent = hub.sqs.send_message_batch(QueueUrl=queue, Entries=entries)
            if sent.get("Failed"):
                raise RuntimeError(f"webhook rate: enqueueing failed: {sent['Failed'][:1]}")
        wanted = set(ids)
        # A first attempt that failed (the local stack's one process overloaded) comes back a
        # minute later: the rate is then over what arrived by the deadline, and says how many.
        deadline = time.monotonic() + 120 + deliveries * latency_ms / 1000
        while True:
            got: dict[str, float] = {}
            with rx.lock:
                for r in rx.requests:  # the first receipt of each (delivery is at least once)
                    got.setdefault(r["headers"].get("Apihub-Event-Id", ""), r["at"])
            if wanted <= got.keys() or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        rx.delays.pop(path.path, None)
    times = sorted(got[i] for i in ids if i in got)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {
        "webhook_rate_deliveries": deliveries,
        "webhook_rate_delivered": len(times),
        "webhook_receiver_latency_ms": latency_ms,
        "webhook_deliveries_per_s": round((len(times) - 1) / span, 2) if span > 0 else None,
    }


def _subscription_of(stack: BenchStack, url: str) -> str:
    assert stack.hub is not None
    return str(next(s["id"] for s in stack.hub.api("GET", "/api/subscriptions").json if s["url"] == url))


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
        rate = webhook_delivery_rate(stack.hub, got, _subscription_of(stack, got.url))
        units = logged_wcu_per_event()
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
        **rate,
        "wcu_per_event": units,
    }


def logged_wcu_per_event() -> float:
    """``wcu_per_event`` of the change log as it stands: its items and its table's indexes."""
    from apihub.dal.tables import ChangeItem

    items = [item.serialize() for item in ChangeItem.scan()]
    return wcu_per_event(items, ChangeItem._get_connection().describe_table())


def wcu_per_event(items: list[dict[str, Any]], table: dict[str, Any]) -> float:
    """Write units the change log's items cost, per event (one item per event): each item's own,
    one per started KB of its size as DynamoDB counts it, and each index copy's, one per started KB
    of the copy (the index's keys, the table's keys and the projected attributes; an index holds an
    item only when the item has the index's keys). ``table``: DescribeTable's ``Table``."""
    from apihub.dal.sizes import item_bytes

    def units(attributes: dict[str, Any]) -> int:
        return max(1, -(-item_bytes(attributes) // 1024))

    table_keys = {k["AttributeName"] for k in table["KeySchema"]}
    total = 0
    for item in items:
        total += units(item)
        for index in table.get("GlobalSecondaryIndexes", []):
            keys = {k["AttributeName"] for k in index["KeySchema"]}
            if not keys <= set(item):
                continue
            projection = index["Projection"]
            if projection["ProjectionType"] == "ALL":
                total += units(item)
                continue
            names = keys | table_keys | set(projection.get("NonKeyAttributes", []))
            total += units({n: v for n, v in item.items() if n in names})
    return round(total / len(items), 3) if items else 0.0


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
