"""Property-based, stateful test of the import pipeline (docs/architecture.md, Invariants 1, 2, 3, 5) on moto.

Hypothesis interleaves, for one import of a small DemoAdapter catalog: discovery steps (one page per
invocation, so discovery continues itself through the queue), hydrate batches made of any subset
and order of the queued messages, duplicate deliveries, crashes before and after each write (the
invocation dies: nothing is acknowledged and the message comes back with one more receive), lost
acknowledgements after a complete invocation, poisoned bodies, messages lost for good (every
receive crashed), credentials revoked mid-import, PATCH to failed, and sweeper runs on a
controllable clock. Queue traffic goes through a model of
SQS (receive counts, redrive to a DLQ after the template's maxReceiveCount); the functions are the
template's handlers, invoked with SQS events.

After every step: the job's counters equal its outcome items (each SKU once), success + failed <=
total, the products table holds exactly the successes, a terminal job never changes and holds no
lock. The sweeper fails the job exactly when the rule of ``apihub.jobs.sweeper`` says (quiet past
the limit, not complete, nothing left in its queue) and finalises it when it is complete. At the end
(every queued message delivered, the last receive of a message always completes): the job is
terminal, without the sweeper's help unless a message was lost, exactly one caller ended it, and if
it was finalised, success + failed == total with every SKU counted once and the right status.

AWS's conditions change between steps (``aws_conditions_change``): a share of the DynamoDB calls the
functions and the API make is answered with the faults of ``apihub_local.aws_faults`` (transaction
conflicts, write conflicts, throttling, provisioned throughput exceeded, 500s), as AWS answers them
under contention. The invariants must hold all the same; an invocation that fails on them fails as a
Lambda invocation does (every message comes back with one more receive); an API call answers its
result or 503 with ``Retry-After``, never another 5xx. Like a crash, a fault never hits a message's
last receive. Queue traffic is the model's own (no SQS call is made), so the SQS kinds are left to
the e2e fault-injection run. The faults injected are counted by kind in the recorded figures.

``APIHUB_PBT_EXAMPLES`` sets the number of examples (``make test``: a few, derandomized;
``make verify``: 500 and more, with the figures recorded through ``apihub_verify``).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from apihub.dal import queues
from apihub.dal.clients import client as dynamodb_client
from apihub.dal.jobs import Ending, JobsRepository, job_pk
from apihub.dal.suppliers import SuppliersRepository
from apihub.dal.tables import JobItem, OutcomeItem, ProductItem, SupplierItem
from apihub.jobs.sweeper import sweep_stalled
from apihub.pipeline import finalise
from apihub.settings import get_settings, reset_settings
from apihub.supplier_models import SupplierIn, SupplierPatch
from botocore.retries import standard
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from apihub_local.aws_faults import KINDS, AwsFaults, install, uninstall
from apihub_local.events import sqs_event
from apihub_verify import record
from tests.domain_clock import patch_domain_clock

EXAMPLES = int(os.environ.get("APIHUB_PBT_EXAMPLES", "8"))
# make verify splits the examples over shards, one per pytest worker (each shard draws its own).
SHARDS = max(1, int(os.environ.get("APIHUB_PBT_SHARDS", "1")))
STEPS = int(os.environ.get("APIHUB_PBT_STEPS", "20"))
# make test: the same examples every run (no flaky CI); make verify: fresh randomness each run.
DERANDOMIZE = os.environ.get("APIHUB_PBT_RANDOM", "") not in ("1", "true")
MAX_RECEIVES = {"hydrate": 5, "discovery": 3}  # template.yaml's HydrateMaxReceiveCount / DiscoveryMaxReceiveCount
POISON = ["", "not json", "{}", '{"job_id": ""}', '{"v": 1, "job_id": "x", "skus": []}', '{"skus": "DEMO-1"}']
# The DynamoDB faults (queue traffic is modelled here, so the SQS kinds have nothing to hit).
DYNAMODB_FAULTS = tuple(k for k in KINDS if not k.startswith("sqs_"))
FAULT_RATES = (0.0, 0.05, 0.2, 0.5)
CRASH_POINTS = (
    "discover:before_chunk",  # listing: a page read, its refs not stored
    "discover:before_state",  # a discovery step done, its state not advanced
    "discover:after_state",  # state advanced, the continuation not sent
    "queue:after_send",  # hydrate messages sent (fan-out or a hand-on), the step not recorded
    "hydrate:before_commit",  # a batch hydrated, then dropped before its transaction
    "hydrate:after_commit",  # outcomes committed, the invocation dies before finalising/acking
    "finalise:before",  # the last batch committed, then death before finalise.if_complete
)


class SimulatedCrash(BaseException):
    """The invocation dies here (a BaseException: no ``except Exception`` in the code under test
    can swallow it, as none can catch a Lambda timeout)."""


class Clock:
    """What ``utcnow`` returns to the domain: moves 1 ms per call (every write gets a distinct
    ``updated_at``), and jumps when a rule says so."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@dataclass
