"""What one change event looks like on its way out: the JSON every delivery path sends, and the
webhook delivery message on the deliveries queue."""

from __future__ import annotations

import json

from apihub.changes.events import ChangeEvent
from apihub.models import ApihubModel

# Every path out has a 256 KB cap: an SQS message (where the event travels as an escaped string),
# a PutEvents request. An event whose escaped JSON is larger is sent with its ``data`` replaced by
# ``{"truncated": true}``: the whole event stays readable from the change log (GET /api/changes).
MAX_EVENT_BYTES = 250_000


def event_body(event: ChangeEvent) -> str:
    """The event's JSON as every path sends it: the webhook body, the EventBridge ``detail``."""
    text = event.model_dump_json()
    if len(json.dumps(text).encode()) <= MAX_EVENT_BYTES:
        return text
    return event.model_copy(update={"data": {"truncated": True}}).model_dump_json()


class DeliveryMessage(ApihubModel):
    """One event for one subscription, on the deliveries queue. ``body`` is sent byte for byte on
    every attempt (same event id, same JSON); ``attempt`` is the attempt this message makes,
    ``first_attempt_at`` (epoch seconds) starts the 24 h give-up clock, and a message received
    before ``not_before`` is only sent on towards it (SQS delays at most 900 s)."""

    v: int = 1
    subscription_id: str
    event_id: str
    event_type: str
    body: str
    attempt: int = 1
    first_attempt_at: float | None = None
    not_before: float = 0.0
