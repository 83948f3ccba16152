"""Change delivery on moto: subscriptions (secret once, encrypted, URL rules), the dispatcher
(EventBridge bus + delivery messages, partial failures) and signed webhook deliveries to a local
receiver (retries, no redirects, the 24 h give-up)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from apihub.changes.delivery_message import DeliveryMessage
from apihub.changes.events import ChangeEvent, EventType
from apihub.changes.signing import verify

from apihub_fakes.webhook_receiver import receiver

SUPPLIER = "9b2f4c1e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"


# ------------------------------------------------------------------ helpers


@pytest.fixture
def loopback_hub(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The hub with loopback URLs allowed, as on the local stack (``make run``)."""
    monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "true")
    return request.getfixturevalue("hub")


def _event(n: int, event_type: EventType = EventType.product_updated, supplier: str = SUPPLIER) -> ChangeEvent:
    return ChangeEvent(
        id=f"evt_{n:04d}",
        type=event_type,
        occurred_at="2026-11-26T00:00:00.000Z",
        supplier_id=supplier,
        product_id=f"SKU-{n}",
        job_id="3f1c2b9e-8d7a-4c5b-9e6f-1a2b3c4d5e6f",
        data={"changed_fields": ["prices"]},
    )


def _record(seq: int, event: ChangeEvent | None, raw: str | None = None) -> dict[str, Any]:
    text = raw if event is None else event.model_dump_json()
    return {
        "eventID": f"e{seq}",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"SequenceNumber": str(seq), "NewImage": {"pk": {"S": f"EVENT#{seq}"}, "event": {"S": text}}},
    }


def _subscribe(hub, url: str, types: list[str], **extra: Any) -> dict[str, Any]:
    res = hub.api("POST", "/api/subscriptions", json_body={"url": url, "types": types, **extra})
    assert res.status == 201, res.json
    return res.json


def _queue(hub, logical_id: str) -> str:
    return hub.stack.queue_urls[logical_id]


def _messages(hub, logical_id: str) -> list[dict[str, Any]]:
    out = []
    while True:
        got = hub.sqs.receive_message(QueueUrl=_queue(hub, logical_id), MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        out += [json.loads(m["Body"]) for m in got]
        for m in got:
            hub.sqs.delete_message(QueueUrl=_queue(hub, logical_id), ReceiptHandle=m["ReceiptHandle"])


def _delivery_mapping(hub):
    (mapping,) = [m for m in hub.mappings if m.fn.logical_id == "DeliverWebhookFunction"]
    return mapping


def _counts(hub, logical_id: str) -> dict[str, int]:
    attrs = hub.sqs.get_queue_attributes(
        QueueUrl=_queue(hub, logical_id),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    return {
        "visible": int(attrs["ApproximateNumberOfMessages"]),
        "delayed": int(attrs["ApproximateNumberOfMessagesDelayed"]),
    }


# ------------------------------------------------------------------ subscriptions


def test_the_secret_is_shown_once_and_stored_encrypted(hub) -> None:
    # Given a subscription created by an admin
    created = _subscribe(hub, "https://hooks.example.com/apihub", ["product.updated", "product.updated"])
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created["types"] == ["product.updated"] and created["supplier_id"] is None
    # Then no later answer carries it
    one = hub.api("GET", f"/api/subscriptions/{created['id']}")
    listed = hub.api("GET", "/api/subscriptions")
    assert one.status == 200 and listed.status == 200
    assert secret not in one.raw.decode() and secret not in listed.raw.decode()
    assert "secret" not in one.json and [s["id"] for s in listed.json] == [created["id"]]
    # And the table holds only a KMS ciphertext that decrypts, bound to the subscription id, to it
    from apihub.dal.tables import SubscriptionItem

    item = SubscriptionItem.get(f"SUB#{created['id']}", "META")
    stored = bytes(item.secret_ciphertext)
    assert secret.encode() not in stored
    kms = boto3.client("kms", region_name="us-east-1")
    plain = kms.decrypt(CiphertextBlob=stored, EncryptionContext={"subscription_id": created["id"]})["Plaintext"]
    assert plain.decode() == secret
    # And a deleted subscription is gone
    assert hub.api("DELETE", f"/api/subscriptions/{created['id']}").status == 204
    assert hub.api("GET", f"/api/subscriptions/{created['id']}").status == 404
    assert hub.api("GET", "/api/subscriptions").json == []


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"url": "https://hooks.example.com/x", "types": ["product.renamed"]}, "types.0", "Input should be"),
        ({"url": "https://hooks.example.com/x", "types": []}, "types", "at least 1 item"),
        ({"url": "http://hooks.example.com/x", "types": ["job.finished"]}, "url", "must use https://"),
        ({"url": "https://169.254.169.254/latest", "types": ["job.finished"]}, "url", "link-local"),
        ({"url": "https://10.0.0.8/hook", "types": ["job.finished"]}, "url", "private-range"),
        ({"url": "https://127.0.0.1:8443/hook", "types": ["job.finished"]}, "url", "loopback"),
        ({"url": "https://h.example.com/\ud800", "types": ["job.finished"]}, "url", "valid string"),
        (
            {"url": "https://h.example.com", "types": ["job.finished"], "supplier_id": "nope"},
            "supplier_id",
            "no supplier",
        ),
    ],
)
def test_bad_subscriptions_get_a_422_naming_the_field(hub, body: dict, field: str, rule: str) -> None:
    res = hub.api("POST", "/api/subscriptions", json_body=body)
    assert res.status == 422, res.json
    assert res.json["detail"].startswith(f"{field}: ") or f"{field}: " in res.json["detail"], res.json
    assert rule in res.json["detail"], res.json


