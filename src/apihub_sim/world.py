"""One simulated deployment: the template's tables on moto (in-process), its queues and functions in
virtual time, the real handlers, simulated suppliers, and the sweeper on its schedule.

    with Simulation(name="slow supplier") as sim:
        slow = sim.supplier("slow", products=50, hydrate_latency_s=25)
        sim.start_import("slow")
        figures = sim.run()

``run`` advances from event to event (a message becoming visible, an invocation ending, a sweeper
tick, a supplier answering) until every job started is terminal and nothing is queued or running,
or until the virtual time limit; then it audits the tables (``apihub_sim.audit``).
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from apihub_sim.audit import SimFigures, Sweep, audit_job, auditor_client, job_status
from apihub_sim.aws import AwsCalls
from apihub_sim.clock import VirtualTime
from apihub_sim.kernel import Kernel, Process
from apihub_sim.lambdas import EventSourceMapping, Invoker, Schedule
from apihub_sim.sqs import SimQueue, SqsStub
from apihub_sim.supplier import SupplierScript, forget_scripts, register_script
from apihub_sim.timing import TemplateTiming, with_parameters

_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
TERMINAL = frozenset({"success", "partial_success", "failed"})


@dataclass
class ApiCall:
    method: str
    path: str
    statuses: list[int] = field(default_factory=list)
    busy: int = 0  # 503 answers with Retry-After
    body: Any = None
    done: bool = False

    @property
    def status(self) -> int | None:
        return self.statuses[-1] if self.statuses else None


@dataclass
class TrackedJob:
    job_id: str
    label: str
    expected: list[str] | None
    started_s: float


@contextmanager
def _one_botocore_session() -> Iterator[None]:
    """PynamoDB makes a botocore session per table model, and each session loads the DynamoDB
    model files again (about half a second apiece): one session for all of them while the clients
    are made. Each client still gets its own copy of the event handlers (botocore copies the
    session's emitter per client), so hooks on one client stay on that client."""
    import botocore.session
    import pynamodb.connection.base as pynamodb_base

    shared = botocore.session.get_session()
    # PynamoDB's module takes get_session from botocore without re-exporting it: patched by name.
    original = getattr(pynamodb_base, "get_session")  # noqa: B009
    setattr(pynamodb_base, "get_session", lambda *_args: shared)  # noqa: B010
    try:
        yield
    finally:
        setattr(pynamodb_base, "get_session", original)  # noqa: B010


_ITEM_OPERATIONS = frozenset(
    {"GetItem", "Query", "Scan", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
     "TransactWriteItems", "TransactGetItems"}
)  # fmt: skip


@contextmanager
def _raw_dynamodb_responses() -> Iterator[None]:
    """moto's generic response serializer costs more than the DynamoDB operation itself (half of a
    run's real time); item operations' results are already the wire JSON, so they are sent as they
    are (as ``tests/integration/test_pipeline_properties.py`` does)."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult

    original = ActionResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if (
            type(self) in (ActionResult, DynamoResult)
            and isinstance(self.result, dict)
            and context.service_model.service_name == "dynamodb"
            and context.operation_model.name in _ITEM_OPERATIONS
        ):
            try:
                body = json.dumps(self.result)
            except TypeError:  # not plain JSON (binary values): moto's own serializer
                return original(self, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    ActionResult.execute_result = execute_result  # type: ignore[method-assign]  # a deliberate patch of moto, undone below
    try:
        yield
    finally:
        ActionResult.execute_result = original  # type: ignore[method-assign]  # the patch undone


class Simulation:
    """``parameters``: template parameter overrides (checked against the template's own rules);
    ``aws_latency_s``: virtual time each DynamoDB/SQS HTTP attempt takes; ``sweeper_first_s``: the
    first sweeper tick (default one period in); ``seed``: the run's random numbers (jitter)."""

    def __init__(
        self,
        name: str = "simulation",
        *,
        parameters: dict[str, Any] | None = None,
        aws_latency_s: float = 0.005,
        sweeper_first_s: float | None = None,
        seed: int = 0,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.template = with_parameters(**(parameters or {}))
        self.timing = TemplateTiming.read(self.template)
        self.kernel = Kernel()
        self.clock = VirtualTime(self.kernel)
        self.aws = AwsCalls(self.kernel, aws_latency_s)
        self.sweeper_first_s = sweeper_first_s
        self.seed = seed
        self.extra_environment = environment or {}
        self.jobs: list[TrackedJob] = []
        self.sweeps: list[Sweep] = []
        self.api_calls: list[ApiCall] = []
        self.scripts: dict[str, SupplierScript] = {}
        self.faults: Counter[str] = Counter()
        self.finished = False
        self._started = False

    # ------------------------------------------------------------------ set-up and tear-down
    def __enter__(self) -> Simulation:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        from moto import mock_aws

        from apihub_local.aws_faults import apihub_clients
        from apihub_local.gateway import Gateway
        from apihub_local.harness import make_dynamodb_clients, reset_process_state
        from apihub_local.moto_lock import serialize_in_process_moto
        from apihub_local.moto_tuning import speed_up_backends
        from apihub_local.resources import create_stack
        from apihub_local.runtime import Functions

        random.seed(self.seed)
        self._saved_environ = dict(os.environ)
        os.environ.update(_CREDENTIALS)
        serialize_in_process_moto()
        # moto walks whole tables and queues per request where AWS does not: without the fixes a run's
        # real time grows with the square of its size (the verify sizes took hours).
        speed_up_backends()
        self._mock = mock_aws()
        self._mock.start()
        self._fast_responses = _raw_dynamodb_responses()
        self._fast_responses.__enter__()
        self._started = True
        self.stack = create_stack(template=self.template)
        env = dict(self.stack.environment)
        for fn in self.timing.functions.values():  # per-function variables (the sweeper's stall limit)
            env.update(fn.environment)
        env.update({"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"})
        # The kernel's virtual clock runs one thread per invocation: hydrate's fetch pool would
        # wait on it from threads the kernel does not know, so the simulation fetches one product
        # after another (the timing rules it checks hold for either).
        env["APIHUB_HYDRATE_CALLS_IN_FLIGHT"] = "1"
        env.update(self.extra_environment)
        os.environ.update(env)
        reset_process_state()
        with _one_botocore_session():
            make_dynamodb_clients()
        self.functions = Functions(template=self.template)
        self.gateway = Gateway(self.functions)
        self.clock.install()

        from apihub.dal.clients import client
        from apihub.dal.tokens import TokensRepository
        from apihub.settings import get_settings

        self.settings = get_settings()
        self.queues: dict[str, SimQueue] = {}
        for logical_id, q in self.timing.queues.items():
            self.queues[logical_id] = SimQueue(
                logical_id=logical_id,
                url=self.stack.queue_urls[logical_id],
                arn=self.stack.attrs[(logical_id, "Arn")],
                kernel=self.kernel,
                visibility_timeout_s=q.visibility_timeout_s,
                delay_s=q.delay_s,
                max_receive_count=q.max_receive_count,
            )
        for logical_id, q in self.timing.queues.items():
            if q.dead_letter_queue:
                self.queues[logical_id].dead_letter = self.queues[q.dead_letter_queue]
        self.dead_letter_queues = {q.dead_letter_queue for q in self.timing.queues.values() if q.dead_letter_queue}
        self.sqs = SqsStub(self.queues)
        for aws_client in apihub_clients():
            self.aws.hook(aws_client)
        self.sqs.hook(client("sqs"))

        self.invoker = Invoker(self.kernel, self.clock, self.timing.functions, self.functions.defs)
        self.mappings: list[EventSourceMapping] = []
        for source in self.timing.sources:
            mapping = EventSourceMapping(self.kernel, self.invoker, source, self.queues[source.queue])
            mapping.on_batch_done.append(self._check_finished)
            self.mappings.append(mapping)
        sweeper = self.timing.function_by_folder("sweeper").logical_id
        self.sweeper = Schedule(
            self.kernel,
            self.invoker,
            self.timing.schedule_for(sweeper),
            first_at=self.sweeper_first_s,
            on_done=self._swept,
        )
        self.admin_token = TokensRepository().create("admin", name="simulation")
        self.auditor = auditor_client()

    def close(self) -> None:
        if not self._started:
            return
        from apihub_local.harness import reset_process_state

        try:
            self.kernel.shutdown()
        finally:
            self.sqs.unhook()
            self.aws.unhook()
            self.clock.uninstall()
            forget_scripts()
            self._fast_responses.__exit__(None, None, None)
            self._mock.stop()
            os.environ.clear()
            os.environ.update(self._saved_environ)
            reset_process_state()
            self._started = False

    # ------------------------------------------------------------------ scenario building
    def supplier(self, slug: str, *, limits: dict[str, Any] | None = None, **script: Any) -> SupplierScript:
        """A simulated supplier (``SupplierScript`` fields) registered through the API. ``limits``:
        its ``rate_limit_per_s`` / ``max_concurrency`` (default: the layer's defaults)."""
        scripted = register_script(SupplierScript(name=slug, kernel=self.kernel, **script))
        self.scripts[slug] = scripted
        body = {
            "name": slug.title(),
            "slug": slug,
            "adapter_class": "SimAdapter",
            "protocol_config": scripted.protocol_config(**(limits or {})),
        }
        status, answer = self._api("POST", "/api/suppliers", body)
        if status not in (200, 201):
            raise RuntimeError(f"could not add supplier {slug}: {status} {answer}")
        return scripted

    def start_import(self, slug: str, *, at: float | None = None, label: str | None = None, **body: Any) -> ApiCall:
        """POST /api/suppliers/{slug}/import at virtual second ``at`` (default now), as a client
        does: a 503 is tried again after its ``Retry-After``. The job is tracked to the end."""
        body.setdefault("mode", "full_sellable")
        call = ApiCall("POST", f"/api/suppliers/{slug}/import")
        self.api_calls.append(call)
        script = self.scripts.get(slug)
        expected = script.skus() if script is not None and body["mode"] == "full_sellable" else None

        def client() -> None:
            for _ in range(10):
                status, answer, headers = self._api_full(call.method, call.path, body)
                call.statuses.append(status)
                call.body = answer
                if status != 503 or "retry-after" not in headers:
                    break
                call.busy += 1  # AWS stayed busy: the documented answer, tried again after Retry-After
                self.kernel.sleep(float(headers["retry-after"]))
            if call.status == 202:
                self.jobs.append(TrackedJob(answer["sync_job_id"], label or slug, expected, self.kernel.now))
            call.done = True

        self.kernel.spawn(f"client:{slug}", client, at=at)
        return call

    def _api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, answer, _ = self._api_full(method, path, body)
        return status, answer

    def _api_full(self, method: str, path: str, body: Any = None) -> tuple[int, Any, dict[str, str]]:
        headers = {"cookie": f"auth_token={self.admin_token}", "content-type": "application/json"}
        resp = self.gateway.handle(method, path, headers=headers, body=json.dumps(body) if body is not None else None)
        answer = json.loads(resp.body) if resp.body else None
        return resp.status, answer, resp.headers

    # ------------------------------------------------------------------ running
    def run(self, *, limit_s: float = 48 * 3600) -> SimFigures:
        """Run until every started job is terminal and nothing is left to do, or ``limit_s``."""
        self.kernel.run(limit_s, stop=lambda: self.finished)
        return self.figures()

    def _busy(self) -> bool:
        work_queues = [q for lid, q in self.queues.items() if lid not in self.dead_letter_queues]
        return (
            any(len(q) for q in work_queues)
            or any(m.running for m in self.mappings)
            or any(not c.done for c in self.api_calls)
        )

    def _check_finished(self) -> None:
        if self._busy():
            return
        table = self.settings.jobs_table
        self.finished = all(job_status(self.auditor, table, j.job_id) in TERMINAL for j in self.jobs)

    def _swept(self, process: Process, result: Any) -> None:
        for job_id in (result or {}).get("swept", []):
            held = sum(q.held_for(job_id) for lid, q in self.queues.items() if lid not in self.dead_letter_queues)
            self.sweeps.append(Sweep(job_id, self.kernel.now, held))
        self._check_finished()

    # ------------------------------------------------------------------ figures
    def held_messages(self, job_id: str) -> int:
        return sum(q.held_for(job_id) for lid, q in self.queues.items() if lid not in self.dead_letter_queues)

    def figures(self) -> SimFigures:
        table = self.settings.jobs_table
        audits = []
        for job in self.jobs:
            audit = audit_job(self.auditor, table, job.job_id, job.label, job.expected)
            audit.started_s = job.started_s
            audits.append(audit)
        statuses: Counter[int] = Counter()
        for call in self.api_calls:
            statuses.update(call.statuses)
        busy = sum(call.busy for call in self.api_calls)
        calls: Counter[str] = Counter()
        for script in self.scripts.values():
            calls.update(script.calls)
        stats = self.invoker.stats
        return SimFigures(
            scenario=self.name,
            virtual_s=self.kernel.now,
            jobs=audits,
            sweeps=list(self.sweeps),
            dead_lettered=sum(self.queues[lid].stats["dead_lettered"] for lid in self.dead_letter_queues),
            invocations=dict(stats.invocations),
            timeouts=dict(stats.timeouts),
            errors=dict(stats.errors),
            faults=dict(self.faults),
            api_statuses=dict(statuses),
            api_busy=busy,
            parameters=self.timing.describe(),
            supplier_calls=dict(calls),
        )