class Message:
    id: str
    queue: str
    body: str
    receives: int = 0


@dataclass
class World:
    """State shared by the patched seams and the machine; reset for every example."""

    messages: dict[str, Message] = field(default_factory=dict)
    dlq: list[Message] = field(default_factory=list)
    lost: list[Message] = field(default_factory=list)
    crash_at: str | None = None
    crashed: bool = False
    terminations: list[tuple[str, str, str | None]] = field(default_factory=list)  # (job, status, error_log)
    finalisations: list[str] = field(default_factory=list)

    def add(self, queue: str, body: str) -> None:
        mid = str(uuid.uuid4())
        self.messages[mid] = Message(mid, queue, body)

    def hit(self, point: str) -> None:
        if self.crash_at == point:
            self.crash_at = None
            self.crashed = True
            raise SimulatedCrash(point)


WORLD = World()
FIGURES: Counter[str] = Counter()


def _install_seams(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    """Queues captured into ``WORLD``; crash points and termination counters around the writes."""

    def send_discovery(body: dict[str, Any], delay_seconds: int = 0) -> None:
        WORLD.add("discovery", json.dumps(body))

    def send_hydrate_batch(bodies: Any, attempts: int = 5, delay_seconds: int = 0) -> int:
        for body in bodies:
            WORLD.add("hydrate", json.dumps(body))
        WORLD.hit("queue:after_send")
        return len(bodies)

    monkeypatch.setattr(queues, "send_discovery", send_discovery)
    monkeypatch.setattr(queues, "send_hydrate_batch", send_hydrate_batch)
    monkeypatch.setattr(queues, "delay_retry", lambda *a, **k: None)  # backoff: the model picks the order

    def messages_held(queue_url: str) -> int:
        queue = "hydrate" if queue_url == get_settings().hydrate_queue_url else "discovery"
        return sum(1 for m in WORLD.messages.values() if m.queue == queue)

    monkeypatch.setattr(queues, "messages_held", messages_held)

    def around(name: str, before: str | None, after: str | None) -> None:
        original = getattr(JobsRepository, name)

        def wrapper(self: JobsRepository, *args: Any, **kwargs: Any) -> Any:
            if before:
                WORLD.hit(before)
            result = original(self, *args, **kwargs)
            if after:
                WORLD.hit(after)
            return result

        monkeypatch.setattr(JobsRepository, name, wrapper)

    around("record_listing", "discover:before_chunk", "discover:after_state")
    around("update_discovery", "discover:before_state", "discover:after_state")
    around("record_outcomes", "hydrate:before_commit", "hydrate:after_commit")

    original_finalise = finalise.if_complete
    original_end = JobsRepository.end

    def finalise_if_complete(jobs: JobsRepository, job_id: str) -> Any:
        WORLD.hit("finalise:before")
        result = original_finalise(jobs, job_id)
        if result is not None:
            WORLD.finalisations.append(job_id)
        return result

    def end(self: JobsRepository, item: JobItem, ending: Ending) -> bool:
        won = original_end(self, item, ending)
        if won:
            WORLD.terminations.append((item.id, ending.status.value, ending.error_log))
        return won

    monkeypatch.setattr(finalise, "if_complete", finalise_if_complete)
    monkeypatch.setattr(JobsRepository, "end", end)
    patch_domain_clock(monkeypatch, clock)  # every module stamping times, models.now_iso's included


def _fast_dynamodb_responses(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's generic response serializer costs more than the DynamoDB operation itself; item
    operations' results are already the wire JSON, so this test sends them as they are."""
    from moto.core.responses import ActionResult

    original = ActionResult.execute_result
    item_operations = {
        "GetItem", "Query", "Scan", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem",
        "BatchWriteItem", "TransactWriteItems", "TransactGetItems",
    }  # fmt: skip

    def execute_result(self: Any, context: Any) -> Any:
        if (
            type(self) is ActionResult
            and isinstance(self.result, dict)
            and context.service_model.service_name == "dynamodb"
            and context.operation_model.name in item_operations
        ):
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(self.result)
        return original(self, context)

    monkeypatch.setattr(ActionResult, "execute_result", execute_result)


def _wipe_tables() -> None:
    """Each example starts from empty job, product and supplier tables (moto's transaction
    snapshot copies whole tables: left to grow, later examples would slow down)."""
    settings_ = get_settings()
    client = dynamodb_client("dynamodb")
    for table in (settings_.jobs_table, settings_.products_table, settings_.suppliers_table):
        key_names = [k["AttributeName"] for k in client.describe_table(TableName=table)["Table"]["KeySchema"]]
        keys = []
        for page in client.get_paginator("scan").paginate(TableName=table, ProjectionExpression=", ".join(key_names)):
            keys += [{k: item[k] for k in key_names} for item in page["Items"]]
        keys = [k for k in keys if k.get("pk", {}).get("S") != "META#JOBS"]
        for start in range(0, len(keys), 25):
            chunk = keys[start : start + 25]
            client.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": k}} for k in chunk]})


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class ImportMachine(RuleBasedStateMachine):
    hub: Any = None
    clock: Clock
    faults: AwsFaults

    def __init__(self) -> None:
        super().__init__()
        WORLD.__init__()  # type: ignore[misc]
        _wipe_tables()
        self.repo = JobsRepository()
        self.job_id = ""
        self.supplier_id = ""
        self.skus: list[str] = []
        self.failing: set[str] = set()
        self.flaky: set[str] = set()
        self.poisoned: list[str] = []
        self.revoked = False
        self.patched_failed = False
        self.swept = False
        self.terminal_snapshot: dict[str, Any] | None = None
        self.fault_rate = 0.0
        self.fault_kinds: tuple[str, ...] = ()
        FIGURES["examples"] += 1

    # ------------------------------------------------------------------ AWS's conditions
    @contextmanager
    def _under_aws_conditions(self) -> Iterator[AwsFaults]:
        """The block's DynamoDB calls meet the current faults (the checks outside it never do)."""
        self.faults.kinds, self.faults.rate = self.fault_kinds, self.fault_rate
        try:
            yield self.faults
        finally:
            self.faults.rate = 0.0

    def _api(self, call: Any) -> Any:
        """An API call under the current faults, as a client makes it: a 503 (with ``Retry-After``)
        is tried again; no other 5xx is ever acceptable. The last try meets no faults."""
        for attempt in range(6):
            with self._under_aws_conditions() if attempt < 5 else nullcontext():
                res = call()
            assert res.status < 500 or res.status == 503, (res.status, res.json)
            if res.status != 503:
                return res
            assert int({k.lower(): v for k, v in res.headers.items()}["retry-after"]) >= 1, res.headers
            FIGURES["503 ServiceBusy answers (retried)"] += 1
        raise AssertionError("a 503 without any fault injected")

    @rule(
        kinds=st.sets(st.sampled_from(DYNAMODB_FAULTS), min_size=1),
        rate=st.sampled_from(FAULT_RATES),
        seed=st.integers(0, 2**32 - 1),
    )
    def aws_conditions_change(self, kinds: set[str], rate: float, seed: int) -> None:
        """From this step on (until they change again), ``rate`` of the DynamoDB calls of the
        functions and the API are answered with one of ``kinds``. Which calls is decided by ``seed``
        (drawn, so a replayed example meets the same faults: hypothesis requires it)."""
        self.fault_kinds = tuple(k for k in DYNAMODB_FAULTS if k in kinds)
        self.fault_rate = rate
        self.faults.reseed(seed)

    # ------------------------------------------------------------------ setup
    @initialize(
        products=st.integers(3, 15),
        page_size=st.integers(1, 6),
        refs_per_message=st.integers(1, 4),
        chunk_size=st.sampled_from([2, 3, 5, 1000]),
        short_hydrate=st.booleans(),
        fault_kinds=st.sets(st.sampled_from(DYNAMODB_FAULTS), min_size=1),
        fault_rate=st.sampled_from(FAULT_RATES),
        fault_seed=st.integers(0, 2**32 - 1),
        data=st.data(),
    )
    def start_import(
        self,
        products: int,
        page_size: int,
        refs_per_message: int,
        chunk_size: int,
        short_hydrate: bool,
        fault_kinds: set[str],
        fault_rate: float,
        fault_seed: int,
        data: Any,
    ) -> None:
        os.environ["APIHUB_HYDRATE_REFS_PER_MESSAGE"] = str(refs_per_message)
        os.environ["APIHUB_HYDRATE_REFS_PER_MESSAGE_MAX"] = str(refs_per_message)
        # Discovery always believes it is out of time after one page: it continues via the queue.
        os.environ["APIHUB_DISCOVERY_TIME_RESERVE_MS"] = str(10**9)
        # Some examples hydrate one SKU per invocation and hand the rest on as a new message.
        os.environ["APIHUB_HYDRATE_TIME_RESERVE_MS"] = str(10**9 if short_hydrate else 15_000)
        # One supplier call at a time: hypothesis replays an example and needs the same DynamoDB calls
        # in the same order (the faults are drawn per call). Several calls in flight are covered by
        # tests/integration/test_calls_in_flight.py and test_concurrent_duplicates.py.
        os.environ["APIHUB_HYDRATE_CALLS_IN_FLIGHT"] = "1"
        # The contention retries are bounded by their count only: a wall-clock budget would end them
        # at a different call on a replay (a busy machine), and hypothesis needs the same calls.
        os.environ["APIHUB_AWS_RETRY_BUDGET_MS"] = str(10**7)
        reset_settings()  # clients and table bindings stay (rebuilding them costs more than an example)
        import apihub.pipeline.discover as discover

        discover.CHUNK_SIZE = chunk_size
        self.skus = [f"DEMO-{i:05d}" for i in range(1, products + 1)]
        self.failing = set(data.draw(st.sets(st.sampled_from(self.skus), max_size=3), label="fail_skus"))
        self.flaky = set(data.draw(st.sets(st.sampled_from(self.skus), max_size=2), label="flaky_skus")) - self.failing
        slug = f"pbt-{uuid.uuid4().hex[:10]}"
        supplier, _ = SuppliersRepository().upsert(
            SupplierIn(
                name=slug,
                slug=slug,
                adapter_class="DemoAdapter",
                protocol_config={
                    "products": products,
                    "page_size": page_size,
                    "fail_skus": sorted(self.failing),
                    "flaky_skus": sorted(self.flaky),
                    "rate_limit_per_s": 1000,
                    "max_concurrency": 64,
                },
            )
        )
        self.supplier_id = supplier.id
        self.aws_conditions_change(fault_kinds, fault_rate, fault_seed)
        res = self._api(lambda: self.hub.start_import(slug, mode="full_sellable"))
        assert res.status == 202, res.json
        self.job_id = res.json["sync_job_id"]

    # ------------------------------------------------------------------ delivery
    def _queued(self, queue: str) -> list[Message]:
        return [m for m in WORLD.messages.values() if m.queue == queue]

    def _deliver(self, batch: list[Message], mode: str = "ok", crash_at: str | None = None) -> None:
        """One receive + invoke + acknowledge cycle, as an event source mapping does it."""
        received: list[Message] = []
        for m in batch:
            if m.receives >= MAX_RECEIVES[m.queue]:  # redrive: past maxReceiveCount it goes to the DLQ
                WORLD.dlq.append(WORLD.messages.pop(m.id))
                continue
            m.receives += 1
            received.append(m)
        if not received:
            return
        # The last receive of a message always completes (a crash on every receive is the sweeper's case).
        if any(m.receives >= MAX_RECEIVES[m.queue] for m in received):
            mode, crash_at = "ok", None
        queue = received[0].queue
        fn = "HydrateFunction" if queue == "hydrate" else "DiscoverFunction"
        arn = self.hub.stack.attrs[("HydrateQueue" if queue == "hydrate" else "DiscoveryQueue", "Arn")]
        event = sqs_event(
            [
                {
                    "MessageId": m.id,
                    "ReceiptHandle": m.id,
                    "Body": m.body,
                    "Attributes": {"ApproximateReceiveCount": str(m.receives)},
                }
                for m in received
            ],
            arn,
        )
        WORLD.crash_at, WORLD.crashed = crash_at, False
        # Like a crash, an AWS fault never hits a message's last receive.
        last = any(m.receives >= MAX_RECEIVES[m.queue] for m in received)
        injected_before = self.faults.total
        try:
            with nullcontext() if last else self._under_aws_conditions():
                result = self.hub.functions.invoke(fn, event)
                if mode == "twice":  # the same batch delivered to a second invocation
                    FIGURES["duplicate deliveries"] += 1
                    result = self.hub.functions.invoke(fn, event)
        except SimulatedCrash:
            FIGURES["crashes"] += 1
            return  # nothing acknowledged: every message comes back with one more receive
        except Exception:
            if self.faults.total == injected_before:
                raise  # failed with no AWS fault to blame: a bug
            # The invocation failed on AWS's answers: Lambda retries it, as after a crash.
            FIGURES["invocations failed by AWS faults"] += 1
            return
        finally:
            WORLD.crash_at = None
        if mode == "lost_ack":
            FIGURES["lost acknowledgements"] += 1
            return
        failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        for m in received:
            if m.id not in failed:
                WORLD.messages.pop(m.id, None)

    @precondition(lambda self: any(m.queue == "discovery" for m in WORLD.messages.values()))
    @rule(
        mode=st.sampled_from(["ok", "ok", "crash", "lost_ack", "twice"]),
        point=st.sampled_from(
            ["discover:before_chunk", "discover:before_state", "discover:after_state", "queue:after_send"]
        ),
    )
    def discovery_step(self, mode: str, point: str) -> None:
        message = self._queued("discovery")[0]
        self._deliver([message], mode="crash" if mode == "crash" else mode, crash_at=point if mode == "crash" else None)

    @precondition(lambda self: any(m.queue == "hydrate" for m in WORLD.messages.values()))
    @rule(
        data=st.data(),
        mode=st.sampled_from(["ok", "ok", "ok", "crash", "lost_ack", "twice"]),
        point=st.sampled_from(["hydrate:before_commit", "hydrate:after_commit", "finalise:before", "queue:after_send"]),
    )
    def hydrate_batch(self, data: Any, mode: str, point: str) -> None:
        queued = self._queued("hydrate")
        batch = data.draw(st.lists(st.sampled_from(queued), min_size=1, max_size=5, unique_by=lambda m: m.id))
        self._deliver(batch, mode=mode, crash_at=point if mode == "crash" else None)

    @precondition(lambda self: any(m.queue == "hydrate" for m in WORLD.messages.values()))
    @rule(data=st.data(), mode=st.sampled_from(["ok", "ok", "crash", "twice"]))
    def hydrate_batch_again(self, data: Any, mode: str) -> None:
        """Hydration is most of an import: a second rule makes it most of the steps too."""
        self.hydrate_batch(data, mode, data.draw(st.sampled_from(CRASH_POINTS[4:]), label="point"))

    @precondition(lambda self: any(m.queue == "discovery" for m in WORLD.messages.values()))
    @rule()
    def discovery_runs_to_the_end(self) -> None:
        """Deliver discovery messages (each one page or chunk) until discovery has fanned out."""
        for _ in range(40):
            queued = self._queued("discovery")
            if not queued:
                break
            self._deliver(queued[:1])

    @precondition(lambda self: any(m.queue == "hydrate" for m in WORLD.messages.values()))
    @rule(point=st.sampled_from([*CRASH_POINTS[4:6], "finalise:before", "lost_ack"]))
    def hydrate_all_then_the_last_batch_dies(self, point: str) -> None:
        """Work through the queued hydrate messages; the batch that may complete the job dies (or
        loses its acknowledgement), the case where only a redelivery is left to finish the job."""
        for _ in range(60):
            queued = self._queued("hydrate")
            if len(queued) <= 5:
                break
            self._deliver(queued[:5])
        queued = self._queued("hydrate")
        if queued:
            mode = "lost_ack" if point == "lost_ack" else "crash"
            self._deliver(queued[:5], mode=mode, crash_at=None if mode == "lost_ack" else point)

    # The world around the pipeline: one rule, so that drastic events (a PATCH, revoked
    # credentials) stay rare enough for most examples to run to the end of their import.
    @rule(
        action=st.sampled_from(
            ["time passes"] * 6
            + ["sweeper runs"] * 4
            + ["SQS duplicates a message"] * 6
            + ["poisoned message"] * 3
            + ["a message is lost"] * 2
            + ["another import"] * 3
            + ["PATCH to failed", "credentials revoked"]
        ),
        data=st.data(),
    )
    def environment(self, action: str, data: Any) -> None:
        if action == "time passes":
            self.clock.now += timedelta(minutes=data.draw(st.sampled_from([1, 10, 31]), label="minutes"))
        elif action == "sweeper runs":
            self.sweeper_runs()
        elif action == "SQS duplicates a message" and WORLD.messages:
            self.sqs_duplicates_a_message(data)
        elif action == "poisoned message":
            body = data.draw(st.sampled_from(POISON), label="body")
            WORLD.add("hydrate", body)
            self.poisoned.append(body)
            FIGURES["poisoned messages"] += 1
        elif action == "a message is lost" and WORLD.messages:
            # Every receive of it crashed: the redrive policy moved it to the DLQ, its work never done.
            lost = data.draw(st.sampled_from(list(WORLD.messages.values())), label="lost")
            WORLD.lost.append(WORLD.messages.pop(lost.id))
            if lost.body in self.poisoned:
                self.poisoned.remove(lost.body)  # in the DLQ, but not one the model expects there
            FIGURES["messages lost"] += 1
        elif action == "another import":
            self.another_import_while_running()
        elif action in ("SQS duplicates a message", "a message is lost"):
            pass  # nothing queued
        elif action == "PATCH to failed":
            self.patch_to_failed()
        else:
            self.revoke_credentials()

    def sqs_duplicates_a_message(self, data: Any) -> None:
        """At-least-once: the same body is delivered again as another message."""
        original = data.draw(st.sampled_from(list(WORLD.messages.values())), label="duplicate")
        WORLD.add(original.queue, original.body)
        if original.body in self.poisoned:
            self.poisoned.append(original.body)  # a second poisoned message, for the DLQ too
        FIGURES["duplicated messages"] += 1

    def patch_to_failed(self) -> None:
        before = self.repo.get_item(self.job_id)
        res = self._api(
            lambda: self.hub.api(
                "PATCH", f"/api/sync-jobs/{self.job_id}", query={"status": "failed", "error_log": "cancelled"}
            )
        )
        FIGURES["PATCH to failed"] += 1
        if before.status in ("pending", "running"):
            assert res.status == 200, res.json
            assert res.json["status"] == "failed" and res.json["error_log"] == "cancelled"
            self.patched_failed = True
        else:
            assert res.status == 409, res.json

    def revoke_credentials(self) -> None:
        supplier = SuppliersRepository().get(self.supplier_id)
        config = {**(supplier.protocol_config or {}), "auth_error": True}
        SuppliersRepository().patch(self.supplier_id, SupplierPatch(protocol_config=config))
        self.revoked = True
        FIGURES["credentials revoked"] += 1

    def sweeper_runs(self) -> None:
        """The sweeper's rule, judged from outside: quiet past the limit (no progress, no attempt
        due), not complete, and nothing left in the queue its work lives in -> failed as stalled;
        quiet and complete -> finalised; anything else -> untouched."""
        item = self.repo.get_item(self.job_id)
        now = self.clock()
        times = [_parse(item.updated_at), _parse(item.next_attempt_at) if item.next_attempt_at else None]
        quiet = max(t for t in times if t is not None) < now - timedelta(minutes=30)
        active = item.status in ("pending", "running")
        total, done = int(item.total_products or 0), int(item.success_count) + int(item.failed_count)
        complete = bool(item.discovery_complete) and done >= total
        queue = "hydrate" if item.discovery_complete else "discovery"
        waiting = any(m.queue == queue for m in WORLD.messages.values())
        finalised_before = WORLD.finalisations.count(self.job_id)
        swept = sweep_stalled(now, stall_minutes=30)
        FIGURES["sweeper runs"] += 1
        expected = active and quiet and not complete and not waiting
        assert [s.job_id for s in swept] == ([self.job_id] if expected else [])
        if active and quiet and complete:
            assert WORLD.finalisations.count(self.job_id) == finalised_before + 1
            FIGURES["complete jobs finalised by the sweeper"] += 1
        if active and quiet and not complete and waiting:
            FIGURES["idle jobs spared: work still queued"] += 1
        if expected:
            self.swept = True
            FIGURES["stalled jobs swept"] += 1
            assert self.repo.get_item(self.job_id).error_log == f"Stalled: no progress since {item.updated_at}"

    def another_import_while_running(self) -> None:
        """Invariant 4: while the job is active, a second import of the same supplier and mode is 409."""
        item = self.repo.get_item(self.job_id)
        if item.status not in ("pending", "running"):
            return
        res = self._api(lambda: self.hub.start_import(item.supplier_id, mode="full_sellable"))
        assert res.status == 409, res.json
        assert self.job_id in res.json["detail"]

    # ------------------------------------------------------------------ invariants
    def _outcomes(self) -> dict[str, SimpleNamespace]:
        """Each recorded SKU's status (its outcome group) and error (its failure's detail item,
        which exists exactly for the failures)."""
        statuses = self.repo.outcome_statuses(self.job_id, consistent=True)
        details = {
            o.sk.removeprefix("PRODUCT#"): o
            for o in OutcomeItem.query(job_pk(self.job_id), OutcomeItem.sk.startswith("PRODUCT#"), consistent_read=True)
        }
        assert set(details) == {sku for sku, status in statuses.items() if status == "failed"}, (details, statuses)
        return {
            sku: SimpleNamespace(status=status, error=details[sku].error if sku in details else None)
            for sku, status in statuses.items()
        }

    @invariant()
    def counters_match_outcomes_and_products(self) -> None:
        if not self.job_id:
            return
        item = self.repo.get_item(self.job_id)
        outcomes = self._outcomes()
        succeeded = {sku for sku, o in outcomes.items() if o.status == "success"}
        failed = {sku for sku, o in outcomes.items() if o.status == "failed"}
        # Each SKU counted once: the counters are exactly the outcome items (one per SKU by key).
        assert (int(item.success_count), int(item.failed_count)) == (len(succeeded), len(failed))
        assert set(outcomes) <= set(self.skus)
        if item.total_products is not None:
            assert int(item.success_count) + int(item.failed_count) <= int(item.total_products)
        # Products are written in the outcome's transaction: the table holds exactly the successes.
        stored = {p.product_id for p in ProductItem.query(self.supplier_id, consistent_read=True)}
        assert stored == succeeded
        assert int(SupplierItem.get(self.supplier_id, consistent_read=True).product_count or 0) == len(stored)
        for sku in failed:
            assert outcomes[sku].error, sku
        terminations = [t for t in WORLD.terminations if t[0] == self.job_id]
        assert len(terminations) <= 1, terminations
        if item.status in ("pending", "running"):
            assert not terminations
            return
        # Terminal: one winner, no lock, and nothing about it ever changes again.
        assert len(terminations) == 1 and terminations[0][1] == item.status
        assert self.repo.lock_holder_job(self.supplier_id, "full_sellable") != self.job_id
        snapshot = {
            "item": item.attribute_values,
            "outcomes": {k: (o.status, o.error) for k, o in outcomes.items()},
        }
        if self.terminal_snapshot is None:
            self.terminal_snapshot = snapshot
        else:
            assert snapshot == self.terminal_snapshot

    # ------------------------------------------------------------------ the end
    def teardown(self) -> None:
        if not self.job_id or sys.exc_info()[1] is not None:
            return  # a step already failed: that is the failure to report (and shrink)
        # Deliver everything still queued, in order, with no more faults (a message whose work is
        # still undone keeps coming back, receive count rising, until its last receive completes).
        self.fault_rate = 0.0
        for _ in range(500):
            pending = self._queued("discovery") or self._queued("hydrate")
            if not pending:
                break
            self._deliver(pending[:5] if pending[0].queue == "hydrate" else pending[:1])
        assert not WORLD.messages, "queues did not drain"
        self.counters_match_outcomes_and_products()
        item = self.repo.get_item(self.job_id)
        if WORLD.lost and item.status in ("pending", "running"):
            # A worker lost for good: the sweeper ends the job once it is quiet and nothing is queued.
            self.clock.now += timedelta(hours=2)
            self.sweeper_runs()
            item = self.repo.get_item(self.job_id)
        # Every job ends; without the sweeper when no worker is lost for good.
        assert item.status not in ("pending", "running"), (item.status, item.discovery, item.attribute_values)
        assert sorted(m.body for m in WORLD.dlq) == sorted(self.poisoned)  # the poisoned bodies, and only them
        finalised = WORLD.finalisations.count(self.job_id)
        (_, status, error_log) = next(t for t in WORLD.terminations if t[0] == self.job_id)
        outcomes = self._outcomes()
        supplier = SupplierItem.get(self.supplier_id, consistent_read=True)
        if finalised:
            assert finalised == 1
            expected_failed = self.failing | self.flaky
            # Nothing lost, each SKU once: the outcomes are exactly the catalog.
            assert int(item.total_products) == len(self.skus)
            assert set(outcomes) == set(self.skus)
            assert {s for s, o in outcomes.items() if o.status == "failed"} == expected_failed
            assert int(item.success_count) + int(item.failed_count) == int(item.total_products)
            assert int(item.records_processed) == len(self.skus)
            want = (
                "success"
                if not expected_failed
                else ("failed" if expected_failed == set(self.skus) else "partial_success")
            )
            assert status == want and item.error_log is None
            for sku in self.flaky:
                assert "gave up after 5 attempts" in (outcomes[sku].error or "")
            assert supplier.last_full_sync == (item.started_at if want != "failed" else None)
        else:
            # Ended by a failure some rule caused: PATCH, the sweeper, or rejected credentials.
            assert status == "failed"
            causes = []
            if self.patched_failed:
                causes.append(error_log == "cancelled")
            if self.swept:
                causes.append((error_log or "").startswith("Stalled: no progress since "))
            if self.revoked:
                causes.append((error_log or "").startswith("AuthError: 105"))
            assert any(causes), (error_log, self.patched_failed, self.swept, self.revoked)
            assert supplier.last_full_sync is None
        assert item.completed_at
        # A late sweep finds nothing to do.
        self.clock.now += timedelta(hours=2)
        assert sweep_stalled(self.clock(), stall_minutes=30) == []


@pytest.mark.parametrize("shard", range(SHARDS))
def test_import_pipeline_keeps_its_invariants_under_any_interleaving(hub, monkeypatch, shard: int) -> None:
    clock = Clock()
    _fast_dynamodb_responses(monkeypatch)
    _install_seams(monkeypatch, clock)
    # apihub's retries of AWS's faults (and botocore's), without their pauses: the attempts count.
    for name, value in {"BASE_MS": "1", "CAP_MS": "2"}.items():
        monkeypatch.setenv(f"APIHUB_AWS_RETRY_{name}", value)
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    reset_settings()
    assert hub.admin_token  # made before the faults: the API's caller holds a token already
    for name in (
        "APIHUB_HYDRATE_REFS_PER_MESSAGE",
        "APIHUB_HYDRATE_REFS_PER_MESSAGE_MAX",
        "APIHUB_DISCOVERY_TIME_RESERVE_MS",
        "APIHUB_HYDRATE_TIME_RESERVE_MS",
        "APIHUB_HYDRATE_CALLS_IN_FLIGHT",
        "APIHUB_AWS_RETRY_BUDGET_MS",
    ):
        monkeypatch.delenv(name, raising=False)
    import apihub.pipeline.discover as discover

    monkeypatch.setattr(discover, "CHUNK_SIZE", discover.CHUNK_SIZE)  # restored after the test
    ImportMachine.hub = hub
    ImportMachine.clock = clock
    ImportMachine.faults = install(AwsFaults(0.0, kinds=DYNAMODB_FAULTS, seed=None if not DERANDOMIZE else shard))
    # botocore's standard retry mode spends a per-client quota that the examples share (the clients
    # stay between examples): once an example drained it, a replay of another example retried less
    # and hypothesis failed with FlakyStrategyDefinition. Each example gets the full quota instead;
    # running out of it is a client-side choice, not one of AWS's conditions.
    from botocore.retries.quota import RetryQuota

    monkeypatch.setattr(RetryQuota, "acquire", lambda self, capacity_amount: True)
    FIGURES.clear()
    failures = 0
    try:
        run_state_machine_as_test(
            ImportMachine,
            settings=settings(
                max_examples=-(-EXAMPLES // SHARDS),
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=DERANDOMIZE,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
            ),
        )
    except BaseException:
        failures = 1
        raise
    finally:
        uninstall()
        FIGURES.update({f"AWS {kind}": n for kind, n in ImportMachine.faults.counts.items()})
        record(
            "property-based",
            f"pipeline-state-machine-{shard}",
            title="Property-based: import pipeline state machine (hypothesis, moto)",
            examples=FIGURES["examples"],
            faults={k: v for k, v in FIGURES.items() if k != "examples"},
            failures=failures,
            notes=[
                f"shard {shard + 1} of {SHARDS}: max_examples={-(-EXAMPLES // SHARDS)}, stateful_step_count={STEPS}",
                # each one an assertion after every step: a run without a failure saw none of them
                "under injected AWS faults: "
                + (
                    "a property failed (see the test's output)"
                    if failures
                    else "0 products lost, 0 counted twice, every job ended honestly, 0 API 5xx (503 aside)"
                ),
            ],
        )
