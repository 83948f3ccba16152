"""The change feed's detection side under AWS's conditions (issue 15; docs/changes.md, "Guarantees
under AWS's conditions"): one event per committed change, none for a change that did not commit,
the same event (same ``id``) however often a stream record is handled.

* The stream Lambda (``ChangesFunction``) replays a real products-table stream under a fault
  schedule hypothesis draws: DynamoDB errors and throttling on the change log's writes at any point
  of a batch (absorbed by the retries, or lasting until the record is reported in
  ``batchItemFailures``), invocations that die mid-batch (a function error: Lambda bisects), batch
  sizes from 1 to 100, and two copies of the stream consumer handling the same batches at once.
  Lambda's side is the local stack's own model of a stream event source mapping
  (``apihub_local.streams.StreamMapping``: resume from the lowest reported record, bisect on a
  function error, retries, on-failure destination).
* No event for an uncommitted change: hydrate transactions cancelled by conflicts, duplicate
  deliveries and a job ended mid-batch leave no product write, so no stream record and no event;
  ``job.finished`` exists iff the job's ending transaction committed.

``APIHUB_FEED_PBT_EXAMPLES`` sets the property's examples (``make test``: 10, derandomized;
``make verify``: more, with fresh randomness when ``APIHUB_PBT_RANDOM=1``).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import Counter, deque
from typing import Any

import pytest
from apihub.changes.events import ChangeEvent
from apihub.dal.jobs import JobsRepository
from apihub.dal.tables import ChangeItem, ProductItem
from apihub.settings import reset_settings
from botocore.retries import standard
from botocore.retries.quota import RetryQuota
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apihub_local.aws_faults import inject_aws_faults
from apihub_local.streams import StreamMapping
from apihub_verify import record

EXAMPLES = int(os.environ.get("APIHUB_FEED_PBT_EXAMPLES", "10"))
DERANDOMIZE = os.environ.get("APIHUB_PBT_RANDOM", "") not in ("1", "true")
# The faults DynamoDB answers a PutItem with (apihub_local.aws_faults).
PUT_FAULTS = ("write_conflict", "throttling", "provisioned_throughput", "internal_error")
# The scenario's changes, one event each (the oracle the replays are held to).
SCENARIO = {"product.created": 5, "product.updated": 5, "product.discontinued": 1, "product.reactivated": 1}


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """apihub's and botocore's retries without their pauses (the attempts still count), and each
    test with botocore's full retry quota (running it dry is a client choice, not AWS's)."""
    monkeypatch.setenv("APIHUB_AWS_RETRY_BASE_MS", "1")
    monkeypatch.setenv("APIHUB_AWS_RETRY_CAP_MS", "2")
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(RetryQuota, "acquire", lambda self, capacity_amount: True)
    reset_settings()


# ------------------------------------------------------------------ reading the tables


def logged_events() -> dict[str, str]:
    """The change log's stream-made events (``job.finished`` is written by the job's ending, not by
    the stream): event id -> the event's JSON (what every delivery path sends)."""
    return {item.id: item.event for item in ChangeItem.scan(ChangeItem.type != "job.finished")}


def job_finished(job_id: str) -> list[ChangeItem]:
    return [item for item in ChangeItem.scan(ChangeItem.job_id == job_id) if item.type == "job.finished"]


class TableStream:
    """A table's stream, record by record: ``ChangesTable`` (the change log's own stream, what
    EventBridge and webhooks read) or ``ProductsTable`` (a record exists iff a write committed)."""

    def __init__(self, hub: Any, table: str = "ChangesTable") -> None:
        mapping = next(m for m in hub.stream_mappings if m.source.table == table)
        self.streams, self.arn = mapping.streams, mapping.stream_arn
        self.last: str | None = None

    def read_new(self) -> list[dict[str, Any]]:
        """Every record written since the last call (from the shard's start the first time)."""
        shard = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"][0]["ShardId"]
        at: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        if self.last is not None:
            at = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self.last}
        iterator = self.streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard, **at)["ShardIterator"]
        records: list[dict[str, Any]] = []
        while True:
            got = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            records += got["Records"]
            if not got["Records"]:
                break
            iterator = got["NextShardIterator"]
        if records:
            self.last = records[-1]["dynamodb"]["SequenceNumber"]
        return records