def test_subscriptions_are_for_admins_only(hub) -> None:
    viewer = hub.token("viewer")
    service = hub.token("service")
    for token in (viewer, service):
        assert hub.api("GET", "/api/subscriptions", token=token).status == 403
        body = {"url": "https://hooks.example.com/x", "types": ["job.finished"]}
        assert hub.api("POST", "/api/subscriptions", json_body=body, token=token).status == 403


def test_matching_takes_the_type_and_the_supplier_from_one_query_each(hub) -> None:
    from apihub.dal.subscriptions import SubscriptionsRepository

    demo = hub.add_supplier("demo")
    every = _subscribe(hub, "https://a.example.com/", ["product.updated", "product.discontinued"])
    only_demo = _subscribe(hub, "https://b.example.com/", ["product.updated"], supplier_id="demo")
    jobs = _subscribe(hub, "https://c.example.com/", ["job.finished"])
    assert only_demo["supplier_id"] == demo["id"]  # a slug is stored as the id events carry
    repo = SubscriptionsRepository()
    assert set(repo.matching("product.updated", demo["id"])) == {every["id"], only_demo["id"]}
    assert set(repo.matching("product.updated", SUPPLIER)) == {every["id"]}
    assert set(repo.matching("product.discontinued", demo["id"])) == {every["id"]}
    assert set(repo.matching("job.finished", demo["id"])) == {jobs["id"]}
    assert repo.matching("inventory.changed", demo["id"]) == []


# ------------------------------------------------------------------ dispatcher


def test_a_stream_batch_with_one_bad_record_reports_only_that_record(hub) -> None:
    # Given a consumer rule on the bus (as the template's sample shows) and a product.updated subscription
    events = boto3.client("events", region_name="us-east-1")
    bus = hub.stack.refs["ChangesBus"]
    sink = hub.sqs.create_queue(QueueName="bus-sink")["QueueUrl"]
    sink_arn = hub.sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["apihub"]}), State="ENABLED")
    events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "sink", "Arn": sink_arn}])
    sub = _subscribe(hub, "https://hooks.example.com/apihub", ["product.updated"])
    # When the dispatcher gets three records, the second not a readable event, and a MODIFY
    good = [_event(1), _event(3, EventType.product_discontinued), _event(4)]
    batch = [_record(1, good[0]), _record(2, None, raw='{"id": "evt_broken"'), _record(3, good[1]), _record(4, good[2])]
    batch.append({**_record(5, _event(5)), "eventName": "MODIFY"})
    result = hub.functions.invoke("DispatchChangesFunction", {"Records": batch})
    # Then only the bad record is reported failed
    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    # And every good event reached the bus, source apihub, detail-type its type, detail the event
    got = [json.loads(m["Body"]) for m in hub.sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10)["Messages"]]
    assert sorted((g["source"], g["detail-type"], g["detail"]["id"]) for g in got) == [
        ("apihub", "product.discontinued", "evt_0003"),
        ("apihub", "product.updated", "evt_0001"),
        ("apihub", "product.updated", "evt_0004"),
    ]
    assert {g["detail"]["id"]: g["detail"] for g in got}["evt_0001"] == good[0].model_dump(mode="json")
    # And one delivery message per matching subscription and event, carrying the event's JSON
    messages = [DeliveryMessage.model_validate(m) for m in _messages(hub, "WebhookQueue")]
    assert sorted((m.subscription_id, m.event_id, m.attempt) for m in messages) == [
        (sub["id"], "evt_0001", 1),
        (sub["id"], "evt_0004", 1),
    ]
    assert {m.event_id: m.body for m in messages}["evt_0001"] == good[0].model_dump_json()


