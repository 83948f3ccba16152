"""Lambda in virtual time: invocations of the real handlers, SQS event source mappings, schedules.

* :class:`Invoker` runs ``functions/<folder>/app.py`` (loaded as the local runtime loads it, one
  module copy per concurrent execution environment, reused when free like a warm container, never
  after it timed out: Lambda replaces that environment) as a
  process with the function's ``Timeout`` as its deadline, and a context whose
  ``get_remaining_time_in_millis`` reads the virtual clock. Past the deadline the invocation is
  stopped (``LambdaTimeout``): it returns nothing, and its messages stay in flight until their
  visibility timeout ends, as in AWS.
* :class:`EventSourceMapping` polls a simulated queue as Lambda's SQS poller does: up to
  ``BatchSize`` messages per invocation, waiting up to ``MaximumBatchingWindowInSeconds`` to fill a
  batch, at most ``MaximumConcurrency`` invocations at once; after an invocation it deletes what
  succeeded (all but ``batchItemFailures`` with ``ReportBatchItemFailures``), leaves the rest.
* :class:`Schedule` invokes a function every ``rate(...)`` period (EventBridge Scheduler).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apihub_local.events import ACCOUNT
from apihub_local.runtime import load_handler
from apihub_local.template import FunctionDef
from apihub_sim.clock import VirtualTime
from apihub_sim.kernel import Kernel, LambdaTimeout, Process
from apihub_sim.sqs import Message, SimQueue
from apihub_sim.timing import FunctionTiming, ScheduleTiming, SourceTiming

# Module copies of the simulated functions get instance numbers from here on, apart from the ones
# the local runtime (the API functions behind the gateway) hands out from 0.
INSTANCE_BASE = 1000


@dataclass
class SimContext:
    """The Lambda context object, on the virtual clock."""

    kernel: Kernel
    function_name: str
    memory_limit_in_mb: int
    deadline: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "sim"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.kernel.now) * 1000))


@dataclass
class InvocationStats:
    invocations: Counter[str] = field(default_factory=Counter)
    timeouts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    busy_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    longest_s: dict[str, float] = field(default_factory=dict)


class Invoker:
    def __init__(
        self, kernel: Kernel, clock: VirtualTime, functions: dict[str, FunctionTiming], defs: dict[str, FunctionDef]
    ) -> None:
        self.kernel = kernel
        self.clock = clock
        self.functions = functions
        self.defs = defs
        self.stats = InvocationStats()
        self._free: dict[str, list[int]] = {}
        self._created: Counter[str] = Counter()
        self.running: Counter[str] = Counter()

    def invoke(
        self, logical_id: str, event: dict[str, Any], on_done: Callable[[Process, Any], None] | None = None
    ) -> Process:
        """Start an invocation now; ``on_done(process, result)`` when it ends (``result`` None when
        it raised or was stopped: ``process.error`` says which)."""
        timing = self.functions[logical_id]
        instance = self._checkout(logical_id)
        handler = load_handler(self.defs[logical_id], instance=instance)
        self.clock.patch_module(sys.modules[handler.__module__])
        context_box: dict[str, SimContext] = {}

        def run() -> Any:
            context = SimContext(self.kernel, logical_id, timing.memory_mb, deadline=self.kernel.now + timing.timeout_s)
            context_box["context"] = context
            return handler(event, context)

        def done(process: Process) -> None:
            if not isinstance(process.error, LambdaTimeout):  # Lambda replaces a timed-out environment
                self._free.setdefault(logical_id, []).append(instance)
            self.running[logical_id] -= 1
            duration = (process.ended_at or 0.0) - (process.started_at or 0.0)
            self.stats.busy_s[logical_id] += duration
            self.stats.longest_s[logical_id] = max(self.stats.longest_s.get(logical_id, 0.0), duration)
            if isinstance(process.error, LambdaTimeout):
                self.stats.timeouts[logical_id] += 1
            elif process.error is not None:
                self.stats.errors[logical_id] += 1
            if on_done is not None:
                on_done(process, process.result if process.error is None else None)

        self.stats.invocations[logical_id] += 1
        self.running[logical_id] += 1
        return self.kernel.spawn(logical_id, run, timeout=timing.timeout_s, on_done=done)

    def _checkout(self, logical_id: str) -> int:
        free = self._free.setdefault(logical_id, [])
        if free:
            return free.pop()
        self._created[logical_id] += 1
        return INSTANCE_BASE + self._created[logical_id]


def sqs_record(message: Message, queue: SimQueue, epoch_ms: Callable[[float], int]) -> dict[str, Any]:
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt,
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": str(epoch_ms(message.sent_at)),
            "SenderId": ACCOUNT,
            "ApproximateFirstReceiveTimestamp": str(epoch_ms(message.first_received_at or message.sent_at)),
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": "us-east-1",
    }


@dataclass
class MappingStats:
    batches: int = 0
    messages: int = 0
    deleted: int = 0
    returned: int = 0  # left to their visibility timeout (reported failures, errors, timeouts)
    most_concurrent: int = 0


class EventSourceMapping:
    def __init__(self, kernel: Kernel, invoker: Invoker, source: SourceTiming, queue: SimQueue) -> None:
        self.kernel = kernel
        self.invoker = invoker
        self.source = source
        self.queue = queue
        self.max_concurrency = source.max_concurrency or 1000  # unset: the account's limit
        self.running = 0
        self.stats = MappingStats()
        self.on_batch_done: list[Callable[[], None]] = []
        self._polls: set[float] = set()
        queue.on_change.append(self.wake)

    def wake(self, when: float | None = None) -> None:
        """Poll at ``when`` (default now): a message may be visible then."""
        when = self.kernel.now if when is None else max(when, self.kernel.now)
        if when in self._polls:
            return
        self._polls.add(when)

        def poll() -> None:
            self._polls.discard(when)
            self.poll()

        self.kernel.at(when, poll)

    def poll(self) -> None:
        while self.running < self.max_concurrency:
            visible = self.queue.visible()
            if not visible:
                upcoming = self.queue.next_visible_at()
                if upcoming is not None:
                    self.wake(upcoming)
                return
            window = self.source.batching_window_s
            if len(visible) < self.source.batch_size and window > 0:
                fill_by = min(m.visible_at for m in visible) + window
                if self.kernel.now < fill_by:
                    self.wake(fill_by)
                    return
            messages = self.queue.receive(self.source.batch_size)
            if messages:
                self._invoke(messages)

    def _invoke(self, messages: list[Message]) -> None:
        self.running += 1
        self.stats.batches += 1
        self.stats.messages += len(messages)
        self.stats.most_concurrent = max(self.stats.most_concurrent, self.running)
        epoch_ms = lambda t: int(self.invoker.clock.at(t).timestamp() * 1000)  # noqa: E731
        event = {"Records": [sqs_record(m, self.queue, epoch_ms) for m in messages]}
        receipts = {m.id: m.receipt for m in messages}

        def done(process: Process, result: Any) -> None:
            self.running -= 1
            if process.error is None:
                failed = self._failed_ids(result, set(receipts))
                for message_id, receipt in receipts.items():
                    if message_id in failed:
                        self.stats.returned += 1
                    elif receipt is not None and self.queue.delete(receipt):
                        self.stats.deleted += 1
            else:  # raised or stopped at its deadline: the whole batch comes back after its visibility
                self.stats.returned += len(receipts)
            for listener in self.on_batch_done:
                listener()
            self.wake()

        self.invoker.invoke(self.source.function, event, done)

    def _failed_ids(self, result: Any, known: set[str]) -> set[str]:
        if not self.source.report_failures:
            return set()
        failures = result.get("batchItemFailures", []) if isinstance(result, dict) else []
        ids = {f.get("itemIdentifier") for f in failures}
        if ids - known:  # Lambda treats an unknown identifier as the failure of the whole batch
            return known
        return {i for i in ids if i}


class Schedule:
    """Invokes ``timing.function`` at ``first_at`` and every ``period_s`` after."""

    def __init__(
        self,
        kernel: Kernel,
        invoker: Invoker,
        timing: ScheduleTiming,
        first_at: float | None = None,
        on_done: Callable[[Process, Any], None] | None = None,
    ) -> None:
        self.kernel = kernel
        self.invoker = invoker
        self.timing = timing
        self.on_done = on_done
        self.ticks = 0
        self.kernel.at(timing.period_s if first_at is None else first_at, self._tick)

    def _tick(self) -> None:
        self.ticks += 1
        event = json.loads(self.timing.input) if self.timing.input else {}
        self.invoker.invoke(self.timing.function, event, self.on_done)
        self.kernel.at(self.kernel.now + self.timing.period_s, self._tick)