def set_config(hub: Any, supplier: dict[str, Any], **config: Any) -> None:
    body = {"protocol_config": {**supplier["protocol_config"], **config}}
    res = hub.api("PATCH", f"/api/suppliers/{supplier['id']}", json_body=body)
    assert res.status == 200, res.json
    supplier["protocol_config"] = res.json["protocol_config"]


# ------------------------------------------------------------------ 1. the stream Lambda under faults


class InvocationDied(BaseException):
    """The invocation is gone (a timeout, out of memory): nothing in it catches this."""


@dataclasses.dataclass
class CopyPlan:
    """One stream consumer's fault schedule, consumed one change log write attempt at a time:
    ``("pass", n)`` lets n attempts through, ``("fault", kind, n)`` answers n with ``kind`` (the
    retries absorb them), ``("stuck", kind)`` answers every attempt with ``kind`` until the
    invocation ends (the record is reported failed), ``("die",)`` ends the invocation there (a
    function error). Past its steps, no more faults."""

    steps: list[tuple[Any, ...]]
    queue: deque[str | None] = dataclasses.field(default_factory=deque)
    stuck: str | None = None

    def invocation_started(self) -> None:
        self.stuck = None

    def choose(self) -> str | None:
        if self.stuck is not None:
            return self.stuck
        while not self.queue and self.steps:
            step = self.steps.pop(0)
            if step[0] == "pass":
                self.queue.extend([None] * step[1])
            elif step[0] == "fault":
                self.queue.extend([step[1]] * step[2])
            elif step[0] == "stuck":
                self.stuck = step[1]
                return self.stuck
            else:
                raise InvocationDied("the invocation died before this write")
        return self.queue.popleft() if self.queue else None


class LambdaInvocations:
    """What a stream mapping invokes: the template's function, in its own execution environment per
    call (``Functions``); an invocation that died is a function error, as Lambda reports it."""

    def __init__(self, functions: Any, plan: CopyPlan) -> None:
        self.functions, self.plan = functions, plan

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        self.plan.invocation_started()
        try:
            return self.functions.invoke(logical_id, event)
        except InvocationDied as exc:
            raise RuntimeError("the invocation died (function error)") from exc


KIND = st.sampled_from(PUT_FAULTS)
STEP = st.one_of(
    st.tuples(st.just("pass"), st.integers(0, 6)),
    st.tuples(st.just("fault"), KIND, st.integers(1, 3)),
    st.tuples(st.just("stuck"), KIND),
    st.just(("die",)),
)
# At most 10 steps: a copy fails a batch at most 10 times, never past the mapping's
# MaximumRetryAttempts (10), so no record is handed to ChangesDLQ (a path of its own).
COPY_PLAN = st.lists(STEP, max_size=10)


def replay(hub: Any, plans: list[CopyPlan], batch_size: int) -> tuple[list[StreamMapping], Counter[str]]:
    """Every copy reads the products table's stream from its start, at once, each in its thread,
    until it has handled everything; the faults of its plan on its own change log writes."""
    products = next(m for m in hub.stream_mappings if m.source.table == "ProductsTable")
    copies = [
        StreamMapping(
            functions=LambdaInvocations(hub.functions, plan),
            fn=products.fn,
            source=dataclasses.replace(products.source, batch_size=batch_size),
            stream_arn=products.stream_arn,
            streams=products.streams,
            sqs=hub.sqs,
            on_failure_url=products.on_failure_url,
        )
        for plan in plans
    ]
    by_thread: dict[str, CopyPlan] = {}
    errors: list[BaseException] = []

    def consume(index: int) -> None:
        by_thread[threading.current_thread().name] = plans[index]
        try:
            for _ in range(500):
                if not copies[index].poll_once():
                    return
            raise AssertionError("the stream copy did not finish")
        except BaseException as exc:  # reported to the test's thread
            errors.append(exc)

    def choose(service: str, operation: str) -> str | None:
        plan = by_thread.get(threading.current_thread().name)
        return plan.choose() if plan is not None else None

    threads = [threading.Thread(target=consume, args=(i,), name=f"stream-copy-{i}") for i in range(len(copies))]
    with inject_aws_faults(0.0, kinds=PUT_FAULTS, operations={"PutItem"}, chooser=choose) as faults:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert not errors and not any(t.is_alive() for t in threads), errors
    return copies, faults.counts


