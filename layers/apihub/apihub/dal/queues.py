"""SQS: the discovery and hydrate queues (message shapes live in ``apihub.pipeline.messages``)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from apihub.dal.clients import client
from apihub.errors import ServiceUnavailable
from apihub.settings import get_settings

SQS_BATCH = 10


def send_discovery(body: dict[str, Any], delay_seconds: int = 0) -> None:
    client("sqs").send_message(
        QueueUrl=get_settings().discovery_queue_url, MessageBody=json.dumps(body), DelaySeconds=delay_seconds
    )


def send_hydrate_batch(bodies: Sequence[dict[str, Any]], attempts: int = 5, delay_seconds: int = 0) -> int:
    """Send ``bodies`` to the hydrate queue with SendMessageBatch, re-sending entries reported in
    ``Failed`` (SendMessageBatch succeeds as a call even when some entries fail). Returns the count."""
    sqs = client("sqs")
    url = get_settings().hydrate_queue_url
    sent = 0
    for start in range(0, len(bodies), SQS_BATCH):
        pending = {str(i): json.dumps(b) for i, b in enumerate(bodies[start : start + SQS_BATCH])}
        for attempt in range(attempts):
            resp = sqs.send_message_batch(
                QueueUrl=url,
                Entries=[{"Id": k, "MessageBody": v, "DelaySeconds": delay_seconds} for k, v in pending.items()],
            )
            for ok in resp.get("Successful", []):
                pending.pop(ok["Id"], None)
                sent += 1
            if not pending:
                break
            failed = resp.get("Failed", [])
            if any(f.get("SenderFault") for f in failed):
                raise ServiceUnavailable(f"hydrate queue rejected messages: {failed[0].get('Message')}")
            time.sleep(min(2.0, 0.1 * 2**attempt))
        if pending:
            raise ServiceUnavailable(f"hydrate queue kept failing {len(pending)} entries")
    return sent


def delay_retry(queue_url: str, receipt_handle: str, seconds: int) -> None:
    """Push a message's next delivery out (backoff for transient supplier errors)."""
    client("sqs").change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(seconds, 43_200))
    )


def messages_held(queue_url: str) -> int:
    """Messages the queue still holds: waiting, in flight (received, not yet deleted) and delayed.
    SQS's counts are approximate and lag by up to a minute; the sweeper reads them only for jobs
    already idle for its whole stall limit."""
    attrs = client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(value) for value in attrs.values())


def webhook_group(body: dict[str, Any]) -> str:
    """The message group of a webhook delivery: its subscription. The deliveries queue is a standard
    queue with fair queueing (docs/decisions.md, "Webhook deliveries: one fair queue"): SQS serves
    the groups with fewest messages in flight first, so one subscription's backlog does not hold
    back another's deliveries. Every send of a delivery (first, retry, hop) names it."""
    return str(body["subscription_id"])


def send_webhook_batch(bodies: Sequence[dict[str, Any]], attempts: int = 5) -> list[int]:
    """Enqueue webhook deliveries (SendMessageBatch, re-sending the entries reported in ``Failed``).
    Returns the indexes of ``bodies`` still not sent after ``attempts`` tries (empty: all sent)."""
    sqs = client("sqs")
    url = get_settings().webhook_queue_url
    unsent: list[int] = []
    for start in range(0, len(bodies), SQS_BATCH):
        chunk = bodies[start : start + SQS_BATCH]
        pending = {str(start + i): json.dumps(b) for i, b in enumerate(chunk)}
        groups = {str(start + i): webhook_group(b) for i, b in enumerate(chunk)}
        for attempt in range(attempts):
            resp = sqs.send_message_batch(
                QueueUrl=url,
                Entries=[{"Id": k, "MessageBody": v, "MessageGroupId": groups[k]} for k, v in pending.items()],
            )
            for ok in resp.get("Successful", []):
                pending.pop(ok["Id"], None)
            if not pending:
                break
            if attempt + 1 < attempts:
                time.sleep(min(2.0, 0.1 * 2**attempt))
        unsent += sorted(int(k) for k in pending)
    return unsent


def send_webhook(body: dict[str, Any], delay_seconds: int) -> None:
    """Enqueue one webhook delivery again (its next attempt, or a hop towards it)."""
    client("sqs").send_message(
        QueueUrl=get_settings().webhook_queue_url,
        MessageBody=json.dumps(body),
        DelaySeconds=delay_seconds,
        MessageGroupId=webhook_group(body),
    )


def send_webhook_dead_letter(body: dict[str, Any]) -> None:
    """A delivery given up after its last attempt: to the webhook DLQ, where its alarm fires."""
    client("sqs").send_message(QueueUrl=get_settings().webhook_dlq_url, MessageBody=json.dumps(body))
