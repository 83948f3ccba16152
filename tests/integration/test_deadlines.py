"""Issue 12 finding 2: every supplier call has a deadline inside the invocation's remaining time,
and outcomes are committed progressively, so running out of time (or dying) loses at most the
products in flight, and those go back on the queue unspent."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from apihub.adapters.http import HttpClient
from apihub.dal.jobs import JobsRepository
from apihub.dal.limits import Slot
from apihub.errors import OutOfTime, Throttled
from apihub.pipeline import hydrate
from apihub.ratelimit import Limits, SupplierLimiter

from apihub_fakes.demo_adapter import DemoAdapter
from apihub_fakes.promostandards import running_fake_promostandards
from apihub_local.events import sqs_event
from tests.integration.test_outbound_and_limits import loopback_server


class Deadline:
    """A call guard that only gives a deadline (no limits)."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def before_call(self) -> None:
        pass

    def after_call(self, status: int | None, retry_after: float | None) -> None:
        pass

    def time_left(self) -> float:
        return self.ends - time.monotonic()


class FakeContext:
    """A Lambda context whose remaining time runs on ``clock`` (seconds)."""

    def __init__(self, remaining_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.ends = clock() + remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.ends - self.clock()) * 1000))


# ------------------------------------------------------------------ one call


def _slow(seconds: float) -> Callable[[Any], None]:
    def answer(handler: Any) -> None:
        time.sleep(seconds)
        handler.send_response(200)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    return answer


def test_a_slow_answer_is_cut_at_the_invocations_deadline_not_at_its_read_timeout() -> None:
    # Given a supplier answering after 3 s, a 30 s read timeout, and 0.6 s left before the deadline
    with loopback_server({"/slow": (200, {}, _slow(3.0))}) as base:
        client = HttpClient(allow_insecure=True, read_timeout=30.0, guard=Deadline(0.6), min_call_s=0.1)
        started = time.monotonic()
        # Then the call ends at the deadline as "out of time" (not a transient supplier error)
        with pytest.raises(OutOfTime):
            client.request("GET", f"{base}/slow")
        assert time.monotonic() - started < 1.5


def test_a_call_there_is_no_time_for_is_never_made() -> None:
    calls: list[str] = []

    def answer(handler: Any) -> None:
        calls.append(handler.path)
        _slow(0)(handler)

    with loopback_server({"/p": (200, {}, answer)}) as base:
        client = HttpClient(allow_insecure=True, guard=Deadline(0.5), min_call_s=1.0)
        with pytest.raises(OutOfTime, match="not called"):
            client.request("GET", f"{base}/p")
    assert calls == []


class _Slots:
    """A limits repository with one free slot and no penalty (the limiter's DynamoDB side)."""

    def acquire_slot(self, *args: Any) -> Slot:
        return Slot(number=0, tokens=0.0, refilled_ms=int(time.time() * 1000))

    def penalty(self, supplier_id: str) -> tuple[int, float]:
        return 0, 1.0

    def release_slot(self, *args: Any) -> None:
        pass


def test_the_limiters_wait_ends_at_the_deadline() -> None:
    # Given an empty token share that refills in 2 s, a 5 s limit on waiting, and 0.5 s left
    now = [1000.0]
    limiter = SupplierLimiter(
        "s",
        Limits(rate=0.5, burst=1, max_concurrency=1),
        lease_s=60,
        repo=_Slots(),  # type: ignore[arg-type]
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        max_wait_s=5.0,
        time_left=lambda: 0.5,
    )
    # Then it does not wait past the deadline: out of time, not throttled (the supplier allows it)
    with pytest.raises(OutOfTime):
        limiter.before_call()
    assert now[0] == 1000.0
    # And without a deadline in the way, the same wait is made
    limiter._time_left = None
    limiter.before_call()
    assert now[0] == pytest.approx(1002.0)
    # And a wait longer than the limiter allows is still throttling, whatever the deadline
    limiter._time_left = lambda: 0.5
    limiter.limits = Limits(rate=0.01, burst=1, max_concurrency=1)
    with pytest.raises(Throttled):
        limiter.before_call()


# ------------------------------------------------------------------ a hydrate invocation


def _hydrate_mapping(hub: Any) -> Any:
    return next(m for m in hub.mappings if m.fn.logical_id == "HydrateFunction")


def _receive(hub: Any, count: int = 10) -> list[dict[str, Any]]:
    url = hub.stack.queue_urls["HydrateQueue"]
    return hub.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, AttributeNames=["All"]).get("Messages", [])


def _invoke(hub: Any, messages: list[dict[str, Any]], context: Any) -> dict[str, Any]:
    """The hydrate function on ``messages`` with ``context``; what succeeded is deleted (the ESM)."""
    url = hub.stack.queue_urls["HydrateQueue"]
    result = hydrate.handle_batch(sqs_event(messages, hub.stack.attrs[("HydrateQueue", "Arn")])["Records"], context)
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    for m in messages:
        if m["MessageId"] not in failed:
            hub.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return result


