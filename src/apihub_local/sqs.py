"""SQS event source mappings, local edition: receive a batch, invoke the function with an SQS
event, delete what succeeded (all of it, or all but ``batchItemFailures`` with
ReportBatchItemFailures), leave the rest to reappear after its visibility timeout; the queue's own
redrive policy dead-letters a message after maxReceiveCount.

Test knobs: ``duplicate`` delivers every batch twice; ``crash_rate`` makes that share of
invocations do their work and then "time out" before reporting (nothing is deleted);
``retry_visibility`` (tests) makes failed messages visible again at once instead of after backoff.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from apihub_local.events import sqs_event
from apihub_local.runtime import Functions
from apihub_local.template import FunctionDef, SqsSource

log = logging.getLogger("apihub.local.sqs")


@dataclass
class MappingStats:
    invocations: int = 0
    messages: int = 0
    failures: int = 0
    crashes: int = 0
    errors: int = 0


@dataclass
class EventSourceMapping:
    functions: Functions
    fn: FunctionDef
    source: SqsSource
    queue_url: str
    queue_arn: str
    sqs: Any
    duplicate: bool = False
    crash_rate: float = 0.0
    retry_visibility: int | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    stats: MappingStats = field(default_factory=MappingStats)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """One receive + invoke + delete cycle. Returns how many messages were received. A batch
        larger than one receive (10 messages) is gathered from several, as Lambda's poller does,
        up to the batch size or until the queue has nothing more visible."""
        messages: list[dict[str, Any]] = []
        while len(messages) < self.source.batch_size:
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.source.batch_size - len(messages)),
                WaitTimeSeconds=0 if messages else wait_seconds,
                AttributeNames=["All"],
            ).get("Messages", [])
            messages += got
            if not got or self.source.batch_size <= 10:
                break
        if not messages:
            return 0
        event = sqs_event(messages, self.queue_arn)
        failed_ids: set[str] | None
        try:
            result = self.functions.invoke(self.fn.logical_id, event)
            if self.duplicate:
                self.functions.invoke(self.fn.logical_id, event)
            failed_ids = self._failed_ids(result, messages)
        except Exception:
            log.exception("%s failed; the whole batch returns to the queue", self.fn.logical_id)
            failed_ids = None
        with self._lock:
            self.stats.invocations += 1
            self.stats.messages += len(messages)
        crashed = self.crash_rate > 0 and self.rng.random() < self.crash_rate
        if crashed:
            # Work done, nothing reported: like a function that timed out after its last write.
            with self._lock:
                self.stats.crashes += 1
            log.warning(
                "%s: simulated crash after its work, %d message(s) left to the visibility timeout",
                self.fn.logical_id,
                len(messages),
            )
            self._release(list(messages), force=True)
            return len(messages)
        if failed_ids is None:
            with self._lock:
                self.stats.errors += 1
            self._release(messages)
            return len(messages)
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        failed = [m for m in messages if m["MessageId"] in failed_ids]
        with self._lock:
            self.stats.failures += len(failed)
        self._release(failed)
        return len(messages)

    def _failed_ids(self, result: Any, messages: list[dict[str, Any]]) -> set[str]:
        if not self.source.report_failures:
            return set()
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        known = {m["MessageId"] for m in messages}
        ids = {f.get("itemIdentifier") for f in failures}
        if ids - known:  # Lambda treats an unknown identifier as a failure of the whole batch
            return known
        return {i for i in ids if i}

    def _release(self, messages: list[dict[str, Any]], force: bool = False) -> None:
        if self.retry_visibility is None or not messages:
            return
        for m in messages:
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=self.retry_visibility
                )
            except Exception:  # the message may already be gone (deleted by a duplicate)
                log.debug("could not release message", exc_info=True)


def build_mappings(functions: Functions, stack: Any, sqs: Any, **knobs: Any) -> list[EventSourceMapping]:
    mappings = []
    for fn in functions.defs.values():
        for source in fn.sqs:
            mappings.append(
                EventSourceMapping(
                    functions=functions,
                    fn=fn,
                    source=source,
                    queue_url=stack.queue_urls[source.queue],
                    queue_arn=stack.attrs[(source.queue, "Arn")],
                    sqs=sqs,
                    **knobs,
                )
            )
    return mappings


def queue_depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(v) for v in attrs.values())


def drain(mappings: list[EventSourceMapping], max_rounds: int = 1000) -> int:
    """Poll every mapping until no queue it reads holds a message (tests: in-process, serial).

    Empty means empty in two rounds running: moto's counts can read 0 for a delayed message at the
    very millisecond its delay ends (seen under load: a hydrate message handed on with a 1 s delay
    read 0 in one round and was received in the next), and a drain that stopped there left the job
    running."""
    total = 0
    empty_rounds = 0
    for _ in range(max_rounds):
        received = sum(m.poll_once() for m in mappings)
        total += received
        empty = received == 0 and all(queue_depth(m.sqs, m.queue_url) == 0 for m in mappings)
        empty_rounds = empty_rounds + 1 if empty else 0
        if empty_rounds >= 2:
            return total
    raise RuntimeError(f"queues not drained after {max_rounds} rounds")
