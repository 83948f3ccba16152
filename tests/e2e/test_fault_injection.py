"""Fault injection through the local stack: every fault ends in its documented terminal state with
nothing lost and nothing counted twice (docs/architecture.md, Invariants 1-3).

One stack (``python -m apihub_local``) per test, with local time scaled down, the hydrate retry
backoff scaled down (``APIHUB_LOCAL_BACKOFF_SCALE``) and every job's discovery crashing once half
way through its fan-out (``APIHUB_LOCAL_CRASH_FANOUT``). Each scenario imports from its own fake
PromoStandards supplier (a thread of this process on a free loopback port, registered through
``POST /api/suppliers``), so all scenarios run at once and the test takes as long as the slowest:

- timeouts: the supplier answers every call after the adapter's read timeout -> discovery gives up
  on its last receive: ``failed``, nothing hydrated, lock released;
- HTTP 500 bursts: some SKUs answer 500 twice then recover (counted as successes), one always
  times out (a failure "gave up after 5 attempts") -> ``partial_success`` with exact counts;
- malformed XML for some SKUs -> those fail with ``ProductError`` -> ``partial_success``;
- credentials revoked mid-run (the fake rejects every call after N) -> ``failed`` with the
  ``AuthError``; its counters equal its recorded outcomes and stored products;
- poisoned bodies sent straight to both queues -> they, and only they, end in the DLQs;
- the fan-out crash itself (a clean catalog) -> ``success`` with exact counts.

The slow variant (``make verify``) runs 80-product catalogs on a stack that also duplicates every
delivery and crashes a share of the invocations after their work. The AWS variant (``make verify``)
runs the fast variant's scenarios on a stack started with ``APIHUB_LOCAL_AWS_FAULT_RATE``: a share of
the functions' DynamoDB and SQS calls answered with AWS's contention faults (``apihub_local.aws_faults``).
Every outcome stays the same; the API answers its result or 503 with ``Retry-After`` (the test, as a
client, tries again), never another 5xx; the faults the stack injected are recorded by kind.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from apihub_fakes.promostandards.server import FakePromoStandards
from apihub_local.aws_faults import parse_summary
from apihub_local.sqs import queue_depth
from apihub_verify import record

pytestmark = pytest.mark.e2e

LIMITS = {"rate_limit_per_s": 1000, "max_concurrency": 64}
JOB_DEADLINE_S = 150
POISON = ["this is not json", '{"job_id": ""}', '{"v": 1, "job_id": "x", "skus": []}', "\u2603" * 40]


@dataclass
class Scenario:
    """One fault, its own supplier, and the terminal state the docs promise for it."""

    slug: str
    fake: FakePromoStandards
    expect_status: str
    check: Callable[[Scenario, Any, dict[str, Any]], None]
    read_timeout: float = 5.0
    job_id: str = ""
    faults: Counter[str] = field(default_factory=Counter)

    @property
    def sellable(self) -> set[str]:
        return set(self.fake.catalog.sellable_ids)


def _answer_busy_by_retrying(stack: Any, seen: Counter[str]) -> None:
    """The stack's API, called as a client calls it under AWS's faults: a 503 must carry
    ``Retry-After`` and is tried again (at once: local time is scaled); any other 5xx fails."""
    plain = stack.api

    def api(method: str, path: str, **kwargs: Any) -> Any:
        for _ in range(20):
            res = plain(method, path, **kwargs)
            assert res.status_code < 500 or res.status_code == 503, (method, path, res.status_code, res.text)
            if res.status_code != 503:
                return res
            assert int(res.headers["Retry-After"]) >= 1, res.headers
            seen["API 503 ServiceBusy answers (retried)"] += 1
        raise AssertionError(f"{method} {path}: 503 twenty times in a row")

    stack.api = api  # all_pages and the checks go through it too


def _aws_faults_injected(stack: Any) -> dict[str, int]:
    """The faults the stack injected, by kind, from the line it logs when it stops."""
    stack.stop()
    counts = parse_summary(stack.log.read_text(errors="replace"))
    assert counts is not None, stack.log_tail()
    return {f"AWS {kind}": n for kind, n in counts.items()}


def _register(stack: Any, scenario: Scenario) -> None:
    body = {
        "name": f"Fault {scenario.slug}",
        "slug": scenario.slug,
        "protocol": "promostandards",
        "adapter_class": "PromoStandardsAdapter",
        "auth_config": dict(scenario.fake.credentials),
        "protocol_config": {
            "endpoints": scenario.fake.endpoints,
            "read_timeout": scenario.read_timeout,
            "connect_timeout": 2,
            **LIMITS,
        },
    }
    res = stack.api("POST", "/api/suppliers", json=body)
    assert res.status_code in (200, 201), res.text


def _wait_terminal(stack: Any, job_ids: list[str], deadline_s: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + deadline_s
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(job_ids):
        for job_id in job_ids:
            if job_id in done:
                continue
            job = stack.api("GET", f"/api/sync-jobs/{job_id}").json()
            if job["status"] not in ("pending", "running"):
                done[job_id] = job
        if len(done) < len(job_ids):
            assert time.monotonic() < deadline, f"jobs still running: {set(job_ids) - set(done)}\n{stack.log_tail()}"
            time.sleep(0.5)
    return done


class Queues:
    """The stack's SQS queues, through its moto endpoint (read from the stack's state file)."""

    def __init__(self, state_file: str) -> None:
        state = json.loads(Path(state_file).read_text())
        self.sqs = boto3.client(
            "sqs",
            endpoint_url=state["endpoint"],
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        env = state["environment"]
        self.hydrate = env["APIHUB_HYDRATE_QUEUE_URL"]
        self.discovery = env["APIHUB_DISCOVERY_QUEUE_URL"]
        urls = self.sqs.list_queues().get("QueueUrls", [])
        self.hydrate_dlq = next(u for u in urls if u.endswith("-HydrateDLQ"))
        self.discovery_dlq = next(u for u in urls if u.endswith("-DiscoveryDLQ"))

    def depth(self, url: str) -> int:
        return queue_depth(self.sqs, url)

    def peek(self, url: str) -> list[str]:
        """Every body in a (DLQ) queue, left in place (received with a zero visibility timeout)."""
        bodies: dict[str, str] = {}
        for _ in range(5):
            resp = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            for m in resp.get("Messages", []):
                bodies[m["MessageId"]] = m["Body"]
        return sorted(bodies.values())


# ----------------------------------------------------------------------------- expectations


def _expect_discovery_gave_up(s: Scenario, stack: Any, job: dict[str, Any]) -> None:
    assert job["error_log"].startswith("TransientError: "), job["error_log"]
    assert "discovery gave up after 3 attempts" in job["error_log"], job["error_log"]
    assert (job["success_count"], job["failed_count"]) == (0, 0)
    assert stack.all_pages(f"/api/suppliers/{s.slug}/products") == []
    s.faults["supplier timeouts"] += len(s.fake.calls)


def _expect_partial(failing: Callable[[Scenario], set[str]], error_start: str, detail: str) -> Callable[..., None]:
    def check(s: Scenario, stack: Any, job: dict[str, Any]) -> None:
        bad = failing(s)
        assert (job["total_products"], job["success_count"], job["failed_count"]) == (
            len(s.sellable),
            len(s.sellable) - len(bad),
            len(bad),
        ), job
        errors = stack.all_pages(f"/api/sync-jobs/{job['id']}/errors")
        assert sorted(e["sku"] for e in errors) == sorted(bad)  # each failure once, with its reason
        assert all(e["error"].startswith(error_start) and detail in e["error"] for e in errors), errors
        products = {p["product_id"] for p in stack.all_pages(f"/api/suppliers/{s.slug}/products")}
        assert products == s.sellable - bad  # exactly the successes are stored
        assert job["error_log"] is None and job["completed_at"]

    return check


def _expect_revoked(s: Scenario, stack: Any, job: dict[str, Any]) -> None:
    assert job["error_log"].startswith("AuthError: 105"), job["error_log"]
    assert "credentials rejected while hydrating" in job["error_log"]
    assert job["total_products"] == len(s.sellable)
    errors = stack.all_pages(f"/api/sync-jobs/{job['id']}/errors")
    products = {p["product_id"] for p in stack.all_pages(f"/api/suppliers/{s.slug}/products")}
    # Stopped part way: what was recorded is counted once, stored once, and nothing more.
    assert job["success_count"] == len(products) and job["failed_count"] == len(errors)
    assert job["success_count"] + job["failed_count"] < len(s.sellable)
    assert products <= s.sellable
    s.faults["calls rejected after revocation"] += len(s.fake.calls[s.fake.revoke_after or 0 :])


def _expect_clean(s: Scenario, stack: Any, job: dict[str, Any]) -> None:
    assert (job["total_products"], job["success_count"], job["failed_count"]) == (len(s.sellable), len(s.sellable), 0)
    products = {p["product_id"] for p in stack.all_pages(f"/api/suppliers/{s.slug}/products")}
    assert products == s.sellable
    assert f"simulated crash half way through fan-out: job {job['id']}" in stack.log.read_text()


# ----------------------------------------------------------------------------- scenarios


def _scenarios(products: int, run: str) -> list[Scenario]:
    seed = 11
    burst_catalog = FakePromoStandards(products, seed)
    burst = sorted(burst_catalog.catalog.sellable_ids)
    bursting, stuck = burst[: max(3, len(burst) // 3)], burst[-1]
    malformed = sorted(FakePromoStandards(products, seed + 1).catalog.sellable_ids)[1 : 1 + max(2, products // 10)]
    return [
        Scenario(
            f"timeouts-{run}",
            FakePromoStandards(products, seed, latency_ms=1500),
            "failed",
            _expect_discovery_gave_up,
            read_timeout=0.3,
        ),
        Scenario(
            f"http500-{run}",
            FakePromoStandards(
                products,
                seed,
                fault_skus={**dict.fromkeys(bursting, "http500"), stuck: "slow"},
                fault_times=dict.fromkeys(bursting, 2),
                slow_ms=3000,
            ),
            "partial_success",
            _expect_partial(lambda s: {stuck}, "TransientError: ", "gave up after 5 attempts"),
            # Far enough above a loaded machine's answer times that only the stuck product times
            # out (0.4 s once failed a bursting product too, at load average 10 on 2 cores).
            read_timeout=1.0,
        ),
        Scenario(
            f"malformed-{run}",
            FakePromoStandards(products, seed + 1, fault_skus=dict.fromkeys(malformed, "malformed")),
            "partial_success",
            _expect_partial(lambda s: set(malformed), "ProductError: ", "not well-formed XML"),
        ),
        Scenario(
            f"revoked-{run}",
            FakePromoStandards(products, seed + 2, revoke_after=max(6, products // 2)),
            "failed",
            _expect_revoked,
        ),
        Scenario(f"fanout-{run}", FakePromoStandards(products, seed + 3), "success", _expect_clean),
    ]


@pytest.fixture
def fakes() -> Iterator[list[FakePromoStandards]]:
    started: list[FakePromoStandards] = []
    yield started
    for fake in started:
        fake.stop()


def _dead_lettered_after_their_work(bodies: list[str], poisoned: list[str]) -> list[str]:
    """``bodies`` minus the poisoned ones (each of which must be there)."""
    rest = list(bodies)
    for body in poisoned:
        assert body in rest, (body, bodies)
        rest.remove(body)
    return rest


def _run_faults(
    stack: Any,
    fakes: list[FakePromoStandards],
    products: int,
    run: str,
    deadline_s: float = JOB_DEADLINE_S,
    crashes: bool = False,
) -> dict[str, Any]:
    # Given one fake supplier per fault, registered on the stack
    scenarios = _scenarios(products, run)
    for s in scenarios:
        fakes.append(s.fake.start())
        _register(stack, s)
    queues = Queues(stack.env["APIHUB_LOCAL_STATE"])
    # When every import starts at once, and poisoned bodies go straight to both queues
    for s in scenarios:
        res = stack.api("POST", f"/api/suppliers/{s.slug}/import", json={"mode": "full_sellable"})
        assert res.status_code == 202, res.text
        s.job_id = res.json()["sync_job_id"]
    for body in POISON:
        queues.sqs.send_message(QueueUrl=queues.hydrate, MessageBody=body)
    queues.sqs.send_message(QueueUrl=queues.discovery, MessageBody=POISON[0])
    jobs = _wait_terminal(stack, [s.job_id for s in scenarios], deadline_s)
    # Then each ends in its documented state, with nothing lost and nothing counted twice
    problems = []
    for s in scenarios:
        job = jobs[s.job_id]
        try:
            assert job["status"] == s.expect_status, (job["status"], job.get("error_log"))
            assert job["completed_at"]
            s.check(s, stack, job)
            again = stack.api("PATCH", f"/api/sync-jobs/{s.job_id}", params={"status": "running"})
            assert again.status_code == 409, again.text  # a terminal job never changes
        except AssertionError as exc:
            problems.append(f"{s.slug}: {exc}")
    assert not problems, "\n".join(problems) + "\n" + stack.log_tail()
    # And the dead-letter queues hold the poisoned bodies, and only them, once the queues drain
    deadline = time.monotonic() + deadline_s
    while queues.depth(queues.hydrate) or queues.depth(queues.discovery):
        assert time.monotonic() < deadline, "queues did not drain"
        time.sleep(0.5)
    hydrate_dlq, discovery_dlq = queues.peek(queues.hydrate_dlq), queues.peek(queues.discovery_dlq)
    late = _dead_lettered_after_their_work(hydrate_dlq, POISON) + _dead_lettered_after_their_work(
        discovery_dlq, POISON[:1]
    )
    if not crashes:
        assert late == []
    # With simulated crashes, a message can also "time out" after its work on its last receive:
    # it is dead-lettered, but its work was done (the counts above are exact) and its job is over.
    assert all(json.loads(body)["job_id"] in jobs for body in late), late
    # And terminal jobs did not move while late messages drained
    for s in scenarios:
        assert stack.api("GET", f"/api/sync-jobs/{s.job_id}").json() == jobs[s.job_id]
    # And every lock was released: a new import of each supplier is accepted (and cancelled at once)
    for s in scenarios:
        res = stack.api("POST", f"/api/suppliers/{s.slug}/import", json={"mode": "full_sellable"})
        assert res.status_code == 202, (s.slug, res.text)
        cancel = stack.api(
            "PATCH", f"/api/sync-jobs/{res.json()['sync_job_id']}", params={"status": "failed", "error_log": "check"}
        )
        if cancel.status_code == 409:  # it ended first (revoked credentials fail a discovery at once)
            again = stack.api("GET", f"/api/sync-jobs/{res.json()['sync_job_id']}").json()
            assert again["status"] == "failed" and again["completed_at"], (cancel.text, again)
        else:
            assert cancel.status_code == 200, cancel.text
    faults: Counter[str] = Counter()
    for s in scenarios:
        faults.update(s.faults)
        faults["HTTP 500 replies"] += sum(1 for c in s.fake.calls if c.status == 500)
    faults["malformed XML replies"] = sum(
        1
        for s in scenarios
        for c in s.fake.calls_for("getProduct")
        if s.fake.fault_skus.get(c.product_id or "") == "malformed"
    )
    faults["poisoned messages"] = len(POISON) + 1
    if late:
        faults["valid messages dead-lettered after crashing on their last receive"] = len(late)
    faults["fan-out crashes"] = len(
        set(re.findall(r"simulated crash half way through fan-out: job (\S+),", stack.log.read_text()))
    )
    faults["simulated invocation crashes"] = stack.log.read_text().count("simulated crash after its work")
    return {"scenarios": len(scenarios), "faults": dict(faults)}


@contextmanager
def _recorded(part: str, note: str) -> Iterator[dict[str, Any]]:
    """The run's figures for make verify's report, a failure counted as one."""
    figures: dict[str, Any] = {"scenarios": 0, "faults": {}}
    failures = 0
    try:
        yield figures
    except BaseException:
        failures = 1
        raise
    finally:
        record(
            "fault-injection",
            part,
            title="Fault injection through the local stack",
            examples=figures["scenarios"] or 5,
            faults=figures["faults"],
            failures=failures,
            notes=[note],
        )


FAST_KNOBS = {
    "APIHUB_DEMO_PRODUCTS": "5",
    "APIHUB_LOCAL_TIME_SCALE": "0.004",
    "APIHUB_LOCAL_BACKOFF_SCALE": "0.01",
    "APIHUB_LOCAL_CRASH_FANOUT": "1",
}


def test_each_fault_ends_in_its_documented_state_with_exact_counts(stack_factory, fakes) -> None:
    stack = stack_factory(**FAST_KNOBS)
    with _recorded("fast", "fast variant: 16-product catalogs (make test)") as figures:
        figures.update(_run_faults(stack, fakes, products=16, run="fast"))


@pytest.mark.slow
def test_each_fault_ends_in_its_documented_state_under_duplicates_and_crashes(stack_factory, fakes) -> None:
    # The fast variant's local time (hydrate invocations of 0.5 s, so most hand their rest on): the
    # two copies of a duplicated batch hand each leftover on once between them (hydrate._requeue).
    stack = stack_factory(**FAST_KNOBS, APIHUB_LOCAL_DUPLICATE_DELIVERY="1", APIHUB_LOCAL_CRASH_RATE="0.2")
    # make verify runs this beside the fuzzing and load suites on the same cores: a generous deadline.
    with _recorded("slow", "slow variant: 80-product catalogs, duplicate delivery, crash rate 0.2 (make verify)") as f:
        f.update(_run_faults(stack, fakes, products=80, run="slow", deadline_s=600, crashes=True))


AWS_FAULT_RATE = "0.05"


@pytest.mark.slow
def test_each_fault_ends_in_its_documented_state_under_aws_faults(stack_factory, fakes) -> None:
    # A share of the functions' DynamoDB and SQS calls meets TransactionConflict, throttling, 500s and
    # failed sends (apihub_local.aws_faults): the same outcomes, exactly counted, and no 5xx but 503.
    stack = stack_factory(**FAST_KNOBS, APIHUB_LOCAL_AWS_FAULT_RATE=AWS_FAULT_RATE)
    busy: Counter[str] = Counter()
    _answer_busy_by_retrying(stack, busy)
    note = f"AWS variant: 16-product catalogs, APIHUB_LOCAL_AWS_FAULT_RATE={AWS_FAULT_RATE} (make verify)"
    with _recorded("aws-faults", note) as figures:
        figures.update(_run_faults(stack, fakes, products=16, run="aws", deadline_s=300))
        injected = _aws_faults_injected(stack)
        figures["faults"] = {**figures["faults"], **injected, **busy}
        assert sum(injected.values()) > 0, "no AWS fault was injected"