def test_a_record_whose_deliveries_cannot_be_enqueued_is_reported_failed(hub, monkeypatch) -> None:
    from apihub.changes import dispatch

    _subscribe(hub, "https://hooks.example.com/apihub", ["product.updated"])
    # Given SQS refusing every delivery message of evt_0002
    real = dispatch.queues.send_webhook_batch

    def refuse_second(bodies, attempts=5):
        keep = [b for b in bodies if b["event_id"] != "evt_0002"]
        real(keep)
        return [i for i, b in enumerate(bodies) if b["event_id"] == "evt_0002"]

    monkeypatch.setattr(dispatch.queues, "send_webhook_batch", refuse_second)
    result = hub.functions.invoke("DispatchChangesFunction", {"Records": [_record(i, _event(i)) for i in (1, 2, 3)]})
    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert sorted(m["event_id"] for m in _messages(hub, "WebhookQueue")) == ["evt_0001", "evt_0003"]


def test_a_new_subscription_gets_the_next_batch_s_events(hub) -> None:
    # Given a batch dispatched while nobody subscribed: nothing to deliver
    assert hub.functions.invoke("DispatchChangesFunction", {"Records": [_record(1, _event(1))]}) == {
        "batchItemFailures": []
    }
    assert _messages(hub, "WebhookQueue") == []
    # When a subscription is created, then the next batch comes (same container)
    sub = _subscribe(hub, "https://hooks.example.com/apihub", ["product.updated"])
    hub.functions.invoke("DispatchChangesFunction", {"Records": [_record(2, _event(2))]})
    # Then its event is enqueued for it: no answer from the earlier batch is reused
    assert [(m["subscription_id"], m["event_id"]) for m in _messages(hub, "WebhookQueue")] == [(sub["id"], "evt_0002")]


# ------------------------------------------------------------------ deliveries


def test_a_signed_event_reaches_a_local_receiver_end_to_end(loopback_hub) -> None:
    hub = loopback_hub
    with receiver() as rx:
        # Given a subscription to a receiver on 127.0.0.1 (allowed on the local stack)
        sub = _subscribe(hub, f"{rx.url}/hooks/apihub", ["product.updated"], supplier_id=None)
        event = _event(7)
        # When the change log's stream brings the event and the deliveries queue is drained
        assert hub.functions.invoke("DispatchChangesFunction", {"Records": [_record(1, event)]}) == {
            "batchItemFailures": []
        }
        hub.drain()
        # Then the receiver got one POST whose signature it can verify with the secret
        (req,) = rx.requests
        assert req["path"] == "/hooks/apihub"
        assert req["body"] == event.model_dump_json().encode()
        assert req["headers"]["Apihub-Event-Id"] == "evt_0007"
        assert req["headers"]["Apihub-Event-Type"] == "product.updated"
        assert req["headers"]["Content-Type"] == "application/json"
        assert verify(sub["secret"], req["headers"]["Apihub-Signature"], req["body"])
        assert not verify("whsec_wrong", req["headers"]["Apihub-Signature"], req["body"])
    # And the attempt is listed on the subscription
    res = hub.api("GET", f"/api/subscriptions/{sub['id']}/deliveries")
    assert res.status == 200
    assert [(d["event_id"], d["attempt"], d["status_code"], d["outcome"], d["error"]) for d in res.json] == [
        ("evt_0007", 1, 200, "delivered", None)
    ]


def test_a_redirect_is_not_followed_and_the_attempt_is_retried_later_with_the_same_event(loopback_hub) -> None:
    hub = loopback_hub
    with receiver() as rx:
        rx.answers["/hook"] = (302, {"Location": f"{rx.url}/elsewhere"})
        sub = _subscribe(hub, f"{rx.url}/hook", ["product.updated"])
        event = _event(8)
        message = DeliveryMessage(
            subscription_id=sub["id"], event_id=event.id, event_type="product.updated", body=event.model_dump_json()
        )
        hub.sqs.send_message(QueueUrl=_queue(hub, "WebhookQueue"), MessageBody=message.model_dump_json())
        # When the delivery worker takes it
        assert _delivery_mapping(hub).poll_once() == 1
        # Then only the subscribed path was called: the redirect's target never was
        assert [r["path"] for r in rx.requests] == ["/hook"]
    # And the attempt is recorded as failed with the 302, and the next one waits on the queue (delayed)
    (attempt,) = hub.api("GET", f"/api/subscriptions/{sub['id']}/deliveries").json
    assert (attempt["status_code"], attempt["outcome"], attempt["attempt"]) == (302, "failed", 1)
    assert "redirects are not followed" in attempt["error"]
    assert _counts(hub, "WebhookQueue") == {"visible": 0, "delayed": 1}


