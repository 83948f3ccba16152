"""The simulation's own machinery (apihub_sim), without AWS: virtual time and deadlines, SQS
semantics (delay, visibility, receive counts, redrive), the event source mapping's batching and
concurrency, and what it reads from template.yaml."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apihub_local.template import Template
from apihub_sim.kernel import Kernel, LambdaTimeout, SimulationStopped
from apihub_sim.lambdas import EventSourceMapping, MappingStats
from apihub_sim.sqs import SimQueue, SqsError
from apihub_sim.timing import SourceTiming, TemplateTiming, rate_seconds, with_parameters

# ------------------------------------------------------------------ kernel


def test_processes_interleave_in_virtual_time_order() -> None:
    kernel = Kernel()
    seen: list[tuple[str, float]] = []

    def worker(name: str, pause: float) -> None:
        for _ in range(3):
            kernel.sleep(pause)
            seen.append((name, kernel.now))

    kernel.spawn("a", lambda: worker("a", 2.0))
    kernel.spawn("b", lambda: worker("b", 3.0), at=1.0)
    kernel.run(100)
    # at 4.0 both are due: b asked first (at 1.0, a at 2.0), so b goes first
    assert seen == [("a", 2.0), ("b", 4.0), ("a", 4.0), ("a", 6.0), ("b", 7.0), ("b", 10.0)]


def test_a_wait_past_the_deadline_stops_the_process_there_and_the_rest_does_not_run() -> None:
    kernel = Kernel()
    ran_after: list[float] = []
    ended: list[tuple[float, type | None]] = []

    def handler() -> None:
        kernel.sleep(100)  # fine: 100 of 120 s
        kernel.sleep(25)  # would end at 125: stopped at 120
        ran_after.append(kernel.now)

    kernel.spawn("fn", handler, timeout=120, on_done=lambda p: ended.append((kernel.now, type(p.error))))
    kernel.run(1000)
    assert ran_after == []
    assert ended == [(120.0, LambdaTimeout)]


def test_a_stopped_process_cannot_wait_again_even_when_its_code_catches_exceptions() -> None:
    kernel = Kernel()
    attempts: list[str] = []

    def handler() -> None:
        try:
            kernel.sleep(200)
        except Exception:  # handlers catch Exception; LambdaTimeout is not one
            attempts.append("caught")
        finally:
            try:
                kernel.sleep(1)  # e.g. a cleanup call to AWS past the deadline
            except LambdaTimeout:
                attempts.append("refused")
                raise

    kernel.spawn("fn", handler, timeout=10)
    kernel.run(1000)
    assert attempts == ["refused"]


def test_shutdown_ends_waiting_processes() -> None:
    kernel = Kernel()
    errors: list[BaseException | None] = []
    process = kernel.spawn("slow", lambda: kernel.sleep(10_000))
    process.on_done = lambda p: errors.append(p.error)
    kernel.run(5)
    kernel.shutdown()
    assert process.done and isinstance(process.error, SimulationStopped) and kernel.live == 0


# ------------------------------------------------------------------ SQS


def _queue(kernel: Kernel, **kwargs: Any) -> SimQueue:
    return SimQueue("Q", "url", "arn", kernel, visibility_timeout_s=kwargs.pop("visibility", 30), **kwargs)


def test_delay_then_visibility_timeout_then_redelivery_with_a_higher_receive_count() -> None:
    kernel = Kernel()
    queue = _queue(kernel)
    queue.send(json.dumps({"job_id": "j"}), delay_s=60)
    assert queue.counts()["ApproximateNumberOfMessagesDelayed"] == 1 and queue.receive(10) == []
    kernel.now = 60
    (first,) = queue.receive(10)
    assert first.receive_count == 1 and queue.counts()["ApproximateNumberOfMessagesNotVisible"] == 1
    kernel.now = 89
    assert queue.receive(10) == []
    kernel.now = 90
    (again,) = queue.receive(10)
    assert again.receive_count == 2 and again.receipt != f"{first.id}#1"
    assert queue.held_for("j") == 1


def test_change_visibility_needs_the_latest_receipt_and_a_message_in_flight() -> None:
    kernel = Kernel()
    queue = _queue(kernel)
    queue.send("{}")
    (message,) = queue.receive(1)
    old = message.receipt
    queue.change_visibility(old, 900)
    assert queue.next_visible_at() == 900
    kernel.now = 900
    queue.receive(1)
    with pytest.raises(SqsError) as stale:
        queue.change_visibility(old, 10)
    assert stale.value.code == "ReceiptHandleIsInvalid"
    assert not queue.delete(old) and queue.delete(message.receipt)
    assert len(queue) == 0


def test_a_message_received_max_receive_count_times_goes_to_the_dead_letter_queue() -> None:
    kernel = Kernel()
    dlq = _queue(kernel)
    queue = _queue(kernel, max_receive_count=3, dead_letter=dlq)
    queue.send("{}")
    for receive in range(1, 4):
        (message,) = queue.receive(1)
        assert message.receive_count == receive
        kernel.now += 30
    assert queue.receive(1) == []  # the fourth receive moves it instead
    assert len(queue) == 0 and len(dlq) == 1 and dlq.stats["dead_lettered"] == 1


# ------------------------------------------------------------------ event source mapping


class _FakeInvoker:
    """Records invocations; each one ends after ``seconds`` reporting ``fail`` ids as failures."""

    def __init__(self, kernel: Kernel, seconds: float = 5.0) -> None:
        self.kernel = kernel
        self.seconds = seconds
        self.batches: list[tuple[float, int]] = []
        self.fail: set[str] = set()
        self.running = 0
        self.most = 0

    def invoke(self, function: str, event: dict[str, Any], on_done: Any) -> None:
        records = event["Records"]
        self.batches.append((self.kernel.now, len(records)))
        self.running += 1
        self.most = max(self.most, self.running)

        def run() -> dict[str, Any]:
            self.kernel.sleep(self.seconds)
            self.running -= 1
            return {
                "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["body"] in self.fail]
            }

        self.kernel.spawn(function, run, on_done=lambda p: on_done(p, p.result))


class _Clock:
    def at(self, seconds: float) -> Any:
        from datetime import UTC, datetime

        return datetime.fromtimestamp(seconds, UTC)


def _mapping(kernel: Kernel, queue: SimQueue, **source: Any) -> tuple[EventSourceMapping, _FakeInvoker]:
    invoker = _FakeInvoker(kernel)
    invoker.clock = _Clock()  # type: ignore[attr-defined]
    timing = SourceTiming(
        function="Fn",
        queue="Q",
        batch_size=source.get("batch_size", 5),
        max_concurrency=source.get("max_concurrency", 2),
        batching_window_s=source.get("window", 1),
        report_failures=True,
    )
    return EventSourceMapping(kernel, invoker, timing, queue), invoker  # type: ignore[arg-type]


def test_batches_fill_up_to_batch_size_and_at_most_max_concurrency_run_at_once() -> None:
    kernel = Kernel()
    queue = _queue(kernel, visibility=60)
    mapping, invoker = _mapping(kernel, queue, batch_size=5, max_concurrency=2)
    for i in range(23):
        queue.send(str(i))
    kernel.run(1000)
    assert [n for _, n in invoker.batches] == [5, 5, 5, 5, 3]
    assert invoker.most == 2 and len(queue) == 0
    assert isinstance(mapping.stats, MappingStats) and mapping.stats.deleted == 23


def test_a_partial_batch_waits_for_the_batching_window() -> None:
    kernel = Kernel()
    queue = _queue(kernel)
    _, invoker = _mapping(kernel, queue, batch_size=5, window=1)
    queue.send("only one")
    kernel.run(100)
    assert invoker.batches == [(1.0, 1)]


def test_reported_failures_stay_in_flight_until_their_visibility_timeout() -> None:
    kernel = Kernel()
    queue = _queue(kernel, visibility=60)
    _, invoker = _mapping(kernel, queue, batch_size=2, window=0)
    invoker.fail = {"bad"}
    queue.send("bad")
    queue.send("good")
    kernel.run(61)
    # the good one was deleted; the bad one came back at 60 s (received at 0) and was received again
    assert invoker.batches == [(0.0, 2), (60.0, 1)]


# ------------------------------------------------------------------ the template


def test_the_timing_comes_from_the_template() -> None:
    timing = TemplateTiming.read(Template())
    data = Template().data
    hydrate = timing.source_for(timing.function_by_folder("hydrate").logical_id)
    assert (
        hydrate.batch_size
        == data["Resources"]["HydrateFunction"]["Properties"]["Events"]["Hydrate"]["Properties"]["BatchSize"]
    )
    assert hydrate.max_concurrency == data["Parameters"]["HydrateMaxConcurrency"]["Default"]
    assert (
        timing.functions["HydrateFunction"].timeout_s == data["Resources"]["HydrateFunction"]["Properties"]["Timeout"]
    )
    queue = timing.queues["HydrateQueue"]
    assert queue.visibility_timeout_s == data["Resources"]["HydrateQueue"]["Properties"]["VisibilityTimeout"]
    assert queue.max_receive_count == data["Parameters"]["HydrateMaxReceiveCount"]["Default"]
    assert queue.dead_letter_queue == "HydrateDLQ"
    assert timing.stall_minutes == data["Parameters"]["StallMinutes"]["Default"]
    sweeper = timing.schedule_for(timing.function_by_folder("sweeper").logical_id)
    assert sweeper.period_s == rate_seconds(data["Parameters"]["SweeperSchedule"]["Default"])


def test_parameter_overrides_follow_the_templates_own_rules() -> None:
    stall = Template().data["Parameters"]["StallMinutes"]["MinValue"] + 15
    timing = TemplateTiming.read(with_parameters(HydrateMaxConcurrency=2, StallMinutes=stall))
    assert timing.source_for("HydrateFunction").max_concurrency == 2 and timing.stall_minutes == stall
    with pytest.raises(ValueError, match="HydrateMaxConcurrency: must be at least"):
        with_parameters(HydrateMaxConcurrency=1)
    with pytest.raises(ValueError, match="not a parameter"):
        with_parameters(NoSuchThing=1)
    assert rate_seconds("rate(1 hour)") == 3600
    with pytest.raises(ValueError):
        rate_seconds("cron(0 1 * * ? *)")


# ------------------------------------------------------------------ the SQS stub, through botocore


def test_the_sqs_stub_answers_the_layers_calls_as_sqs_does() -> None:
    import boto3
    from botocore.exceptions import ClientError

    from apihub_sim.sqs import SqsStub

    kernel = Kernel()
    queue = SimQueue("Q", "https://sqs.us-east-1.amazonaws.com/123456789012/q", "arn", kernel, visibility_timeout_s=30)
    sqs = boto3.client(
        "sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )  # never sent anywhere: the stub answers every call
    stub = SqsStub({"Q": queue})
    stub.hook(sqs)
    try:
        sent = sqs.send_message(QueueUrl=queue.url, MessageBody='{"job_id": "j"}', DelaySeconds=5)
        batch = sqs.send_message_batch(
            QueueUrl=queue.url, Entries=[{"Id": str(i), "MessageBody": "{}"} for i in range(3)]
        )
        assert sent["MessageId"] in queue.messages and len(batch["Successful"]) == 3 and not batch.get("Failed")
        (received,) = queue.receive(1)
        attrs = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
        assert attrs == {
            "ApproximateNumberOfMessages": "2",
            "ApproximateNumberOfMessagesNotVisible": "1",
            "ApproximateNumberOfMessagesDelayed": "1",
        }
        sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=received.receipt, VisibilityTimeout=900)
        assert received.visible_at == 900
        with pytest.raises(ClientError) as bad:
            sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle="nope#1#x", VisibilityTimeout=1)
        assert bad.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    finally:
        stub.unhook()
