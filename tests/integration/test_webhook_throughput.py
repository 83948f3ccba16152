"""Webhook deliveries keep up (issue 23): a batch's deliveries run at once, one subscription's slow
receiver does not hold back another's deliveries in the same batch, and every delivery message
names its subscription as its SQS message group (the deliveries queue's fair queueing).

On moto, with real HTTP receivers on 127.0.0.1 (``apihub_fakes.webhook_receiver``) and the local
stack's model of the SQS event source mapping (batches gathered up to the template's batch size).
The fleet-wide figures (1,000,000 deliveries, a slow subscriber's backlog) are the timing model's:
tests/tooling/test_webhook_timing_model.py."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from apihub.changes.delivery_message import DeliveryMessage
from apihub.changes.events import ChangeEvent

from apihub_fakes.webhook_receiver import receiver
from tests.integration.test_webhooks import _delivery_mapping, _event, loopback_hub
from tests.integration.test_webhooks import _subscribe as _subscribe_types

__all__ = ["loopback_hub"]  # the fixture, shared with test_webhooks.py


def _subscribe(hub, url: str) -> dict[str, Any]:
    return _subscribe_types(hub, url, ["product.updated"])


def _enqueue(hub, subscription_id: str, events: list[ChangeEvent]) -> None:
    from apihub.dal import queues

    messages = [
        DeliveryMessage(
            subscription_id=subscription_id, event_id=e.id, event_type=e.type.value, body=e.model_dump_json()
        ).model_dump()
        for e in events
    ]
    assert queues.send_webhook_batch(messages) == []


def test_a_batch_s_deliveries_run_at_once_and_a_slow_receiver_holds_back_no_other(loopback_hub) -> None:
    hub = loopback_hub
    mapping = _delivery_mapping(hub)
    assert mapping.source.batch_size == 25  # the template's WebhookInFlight
    with receiver() as rx:
        # Given a subscriber answering after 1 s with 20 deliveries queued before another's 5
        rx.delays["/slow"] = 1.0
        slow = _subscribe(hub, f"{rx.url}/slow")
        fast = _subscribe(hub, f"{rx.url}/fast")
        _enqueue(hub, slow["id"], [_event(n) for n in range(20)])
        _enqueue(hub, fast["id"], [_event(n) for n in range(100, 105)])
        # When one invocation takes them all
        started = time.time()
        assert mapping.poll_once() == 25
        took = time.time() - started
        # Then every delivery was made, at once: one slow answer's time, not twenty (one by one: 20 s)
        paths = [r["path"] for r in rx.requests]
        assert sorted(paths) == ["/fast"] * 5 + ["/slow"] * 20
        assert took < 5.0
        # And the fast subscriber got its five before the slow one had answered any of its own
        fast_at = [r["at"] for r in rx.requests if r["path"] == "/fast"]
        slow_at = [r["at"] for r in rx.requests if r["path"] == "/slow"]
        assert max(fast_at) < min(slow_at) + 1.0
    # And each attempt is recorded as delivered, and nothing is left on the queue
    for sub, count in ((slow, 20), (fast, 5)):
        got = hub.api("GET", f"/api/subscriptions/{sub['id']}/deliveries").json
        assert len(got) == count and {d["outcome"] for d in got} == {"delivered"}
    assert mapping.poll_once() == 0


def test_a_batch_reads_each_subscription_once(loopback_hub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = loopback_hub
    from apihub.dal.subscriptions import SubscriptionsRepository

    reads: list[str] = []
    original = SubscriptionsRepository.target

    def counted(self: SubscriptionsRepository, subscription_id: str):
        reads.append(subscription_id)
        return original(self, subscription_id)

    monkeypatch.setattr(SubscriptionsRepository, "target", counted)
    with receiver() as rx:
        a, b = _subscribe(hub, f"{rx.url}/a"), _subscribe(hub, f"{rx.url}/b")
        _enqueue(hub, a["id"], [_event(n) for n in range(12)])
        _enqueue(hub, b["id"], [_event(n) for n in range(12, 20)])
        assert _delivery_mapping(hub).poll_once() == 20
        assert len(rx.requests) == 20
    # One GetItem and one KMS Decrypt per subscription and batch, however many threads ask
    assert sorted(reads) == sorted([a["id"], b["id"]])


def test_a_failing_delivery_is_retried_in_its_group_and_the_others_of_its_batch_are_delivered(loopback_hub) -> None:
    hub = loopback_hub
    from apihub.changes import webhooks
    from apihub.dal.clients import client

    sends: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        sends.append(params)

    sqs = client("sqs")
    sqs.meta.events.register("provide-client-params.sqs.SendMessage", capture)
    try:
        with receiver() as rx:
            rx.answers["/down"] = (503, {})
            down, up = _subscribe(hub, f"{rx.url}/down"), _subscribe(hub, f"{rx.url}/up")
            bodies = [(down["id"], _event(1))] + [(up["id"], _event(n)) for n in range(2, 12)]
            records = [
                {
                    "messageId": f"m{n}",
                    "body": DeliveryMessage(
                        subscription_id=sub, event_id=e.id, event_type=e.type.value, body=e.model_dump_json()
                    ).model_dump_json(),
                }
                for n, (sub, e) in enumerate(bodies)
            ]
            # When one batch holds a delivery its receiver refuses and ten others
            assert webhooks.handle_batch({"Records": records}, None) == {"batchItemFailures": []}
    finally:
        sqs.meta.events.unregister("provide-client-params.sqs.SendMessage", capture)
    # Then the ten are delivered and the refused one is recorded failed
    outcomes = {
        sub: [(d["event_id"], d["outcome"]) for d in hub.api("GET", f"/api/subscriptions/{sub}/deliveries").json]
        for sub in (down["id"], up["id"])
    }
    assert outcomes[down["id"]] == [("evt_0001", "failed")]
    assert sorted(outcomes[up["id"]]) == [(f"evt_{n:04d}", "delivered") for n in range(2, 12)]
    # And its retry is a new message, delayed a minute, in the failing subscription's group
    (retry,) = sends
    assert json.loads(retry["MessageBody"])["attempt"] == 2 and retry["DelaySeconds"] == 60
    assert retry["MessageGroupId"] == down["id"]


def test_a_record_that_cannot_be_handled_is_reported_and_the_others_are_not(loopback_hub) -> None:
    hub = loopback_hub
    from apihub.changes import webhooks

    with receiver() as rx:
        sub = _subscribe(hub, f"{rx.url}/hook")
        good = DeliveryMessage(
            subscription_id=sub["id"], event_id="evt_0001", event_type="product.updated", body="{}"
        ).model_dump_json()
        records = [{"messageId": "bad", "body": "{not json"}, {"messageId": "good", "body": good}]
        assert webhooks.handle_batch({"Records": records}, None) == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
        assert len(rx.requests) == 1


def test_every_delivery_message_is_in_its_subscription_s_group(loopback_hub) -> None:
    hub = loopback_hub
    from apihub.changes import dispatch

    a, b = _subscribe(hub, "http://127.0.0.1:9/a"), _subscribe(hub, "http://127.0.0.1:9/b")
    # When the dispatcher enqueues an event for both subscriptions
    record = {
        "eventID": "e1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"SequenceNumber": "1", "NewImage": {"event": {"S": _event(1).model_dump_json()}}},
    }
    assert dispatch.handle_stream_batch([record]) == {"batchItemFailures": []}
    # Then each message's group, as SQS stored it, is its subscription
    url = hub.stack.queue_urls["WebhookQueue"]
    got = hub.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"])
    groups = {json.loads(m["Body"])["subscription_id"]: m["Attributes"]["MessageGroupId"] for m in got["Messages"]}
    assert groups == {a["id"]: a["id"], b["id"]: b["id"]}
