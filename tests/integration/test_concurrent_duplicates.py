"""Two copies of one SQS message running at the same time (AWS delivers at least once, and a copy
can arrive while the first is still running): the local stack runs copies one after the other, so
this test runs them on real threads against one table, both fetching before either commits."""

from __future__ import annotations

import json
import threading
from typing import Any

from apihub.pipeline.hydrate import HydrateBatch

from apihub_local.events import sqs_event


def test_two_copies_of_a_hydrate_batch_running_at_once_count_each_product_once(hub, monkeypatch) -> None:
    # Given a running job whose hydrate messages wait on the queue (25 products: 3 messages)
    hub.add_supplier("demo", protocol_config={"products": 25, "fail_skus": ["DEMO-00004"]})
    accepted = hub.start_import("demo", mode="full_sellable")
    assert accepted.status == 202, accepted.json
    job_id = accepted.json["sync_job_id"]
    discover = next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction")
    hydrate = next(m for m in hub.mappings if m.fn.logical_id == "HydrateFunction")
    discover.poll_once()
    received = hydrate.sqs.receive_message(QueueUrl=hydrate.queue_url, MaxNumberOfMessages=2, AttributeNames=["All"])
    messages = received["Messages"]
    assert len(messages) == 2
    skus = [sku for m in messages for sku in json.loads(m["Body"])["skus"]]
    event = sqs_event(messages, hydrate.queue_arn)
    # And two copies of a batch of two of them (the job stays running after it, so a double count
    # cannot hide behind the job having ended) that both fetch every product before either commits
    barrier = threading.Barrier(2, timeout=120)
    real_commit = HydrateBatch.commit

    def commit_together(self: HydrateBatch) -> None:
        barrier.wait()
        real_commit(self)

    monkeypatch.setattr(HydrateBatch, "commit", commit_together)
    results: list[Any] = []
    errors: list[BaseException] = []

    def invoke() -> None:
        try:
            results.append(hub.functions.invoke("HydrateFunction", event))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    # When both copies run at once
    threads = [threading.Thread(target=invoke) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    # Then both succeeded, and every product counts exactly once: one copy recorded it, the other
    # found its outcome item already there (attribute_not_exists) and recorded nothing
    assert not errors, errors
    assert [r["batchItemFailures"] for r in results] == [[], []]
    job = hub.job(job_id)
    assert len(skus) == 20 and "DEMO-00004" in skus
    assert (job["status"], job["total_products"]) == ("running", 25)
    assert (job["success_count"], job["failed_count"]) == (19, 1)
    assert [e["sku"] for e in job["errors"]] == ["DEMO-00004"]
    # And the rest of the import still ends exact (the batch acknowledged, as the event source would)
    for m in messages:
        hydrate.sqs.delete_message(QueueUrl=hydrate.queue_url, ReceiptHandle=m["ReceiptHandle"])
    monkeypatch.setattr(HydrateBatch, "commit", real_commit)
    hub.drain()
    job = hub.job(job_id)
    assert (job["status"], job["success_count"], job["failed_count"]) == ("partial_success", 24, 1)