def test_the_url_rules_are_checked_again_before_every_delivery(loopback_hub, monkeypatch) -> None:
    hub = loopback_hub
    from apihub.changes import webhooks
    from apihub.settings import reset_settings

    with receiver() as rx:
        sub = _subscribe(hub, f"{rx.url}/hook", ["product.updated"])
        # Given the rules tightened after subscribing (as in AWS: https and public addresses only)
        monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "false")
        reset_settings()
        event = _event(9)
        message = DeliveryMessage(
            subscription_id=sub["id"], event_id=event.id, event_type="product.updated", body=event.model_dump_json()
        )
        # When the delivery is attempted
        outcome = webhooks.deliver(message)
        # Then nothing was sent, and the refusal is the recorded error
        assert outcome == "failed" and rx.requests == []
    (attempt,) = hub.api("GET", f"/api/subscriptions/{sub['id']}/deliveries").json
    assert attempt["status_code"] is None and attempt["error"].startswith("url refused: must use https://")


def test_after_24_hours_of_failures_the_delivery_goes_to_the_dlq(loopback_hub, monkeypatch) -> None:
    hub = loopback_hub
    from apihub.changes import webhooks

    # What goes back on the deliveries queue, and with which delay (SQS hides delayed messages)
    sent: list[tuple[DeliveryMessage, int]] = []
    real_send = webhooks.queues.send_webhook

    def send(body: dict, delay_seconds: int) -> None:
        sent.append((DeliveryMessage.model_validate(body), delay_seconds))
        real_send(body, delay_seconds)

    monkeypatch.setattr(webhooks.queues, "send_webhook", send)
    with receiver() as rx:
        rx.answers["/hook"] = (503, {})
        sub = _subscribe(hub, f"{rx.url}/hook", ["product.updated"])
        event = _event(10)
        first = 1_764_115_200.0
        message = DeliveryMessage(
            subscription_id=sub["id"],
            event_id=event.id,
            event_type="product.updated",
            body=event.model_dump_json(),
            attempt=11,
            first_attempt_at=first,
            not_before=first + 61_380,
        )
        # When attempt 11 fails at 17 h 3 min: the next is due at exactly 24 h, 900 s (SQS's most) away first
        assert webhooks.deliver(message, clock=lambda: first + 61_380) == "failed"
        ((retry, delay),) = sent
        assert (retry.attempt, retry.not_before, retry.first_attempt_at, delay) == (12, first + 86_400, first, 900)
        assert retry.event_id == event.id and retry.body == message.body
        # And received before it is due, it only moves on (no request, same attempt)
        assert webhooks.deliver(retry, clock=lambda: first + 86_000) == "hop"
        assert sent[-1] == (retry, 400) and len(rx.requests) == 1
        # When attempt 12 fails at 24 h
        assert webhooks.deliver(retry, clock=lambda: first + 86_400) == "gave_up"
        assert len(rx.requests) == 2 and len(sent) == 2  # nothing more scheduled
    # Then it is in the DLQ with its last error
    (dead,) = _messages(hub, "WebhookDLQ")
    assert (dead["event_id"], dead["attempt"], dead["last_error"]) == (event.id, 12, "HTTP 503")
    outcomes = [(d["attempt"], d["outcome"]) for d in hub.api("GET", f"/api/subscriptions/{sub['id']}/deliveries").json]
    assert outcomes == [(12, "gave_up"), (11, "failed")]


def test_a_deleted_subscription_gets_nothing_more(loopback_hub) -> None:
    hub = loopback_hub
    from apihub.changes import webhooks

    with receiver() as rx:
        sub = _subscribe(hub, f"{rx.url}/hook", ["product.updated"])
        event = _event(11)
        message = DeliveryMessage(
            subscription_id=sub["id"], event_id=event.id, event_type="product.updated", body=event.model_dump_json()
        )
        assert hub.api("DELETE", f"/api/subscriptions/{sub['id']}").status == 204
        assert webhooks.deliver(message) == "dropped"
        assert rx.requests == []
