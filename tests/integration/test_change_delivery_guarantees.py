"""The change feed's delivery side under AWS's conditions (issue 15; docs/changes.md, "Guarantees
under AWS's conditions"): every logged event reaches the EventBridge bus at least once, and every
matching subscription gets at least one delivery of it, whatever PutEvents, SQS and DynamoDB answer
and however often the dispatcher's stream batches are retried; a webhook is retried with the same
event id and a valid signature on every attempt, within 24 h, then dead-lettered, and a deleted
subscription gets nothing more.

EventBridge's answers are injected by a botocore hook on apihub's ``events`` client
(``BusFaults``: whole calls throttled, which botocore retries, and entries failed inside a
successful call, ``FailedEntryCount`` > 0, which apihub sends again); SQS's and DynamoDB's by
``apihub_local.aws_faults``. The dispatcher's stream is read by the local stack's model of a
Lambda stream event source mapping (``apihub_local.streams.StreamMapping``).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import random
import types
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from apihub.changes import webhooks
from apihub.changes.delivery_message import DeliveryMessage
from apihub.changes.events import ChangeEvent, EventType
from apihub.changes.schedule import SQS_MAX_DELAY_S, due_times
from apihub.changes.signing import verify
from apihub.dal.changes import ChangesRepository
from apihub.dal.clients import client
from apihub.settings import reset_settings
from botocore.awsrequest import AWSResponse
from botocore.retries import standard
from botocore.retries.quota import RetryQuota

from apihub_fakes.webhook_receiver import receiver
from apihub_local.aws_faults import inject_aws_faults
from apihub_local.streams import StreamMapping

OTHER_SUPPLIER = "0c7d3b1e-5f2a-4e8b-9c1d-2a3b4c5d6e7f"


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """apihub's and botocore's retries without their pauses (the attempts still count)."""
    monkeypatch.setenv("APIHUB_AWS_RETRY_BASE_MS", "1")
    monkeypatch.setenv("APIHUB_AWS_RETRY_CAP_MS", "2")
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(RetryQuota, "acquire", lambda self, capacity_amount: True)
    # ... and apihub's own pauses between re-sends of failed entries (PutEvents, SendMessageBatch)
    from apihub.changes import dispatch
    from apihub.dal import queues

    monkeypatch.setattr(dispatch, "put_events", functools.partial(dispatch.put_events, sleep=lambda s: None))
    monkeypatch.setattr(queues, "time", types.SimpleNamespace(sleep=lambda s: None))
    reset_settings()


# ------------------------------------------------------------------ EventBridge's answers


class _Body(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


@dataclasses.dataclass
class BusFaults:
    """PutEvents as EventBridge answers it under load, on apihub's ``events`` client:

    * ``throttle``: call number (1-based) -> how many of its attempts answer 400
      ``ThrottlingException`` (botocore retries them: apihub's clients make 6 attempts in all,
      ``max_attempts`` 5 being retries, so 6 fail the call);
    * ``entry_rate``: the share of entries failed inside a successful call (``FailedEntryCount``,
      an ``ErrorCode`` on each, in request order), and ``stubborn``: event ids whose entry fails
      that many times in a row first (more than apihub's 5 tries: their stream record fails).
    """

    rng: random.Random
    entry_rate: float = 0.0
    throttle: dict[int, int] = dataclasses.field(default_factory=dict)
    stubborn: dict[str, int] = dataclasses.field(default_factory=dict)
    calls: int = 0
    throttled: int = 0
    entries_failed: int = 0

    def hook(self, events_client: Any) -> None:
        emitter = events_client.meta.events
        emitter.register_first("before-parameter-build.events.PutEvents", self._fail_entries, "bus-faults:build")
        emitter.register_first("before-call.events.PutEvents", self._answer_all_failed, "bus-faults:call")
        emitter.register_first("before-send.events.PutEvents", self._throttle, "bus-faults:send")
        emitter.register_first("after-call.events.PutEvents", self._add_failed, "bus-faults:after")

    def unhook(self, events_client: Any) -> None:
        emitter = events_client.meta.events
        for event, uid in (
            ("before-parameter-build.events.PutEvents", "bus-faults:build"),
            ("before-call.events.PutEvents", "bus-faults:call"),
            ("before-send.events.PutEvents", "bus-faults:send"),
            ("after-call.events.PutEvents", "bus-faults:after"),
        ):
            emitter.unregister(event, unique_id=uid)

    def _fail_entries(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        entries = list(params["Entries"])
        failed = set()
        for i, entry in enumerate(entries):
            event_id = json.loads(entry["Detail"])["id"]
            if self.stubborn.get(event_id, 0) > 0:
                self.stubborn[event_id] -= 1
                failed.add(i)
            elif self.rng.random() < self.entry_rate:
                failed.add(i)
        self.entries_failed += len(failed)
        context["bus_faults"] = (len(entries), sorted(failed))
        kept = [e for i, e in enumerate(entries) if i not in failed]
        if kept:
            params["Entries"] = kept
        else:
            context["bus_faults_all"] = True

    def _answer_all_failed(self, context: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if not context.pop("bus_faults_all", False):
            return None
        total, _failed = context.pop("bus_faults")
        http = AWSResponse("", 200, {}, _Body(b"{}"))
        return http, {"FailedEntryCount": total, "Entries": [self._error() for _ in range(total)]}

    def _throttle(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.throttle.get(self.calls, 0) == 0:
            return None
        self.throttle[self.calls] -= 1
        self.throttled += 1
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), "Content-Type": "application/x-amz-json-1.1"}
        request.url = "https://bus-faults.invalid/"  # never applied (moto's stub answers before-send too)
        return AWSResponse(request.url, 400, headers, _Body(body))

    def _add_failed(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        stash = context.pop("bus_faults", None)
        if not stash or not stash[1] or parsed.get("Error"):
            return
        total, failed = stash
        sent = iter(parsed.get("Entries", []))
        parsed["Entries"] = [self._error() if i in failed else next(sent) for i in range(total)]
        parsed["FailedEntryCount"] = int(parsed.get("FailedEntryCount", 0)) + len(failed)

    def _error(self) -> dict[str, str]:
        code = self.rng.choice(["ThrottlingException", "InternalFailure"])
        return {"ErrorCode": code, "ErrorMessage": f"{code} (injected)"}


@dataclasses.dataclass
class FailingDeliveries:
    """SendMessageBatch on apihub's SQS client, as SQS answers it when some entries fail: the
    delivery messages of the ``stubborn`` event ids are left out of the request and answered in
    ``Failed`` (``SenderFault: false``) that many times first (more than apihub's 5 tries: their
    stream record fails); the rest is sent."""

    stubborn: dict[str, int]
    failed: int = 0

    def hook(self, sqs: Any) -> None:
        emitter = sqs.meta.events
        emitter.register_first("before-parameter-build.sqs.SendMessageBatch", self._fail, "failing-deliveries:build")
        emitter.register_first("before-call.sqs.SendMessageBatch", self._all_failed, "failing-deliveries:call")
        emitter.register_first("after-call.sqs.SendMessageBatch", self._add_failed, "failing-deliveries:after")

    def unhook(self, sqs: Any) -> None:
        for event in ("before-parameter-build", "before-call", "after-call"):
            uid = {"before-parameter-build": "build", "before-call": "call", "after-call": "after"}[event]
            sqs.meta.events.unregister(f"{event}.sqs.SendMessageBatch", unique_id=f"failing-deliveries:{uid}")

    def _fail(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        failed = []
        for entry in params["Entries"]:
            event_id = json.loads(entry["MessageBody"])["event_id"]
            if self.stubborn.get(event_id, 0) > 0:
                self.stubborn[event_id] -= 1
                failed.append(entry["Id"])
        if not failed:
            return
        self.failed += len(failed)
        context["failing_deliveries"] = [
            {"Id": i, "SenderFault": False, "Code": "InternalError", "Message": "injected"} for i in failed
        ]
        kept = [e for e in params["Entries"] if e["Id"] not in failed]
        if kept:
            params["Entries"] = kept
        else:
            context["failing_deliveries_all"] = True

    def _all_failed(self, context: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if not context.pop("failing_deliveries_all", False):
            return None
        http = AWSResponse("", 200, {}, _Body(b"{}"))
        return http, {"Successful": [], "Failed": context.pop("failing_deliveries")}

    def _add_failed(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        failed = context.pop("failing_deliveries", None)
        if failed and not parsed.get("Error"):
            parsed.setdefault("Failed", []).extend(failed)


# ------------------------------------------------------------------ helpers


def _event(n: int, event_type: EventType, supplier: str) -> ChangeEvent:
    return ChangeEvent(
        id=f"evt_{n:032x}",
        type=event_type,
        occurred_at="2026-11-26T00:00:00.000Z",
        supplier_id=supplier,
        product_id=f"SKU-{n}",
        job_id="3f1c2b9e-8d7a-4c5b-9e6f-1a2b3c4d5e6f",
        data={"changed_fields": ["prices"]} if event_type is EventType.product_updated else {},
    )


def _subscribe(hub: Any, url: str, types: list[str], **extra: Any) -> dict[str, Any]:
    res = hub.api("POST", "/api/subscriptions", json_body={"url": url, "types": types, **extra})
    assert res.status == 201, res.json
    return res.json


def _drain_queue(hub: Any, url: str) -> list[dict[str, Any]]:
    out = []
    while got := hub.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        out += [json.loads(m["Body"]) for m in got]
        hub.sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        )
    return out


def _bus_sink(hub: Any) -> str:
    """An SQS queue receiving everything put on the bus (a consumer's rule, as the template's sample)."""
    events = boto3.client("events", region_name="us-east-1")
    bus = hub.stack.refs["ChangesBus"]
    sink = hub.sqs.create_queue(QueueName="bus-sink")["QueueUrl"]
    arn = hub.sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["apihub"]}), State="ENABLED")
    events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "sink", "Arn": arn}])
    return sink


# ------------------------------------------------------------------ 3. the dispatcher under faults


@pytest.mark.parametrize("seed", [1])
def test_every_event_reaches_the_bus_and_every_matching_subscription_under_faults(hub, fast_retries, seed: int) -> None:
    # Given a bus consumer, two subscriptions an updated product of demo matches and one it does not
    sink = _bus_sink(hub)
    demo = hub.add_supplier("demo")
    every = _subscribe(hub, "https://a.example.com/", ["product.updated"])
    only_demo = _subscribe(hub, "https://b.example.com/", ["product.updated"], supplier_id=demo["id"])
    jobs = _subscribe(hub, "https://c.example.com/", ["job.finished"])
    # ... and 30 events logged (the change log's stream carries them to the dispatcher)
    kinds = [EventType.product_updated, EventType.product_updated, EventType.job_finished]
    events = [_event(n, kinds[n % 3], demo["id"] if n % 4 else OTHER_SUPPLIER) for n in range(30)]
    ChangesRepository().record(events)
    expected = {
        e.id: {every["id"], only_demo["id"]} if e.supplier_id == demo["id"] else {every["id"]}
        for e in events
        if e.type is EventType.product_updated
    }
    expected |= {e.id: {jobs["id"]} for e in events if e.type is EventType.job_finished}
    # When the dispatcher reads them in batches of 7 while EventBridge throttles whole calls past
    # botocore's retries (a function error: Lambda bisects the batch) and fails entries inside
    # successful calls, SQS fails delivery messages and whole sends, DynamoDB throttles the
    # subscription queries, and three events' entries and three events' deliveries keep failing
    # past apihub's 5 tries (their stream records are reported failed)
    rng = random.Random(seed)
    throttle = {2: 6, 5: 2, 9: 6}  # calls 2 and 9 fail whole, call 5 gets through on its 3rd attempt
    bus = BusFaults(rng, entry_rate=0.3, throttle=throttle, stubborn={e.id: 6 for e in rng.sample(events, 3)})
    sqs = FailingDeliveries({e.id: 6 for e in rng.sample(events, 3)})
    dispatch = next(m for m in hub.stream_mappings if m.source.table == "ChangesTable")
    mapping = StreamMapping(
        functions=hub.functions,
        fn=dispatch.fn,
        source=dataclasses.replace(dispatch.source, batch_size=7),
        stream_arn=dispatch.stream_arn,
        streams=dispatch.streams,
        sqs=hub.sqs,
        on_failure_url=dispatch.on_failure_url,
    )
    bus.hook(client("events"))
    sqs.hook(client("sqs"))
    try:
        with inject_aws_faults(0.3, kinds={"sqs_batch_entries", "sqs_send_error", "throttling"}, seed=seed) as faults:
            for _ in range(500):
                if not mapping.poll_once():
                    break
    finally:
        bus.unhook(client("events"))
        sqs.unhook(client("sqs"))
    # Then every event is on the bus at least once, as itself
    on_bus = [(m["detail-type"], m["detail"]) for m in _drain_queue(hub, sink)]
    assert {d["id"] for _, d in on_bus} == {e.id for e in events}
    by_id = {e.id: e for e in events}
    assert all(t == by_id[d["id"]].type.value and d == by_id[d["id"]].model_dump(mode="json") for t, d in on_bus)
    # And every matching subscription has at least one delivery of it, no other subscription any
    deliveries: dict[str, set[str]] = defaultdict(set)
    for body in _drain_queue(hub, hub.stack.queue_urls["WebhookQueue"]):
        message = DeliveryMessage.model_validate(body)
        assert message.body == by_id[message.event_id].model_dump_json() and message.attempt == 1
        deliveries[message.event_id].add(message.subscription_id)
    assert dict(deliveries) == expected
    # And nothing went to the DLQ; the faults happened and made Lambda retry records
    assert mapping.stats.discarded == 0
    assert bus.throttled and bus.entries_failed and sqs.failed and faults.total, faults.counts
    assert mapping.stats.partial_failures > 0 and mapping.stats.errors > 0, mapping.stats


# ------------------------------------------------------------------ 4. webhook retries


class VirtualQueue:
    """The deliveries queue on a virtual clock: a message sent with ``DelaySeconds`` d is received d
    seconds later; the delivery worker (``webhooks.deliver``) takes them in due order."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.pending: list[tuple[float, int, dict[str, Any]]] = []
        self.delays: list[int] = []
        self.attempt_times: list[float] = []

    def send(self, body: dict[str, Any], delay_seconds: int) -> None:
        assert 0 <= delay_seconds <= SQS_MAX_DELAY_S  # SQS refuses more
        self.delays.append(delay_seconds)
        self.pending.append((self.now + delay_seconds, len(self.delays), body))

    def run(self, on_outcome: Any = None, max_receives: int = 500) -> list[str]:
        outcomes = []
        for _ in range(max_receives):
            if not self.pending:
                return outcomes
            self.pending.sort(key=lambda p: (p[0], p[1]))
            due, _, body = self.pending.pop(0)
            self.now = due
            outcome = webhooks.deliver(DeliveryMessage.model_validate(body), clock=lambda: self.now)
            if outcome in ("delivered", "failed", "gave_up"):
                self.attempt_times.append(self.now)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
        raise AssertionError("deliveries did not end")


@pytest.fixture
def deliveries(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """(hub with loopback URLs allowed, a receiver); the worker's re-sends go to a VirtualQueue."""
    monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "true")
    hub = request.getfixturevalue("hub")
    with receiver() as rx:
        yield hub, rx


def _first_message(hub: Any, rx: Any, queue: VirtualQueue, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(webhooks.queues, "send_webhook", queue.send)
    sub = _subscribe(hub, f"{rx.url}/hook", ["product.updated"])
    event = _event(1, EventType.product_updated, OTHER_SUPPLIER)
    message = DeliveryMessage(
        subscription_id=sub["id"], event_id=event.id, event_type=event.type.value, body=event.model_dump_json()
    )
    queue.pending.append((queue.now, 0, message.model_dump()))
    return sub


def _same_event_signed(rx: Any, sub: dict[str, Any], event_id: str) -> None:
    body = _event(1, EventType.product_updated, OTHER_SUPPLIER).model_dump_json().encode()
    for req in rx.requests:
        assert req["headers"]["Apihub-Event-Id"] == event_id
        assert req["body"] == body
        assert verify(sub["secret"], req["headers"]["Apihub-Signature"], req["body"])


def test_a_receiver_failing_three_times_gets_the_same_signed_event_until_it_answers_2xx(
    deliveries, monkeypatch
) -> None:
    hub, rx = deliveries
    start = 1_764_115_200.0
    queue = VirtualQueue(start)
    sub = _first_message(hub, rx, queue, monkeypatch)
    rx.answers["/hook"] = (500, {})

    def recover_after_three(outcome: str) -> None:
        if len(rx.requests) >= 3:
            rx.answers["/hook"] = (200, {})

    # When the deliveries run until nothing is left
    queue.run(recover_after_three)
    # Then the receiver got four attempts on the schedule (0, 1, 3, 7 minutes), each the same
    # event, body and id, each with a signature its secret verifies
    assert len(rx.requests) == 4
    assert [t - start for t in queue.attempt_times] == [0, 60, 180, 420]
    _same_event_signed(rx, sub, _event(1, EventType.product_updated, OTHER_SUPPLIER).id)
    # And the subscription's deliveries say so; nothing is left queued or dead-lettered
    listed = hub.api("GET", f"/api/subscriptions/{sub['id']}/deliveries").json
    assert [(d["attempt"], d["outcome"]) for d in reversed(listed)] == [
        (1, "failed"),
        (2, "failed"),
        (3, "failed"),
        (4, "delivered"),
    ]
    assert queue.pending == [] and _drain_queue(hub, hub.stack.queue_urls["WebhookDLQ"]) == []


def test_a_receiver_that_never_answers_2xx_is_tried_for_24_hours_then_dead_lettered(deliveries, monkeypatch) -> None:
    hub, rx = deliveries
    start = 1_764_115_200.0
    queue = VirtualQueue(start)
    sub = _first_message(hub, rx, queue, monkeypatch)
    rx.answers["/hook"] = (503, {})
    # When the deliveries run until nothing is left
    outcomes = queue.run()
    # Then every attempt fell on the documented schedule, the last at exactly 24 h, none after
    minutes = [0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 1440]  # docs/changes.md's table
    assert [t - start for t in queue.attempt_times] == [60 * m for m in minutes] == due_times(0.0)
    assert outcomes.count("gave_up") == 1 and outcomes[-1] == "gave_up"
    # (the long waits were SQS delays of at most 900 s each, never counted as attempts)
    assert max(queue.delays) == SQS_MAX_DELAY_S and outcomes.count("hop") > 12
    _same_event_signed(rx, sub, _event(1, EventType.product_updated, OTHER_SUPPLIER).id)
    # And the delivery is in the DLQ with its last error
    (dead,) = _drain_queue(hub, hub.stack.queue_urls["WebhookDLQ"])
    assert (dead["attempt"], dead["last_error"]) == (12, "HTTP 503")


def test_deleting_a_subscription_stops_its_pending_retries(deliveries, monkeypatch) -> None:
    hub, rx = deliveries
    queue = VirtualQueue(1_764_115_200.0)
    sub = _first_message(hub, rx, queue, monkeypatch)
    rx.answers["/hook"] = (503, {})

    def delete_after_two(outcome: str) -> None:
        if len(rx.requests) == 2 and outcome == "failed":
            assert hub.api("DELETE", f"/api/subscriptions/{sub['id']}").status == 204

    # When the subscription is deleted after two failed attempts
    outcomes = queue.run(delete_after_two)
    # Then its next attempt is dropped: no more requests, nothing re-queued or dead-lettered
    assert len(rx.requests) == 2 and outcomes[-1] == "dropped"
    assert queue.pending == [] and _drain_queue(hub, hub.stack.queue_urls["WebhookDLQ"]) == []


def test_a_throttled_subscription_query_is_retried_not_the_whole_batch(hub, fast_retries) -> None:
    # Given a subscription, and the subscription queries throttled past botocore's own 4 attempts
    sink = _bus_sink(hub)
    sub = _subscribe(hub, "https://a.example.com/", ["product.updated"])
    events = [_event(n, EventType.product_updated, OTHER_SUPPLIER) for n in range(3)]
    records = [
        {
            "eventName": "INSERT",
            "dynamodb": {"SequenceNumber": str(n), "NewImage": {"event": {"S": e.model_dump_json()}}},
        }
        for n, e in enumerate(events)
    ]
    throttled = iter(["throttling"] * 4)
    with inject_aws_faults(0.0, kinds={"throttling"}, operations={"Query"}, chooser=lambda *_: next(throttled, None)):
        # When the dispatcher handles the batch
        result = hub.functions.invoke("DispatchChangesFunction", {"Records": records})
    # Then it succeeded: each event on the bus once, one delivery each (a failed invocation would
    # have put them all on the bus again)
    assert result == {"batchItemFailures": []}
    assert sorted(m["detail"]["id"] for m in _drain_queue(hub, sink)) == [e.id for e in events]
    messages = _drain_queue(hub, hub.stack.queue_urls["WebhookQueue"])
    assert sorted((m["subscription_id"], m["event_id"]) for m in messages) == [(sub["id"], e.id) for e in events]