def _outcomes(job_id: str) -> dict[str, str]:
    return JobsRepository().outcome_statuses(job_id, consistent=True)


def test_a_slow_supplier_near_the_deadline_loses_nothing_and_hands_the_rest_back_unspent(hub, monkeypatch) -> None:
    monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "true")
    from apihub_local.harness import reset_process_state

    reset_process_state()
    with running_fake_promostandards(products=6, seed=3, slow_ms=7000) as fake:
        # Given a PromoStandards supplier (read timeout 8 s) and an import fanned out in one message
        hub.add_supplier(
            "slow-ps",
            adapter="PromoStandardsAdapter",
            protocol="promostandards",
            protocol_config=fake.protocol_config(read_timeout=8),
            auth_config=fake.credentials,
        )
        job_id = hub.start_import("slow-ps", mode="full_sellable").json["sync_job_id"]
        next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction").poll_once()
        (message,) = _receive(hub)
        skus = json.loads(message["Body"])["skus"]
        # And its third product answers after 7 s, just under the read timeout, once
        fake.fault_skus[skus[2]] = "slow"
        fake.fault_times[skus[2]] = 1
        # When a hydrate invocation with 4 s left before its deadline gets the message
        context = FakeContext(15.0 + 4.0)  # the commit reserve (APIHUB_HYDRATE_TIME_RESERVE_MS) + 4 s
        result = _invoke(hub, [message], context)
        # Then the slow call ended at the deadline: the invocation kept its reserve for the commit
        assert context.get_remaining_time_in_millis() > 10_000
        # And the products it finished are committed (the others were fetched while the slow one
        # was in flight: several calls in flight per invocation), the slow one is not failed or counted
        assert _outcomes(job_id) == {sku: "success" for sku in skus if sku != skus[2]}
        assert result["batchItemFailures"] == []  # no receive burnt for the rest
        # And the product in flight is back on the queue as a fresh message
        (handed_on,) = _receive(hub)
        assert json.loads(handed_on["Body"])["skus"] == [skus[2]]
        assert handed_on["Attributes"]["ApproximateReceiveCount"] == "1"
        hub.sqs.change_message_visibility(
            QueueUrl=hub.stack.queue_urls["HydrateQueue"], ReceiptHandle=handed_on["ReceiptHandle"], VisibilityTimeout=0
        )
        # And once the supplier is quick again, the import ends with every product counted once
        hub.drain()
    job = hub.job(job_id)
    assert (job["status"], job["success_count"], job["failed_count"]) == ("success", len(skus), 0)
    assert job["total_products"] == len(skus)


class LambdaTimeout(BaseException):
    """The invocation is killed here (no ``except Exception`` can catch it, as none can in Lambda)."""


@pytest.mark.parametrize(
    ("seconds_each", "killed_after", "kept_at_least"),
    [
        (4.0, 20, 15),  # a slow supplier: commits every 20 s of work (5 products)
        (0.0, 48, 45),  # a fast one: commits every transaction's worth (45 products)
    ],
)
def test_an_invocation_killed_after_n_products_keeps_what_it_committed(
    hub, monkeypatch, seconds_each: float, killed_after: int, kept_at_least: int
) -> None:
    # Given an import of 50 products fanned out in 5 messages (one hydrate batch)
    hub.add_supplier("demo", protocol_config={"products": 50})
    job_id = hub.start_import("demo", mode="full_sellable").json["sync_job_id"]
    next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction").poll_once()
    messages = _receive(hub)
    assert sum(len(json.loads(m["Body"])["skus"]) for m in messages) == 50
    # And a supplier taking ``seconds_each`` a product (a virtual clock) that hangs on the next one
    # after ``killed_after`` until Lambda kills the invocation
    clock = [0.0]
    context = FakeContext(150.0, clock=lambda: clock[0])
    real = DemoAdapter.hydrate
    fetched: list[str] = []

    def hydrate_slowly(self: DemoAdapter, ref: Any) -> Any:
        if len(fetched) == killed_after:
            clock[0] = context.ends
            raise LambdaTimeout
        clock[0] += seconds_each
        fetched.append(ref.product_id)
        return real(self, ref)

    monkeypatch.setattr(DemoAdapter, "hydrate", hydrate_slowly)
    # When the invocation dies
    with pytest.raises(LambdaTimeout):
        _invoke(hub, messages, context)
    # Then what it committed stays: all but its last 20 s of work or its last transaction's worth
    committed = _outcomes(job_id)
    assert set(committed) <= set(fetched) and len(committed) >= kept_at_least, (len(committed), len(fetched))
    item = JobsRepository().get_item(job_id)
    assert int(item.success_count) == len(committed)  # counted with their outcomes, once
    # And the redelivered batch finishes the import, each product counted once
    monkeypatch.setattr(DemoAdapter, "hydrate", real)
    url = hub.stack.queue_urls["HydrateQueue"]
    for m in messages:
        hub.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    hub.drain()
    job = hub.job(job_id)
    assert (job["status"], job["success_count"], job["failed_count"]) == ("success", 50, 0)
