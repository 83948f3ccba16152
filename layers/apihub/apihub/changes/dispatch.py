"""The dispatcher: change log stream records -> the EventBridge bus and webhook deliveries.

Each INSERT record of the changes table carries one event (attribute ``event``, the
``ChangeEvent`` JSON). For a batch of records the dispatcher

1. puts every event on the bus (``apihub.dal.event_bus``: batches of <= 10 entries and 256 KB,
   failed entries sent again), and
2. enqueues one delivery message per matching subscription (type, and supplier when the
   subscription names one) with SendMessageBatch, failed entries sent again.

A record whose event cannot be read, put or enqueued is reported in ``batchItemFailures`` (its
sequence number); the others are not. Lambda retries from the first reported record, so records
after it are dispatched again: delivery is at least once, and a receiver may see an event id twice
(docs/changes.md says so and how to de-duplicate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from apihub.changes.delivery_message import DeliveryMessage, event_body
from apihub.changes.events import ChangeEvent
from apihub.dal import queues
from apihub.dal.event_bus import BusEvent, put_events
from apihub.dal.subscriptions import SubscriptionsRepository
from apihub.observability import logger


@dataclass(frozen=True)
class _Record:
    sequence: str
    event: ChangeEvent
    body: str


class SubscriptionMatcher:
    """The subscriptions matching an event's type and supplier, read once per (type, supplier) and
    batch: a batch of one import's events costs a few Queries, and no answer outlives its batch, so
    a subscription receives every event dispatched after it was created."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str | None], list[str]] = {}

    def matching(self, event_type: str, supplier_id: str | None) -> list[str]:
        key = (event_type, supplier_id)
        if key not in self._seen:
            ids = SubscriptionsRepository().matching(event_type, supplier_id)
            self._seen[key] = list(dict.fromkeys(ids))
        return self._seen[key]


def _read(record: Mapping[str, Any]) -> ChangeEvent:
    image = record["dynamodb"]["NewImage"]
    return ChangeEvent.model_validate_json(image["event"]["S"])


def handle_stream_batch(records: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Dispatch a DynamoDB stream batch; the Lambda partial-failure response."""
    failed: set[str] = set()
    order: list[str] = []
    events: list[_Record] = []
    for record in records:
        sequence = str(record.get("dynamodb", {}).get("SequenceNumber", ""))
        order.append(sequence)
        if record.get("eventName") != "INSERT":
            continue  # the change log is append only: updates (TTL, none else) and removals carry no event
        try:
            event = _read(record)
        except (KeyError, TypeError, ValidationError) as exc:
            logger.error("change record has no readable event", extra={"sequence": sequence, "error": str(exc)[:500]})
            failed.add(sequence)
            continue
        events.append(_Record(sequence, event, event_body(event)))

    not_put = put_events([BusEvent(r.event.id, r.event.type.value, r.body) for r in events])
    messages: list[tuple[str, dict[str, Any]]] = []
    matcher = SubscriptionMatcher()
    for r in events:
        for sub_id in matcher.matching(r.event.type.value, r.event.supplier_id):
            message = DeliveryMessage(
                subscription_id=sub_id, event_id=r.event.id, event_type=r.event.type.value, body=r.body
            )
            messages.append((r.sequence, message.model_dump()))
    unsent = queues.send_webhook_batch([m for _, m in messages])
    not_enqueued = {messages[i][0] for i in unsent}
    for r in events:
        if r.event.id in not_put or r.sequence in not_enqueued:
            failed.add(r.sequence)
    if failed:
        logger.warning("change records not dispatched", extra={"failed": len(failed)})
    logger.info("changes dispatched", extra={"events": len(events), "deliveries": len(messages) - len(unsent)})
    # In stream order: Lambda checkpoints before the first one reported.
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in order if seq in failed]}
