"""Two copies of one hydrate batch at once (AWS delivers at least once, and a copy can arrive while
the first is still running): the local stack runs copies one after the other, so this runs them on
real threads, both fetching before either commits. Shared by the modes' exactly-once tests."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class Copies:
    job_id: str
    skus: list[str]  # the SKUs of the batch both copies ran
    results: list[Any]  # each copy's answer (``batchItemFailures``)
    messages: list[dict[str, Any]]
    hydrate: Any  # the hydrate queue's mapping

    def acknowledge(self) -> None:
        """Delete the batch's messages, as the event source would after the copies succeeded."""
        for m in self.messages:
            self.hydrate.sqs.delete_message(QueueUrl=self.hydrate.queue_url, ReceiptHandle=m["ReceiptHandle"])


def two_copies_of_a_batch(hub: Any, monkeypatch: pytest.MonkeyPatch, supplier: str, mode: str) -> Copies:
    """Start ``mode``'s import of ``supplier``, list it, and run two copies of a batch of (up to)
    two of its hydrate messages at once, both committing only after both fetched. The job stays
    running after it (its other messages wait on the queue), and ``HydrateBatch.commit`` is itself
    again when this returns."""
    from apihub.pipeline.hydrate import HydrateBatch

    from apihub_local.events import sqs_event

    accepted = hub.start_import(supplier, mode=mode)
    assert accepted.status == 202, accepted.json
    discover = next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction")
    hydrate = next(m for m in hub.mappings if m.fn.logical_id == "HydrateFunction")
    discover.poll_once()
    received = hydrate.sqs.receive_message(QueueUrl=hydrate.queue_url, MaxNumberOfMessages=2, AttributeNames=["All"])
    messages = received["Messages"]
    skus = [sku for m in messages for sku in json.loads(m["Body"])["skus"]]
    event = sqs_event(messages, hydrate.queue_arn)
    barrier = threading.Barrier(2, timeout=120)
    real_commit = HydrateBatch.commit

    def commit_together(self: HydrateBatch) -> None:
        barrier.wait()
        real_commit(self)

    results: list[Any] = [None, None]

    def run(i: int) -> None:
        results[i] = hub.functions.invoke("HydrateFunction", event)

    with monkeypatch.context() as patched:
        patched.setattr(HydrateBatch, "commit", commit_together)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
    return Copies(accepted.json["sync_job_id"], skus, results, messages, hydrate)