def test_the_stream_lambda_logs_each_change_once_under_faults_retries_bisection_and_copies(hub, fast_retries) -> None:
    # Given a products table whose stream holds creations, updates, a discontinuation and a
    # reactivation (real imports), and the change log the stream Lambda made of it without faults
    supplier = hub.add_supplier("demo", protocol_config={"products": 5})
    hub.run_import("demo", mode="full_sellable")
    set_config(hub, supplier, revision=1)
    hub.run_import("demo", mode="full_sellable")
    set_config(hub, supplier, unlisted_skus=["DEMO-00002"])
    hub.run_import("demo", mode="full_sellable")
    set_config(hub, supplier, unlisted_skus=[])
    hub.run_import("demo", mode="full_sellable")
    clean = logged_events()
    assert Counter(ChangeEvent.model_validate_json(e).type.value for e in clean.values()) == SCENARIO
    log_stream = TableStream(hub)
    log_stream.read_new()
    figures: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    # Always tried, besides the drawn ones: one consumer alone whose third write fails until it is
    # reported, then whose invocation dies (a second copy would write what the first one lost, so
    # this is the case that shows a lost record), and two copies failing at different points.
    @example(plans=[[("pass", 2), ("stuck", "throttling"), ("pass", 1), ("die",)]], batch_size=5)
    @example(
        plans=[[("fault", "write_conflict", 2), ("stuck", "internal_error")], [("die",), ("pass", 4), ("die",)]],
        batch_size=3,
    )
    @given(
        plans=st.lists(COPY_PLAN, min_size=1, max_size=2),
        batch_size=st.sampled_from([1, 2, 3, 5, 100]),
    )
    def replayed_under_faults(plans: list[list[tuple[Any, ...]]], batch_size: int) -> None:
        # Given an empty change log (the stream's records are still there)
        for item in ChangeItem.scan(ChangeItem.type != "job.finished"):
            item.delete()
        log_stream.read_new()
        # When one copy of the stream Lambda, or two at once, handle the whole stream under faults
        copy_plans_ = [CopyPlan(list(steps)) for steps in plans]
        copies, faults = replay(hub, copy_plans_, batch_size)
        figures.update({f"AWS {kind}": n for kind, n in faults.items()})
        figures["examples"] += 1
        figures["partial batch failures"] += sum(c.stats.partial_failures for c in copies)
        figures["function errors (bisected)"] += sum(c.stats.errors for c in copies)
        # Then nothing was handed to the on-failure destination, and the log holds exactly the
        # clean run's events: one per change, the same ids, the same JSON
        assert [c.stats.discarded for c in copies] == [0] * len(copies)
        assert logged_events() == clean
        # And each was written once: the log's stream saw one INSERT per event, nothing rewritten
        # (a rewrite would move the event in the feed and send it again)
        written = [r for r in log_stream.read_new() if r["eventName"] != "REMOVE"]
        assert sorted((r["eventName"], r["dynamodb"]["NewImage"]["id"]["S"]) for r in written) == sorted(
            ("INSERT", event_id) for event_id in clean
        )

    failures = 0
    try:
        replayed_under_faults()
    except BaseException:
        failures = 1
        raise
    finally:
        record(
            "property-based-change-feed",
            "stream-lambda",
            title="Property-based: change feed stream Lambda under DynamoDB faults (hypothesis, moto)",
            examples=figures.pop("examples", 0),
            faults=dict(figures),
            failures=failures,
            notes=[
                f"max_examples={EXAMPLES}, one copy or two concurrent ones: "
                + ("a property failed (see the test's output)" if failures else "12 changes, 12 events, same ids")
            ],
        )


# ------------------------------------------------------------------ 2. no event for an uncommitted change


def stored_products(supplier_id: str) -> dict[str, str]:
    """The products table: product id -> content hash."""
    return {p.product_id: p.content_hash for p in ProductItem.query(supplier_id)}


def committed_successes(job_id: str) -> set[str]:
    """The SKUs whose success the job's hydrate transactions committed (its outcome groups)."""
    statuses = JobsRepository().outcome_statuses(job_id, consistent=True)
    return {sku for sku, status in statuses.items() if status == "success"}


def product_events(supplier_id: str) -> dict[str, ChangeEvent]:
    """The change log's product events of a supplier, by product id (one each, or the test fails)."""
    events = [ChangeEvent.model_validate_json(e) for e in logged_events().values()]
    mine = [e for e in events if e.supplier_id == supplier_id]
    assert len({e.product_id for e in mine}) == len(mine), "more than one event for a product"
    return {str(e.product_id): e for e in mine}


def test_cancelled_hydrate_transactions_leave_no_write_and_no_event(hub, fast_retries, monkeypatch) -> None:
    from apihub_fakes.demo_adapter import DemoAdapter

    # Given every product's outcome committed as soon as it is ready (one transaction each), each
    # hydrate invocation delivered twice, 30% of the transactions cancelled for a conflict (nothing
    # written, retried), and a supplier call that, for the 4th product, is answered only after the
    # job was PATCHed to failed
    monkeypatch.setenv("APIHUB_HYDRATE_COMMIT_EVERY_S", "0")
    monkeypatch.setenv("APIHUB_HYDRATE_CALLS_IN_FLIGHT", "1")
    reset_settings()
    supplier = hub.add_supplier("demo", protocol_config={"products": 8})
    (hydrate_mapping,) = [m for m in hub.mappings if m.fn.logical_id == "HydrateFunction"]
    hydrate_mapping.duplicate = True
    res = hub.start_import("demo", mode="full_sellable")
    assert res.status == 202, res.json
    job_id = res.json["sync_job_id"]
    hydrate, calls = DemoAdapter.hydrate, []

    def hydrate_then_end_the_job(self: DemoAdapter, ref: Any) -> Any:
        calls.append(ref.product_id)
        if len(calls) == 4:
            patched = hub.api("PATCH", f"/api/sync-jobs/{job_id}", query={"status": "failed"})
            assert patched.status == 200, patched.json
        return hydrate(self, ref)

    monkeypatch.setattr(DemoAdapter, "hydrate", hydrate_then_end_the_job)
    # When the import runs (the transactions after the PATCH are cancelled: the job is not running)
    with inject_aws_faults(0.3, kinds={"transaction_conflict"}, seed=1) as faults:
        hub.drain()
    assert faults.counts["transaction_conflict"] > 0
    # Then the products stored are exactly those whose transaction committed, some but not all
    stored = stored_products(supplier["id"])
    assert set(stored) == committed_successes(job_id)
    assert 0 < len(stored) < 8, stored
    # And the stream carried one record per committed write, nothing else
    records = TableStream(hub, "ProductsTable").read_new()
    assert sorted((r["eventName"], r["dynamodb"]["Keys"]["product_id"]["S"]) for r in records) == sorted(
        ("INSERT", sku) for sku in stored
    )
    # And the feed has one product.created per stored product, with the stored content, and none
    # for the products whose writes were cancelled
    events = product_events(supplier["id"])
    assert {sku: e.data["content_hash"] for sku, e in events.items()} == stored
    assert {e.type.value for e in events.values()} == {"product.created"}
    # And one job.finished: the PATCH's, the ending that committed
    (finished,) = job_finished(job_id)
    assert ChangeEvent.model_validate_json(finished.event).data["status"] == "failed"
    assert hub.job(job_id)["status"] == "failed"


def test_job_finished_exists_only_once_the_ending_transaction_commits(hub, fast_retries) -> None:
    # Given an import started, and every transaction cancelled for a conflict for a while
    hub.add_supplier("demo", protocol_config={"products": 3})
    res = hub.start_import("demo", mode="full_sellable")
    assert res.status == 202, res.json
    job_id = res.json["sync_job_id"]
    with inject_aws_faults(1.0, kinds={"transaction_conflict"}, operations={"TransactWriteItems"}) as faults:
        # When a PATCH to failed tries to end it: its transaction never commits (503, try again)
        patched = hub.api("PATCH", f"/api/sync-jobs/{job_id}", query={"status": "failed"})
    assert patched.status == 503 and "retry-after" in {k.lower() for k in patched.headers}, patched.json
    assert faults.counts["transaction_conflict"] > 1
    # Then the job has not ended, and no job.finished exists
    assert hub.job(job_id)["status"] == "pending"
    assert job_finished(job_id) == []
    # When the conflicts are gone and the import runs to its end
    hub.drain()
    job = hub.job(job_id)
    # Then exactly one job.finished exists, the one of the ending that committed
    (finished,) = job_finished(job_id)
    data = ChangeEvent.model_validate_json(finished.event).data
    assert (job["status"], data["status"], data["success_count"]) == ("success", "success", 3)
    # And an ending that loses (the job is terminal) adds none
    assert hub.api("PATCH", f"/api/sync-jobs/{job_id}", query={"status": "failed"}).status == 409
    assert len(job_finished(job_id)) == 1
