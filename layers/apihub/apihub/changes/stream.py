"""The change detector: DynamoDB stream records of the products (inventory, pricing) tables in, change
events logged once each (``apihub.dal.changes``) out.

Records are routed by the table in their ``eventSourceARN``: one function serves every table whose
stream the template attaches to it. They are handled in order; the first that fails is reported
(``batchItemFailures``) and the rest of the batch is left alone, because Lambda restarts a stream
batch from the lowest failed sequence number: the records after it come back in order. A record
handled again logs nothing new (event ids are derived from the change, the log's writes are
conditional on the id).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from apihub import observability
from apihub.changes.detect import StoredState, inventory_events, price_events, product_events
from apihub.changes.events import ChangeEvent
from apihub.dal.changes import ChangesRepository
from apihub.dal.products import body_of
from apihub.settings import get_settings

Differ = Callable[[StoredState | None, StoredState | None], list[ChangeEvent]]


def handle_batch(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Log the events of each record in order; report the first record that failed (and stop)."""
    changes = ChangesRepository()
    for record in records:
        try:
            events = events_of(record)
            if events:
                changes.record(events)
        except Exception:
            observability.logger.exception(
                "change detection failed; the batch resumes from this record",
                extra={"sequence_number": _sequence(record), "event_source_arn": record.get("eventSourceARN")},
            )
            return {"batchItemFailures": [{"itemIdentifier": _sequence(record)}]}
    return {"batchItemFailures": []}


def events_of(record: dict[str, Any]) -> list[ChangeEvent]:
    """The change events of one stream record (none for a table this detector does not know)."""
    table = table_of(record.get("eventSourceARN", ""))
    settings = get_settings()
    differs: dict[str, tuple[Differ, str]] = {
        settings.products_table: (product_events, "updated_at"),
        settings.inventory_table: (inventory_events, "changed_at"),
        settings.pricing_table: (price_events, "changed_at"),
    }
    if table not in differs:
        observability.logger.warning("stream record of an unknown table ignored", extra={"table": table})
        return []
    differ, written_attr = differs[table]
    images = record.get("dynamodb") or {}
    old, new = (_state(images.get(name), written_attr) for name in ("OldImage", "NewImage"))
    return differ(old, new)


def table_of(arn: str) -> str:
    """The table name in a stream ARN (``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>``)."""
    _, _, rest = arn.partition(":table/")
    return rest.split("/", 1)[0]


def _state(image: dict[str, Any] | None, written_attr: str) -> StoredState | None:
    if not image:
        return None
    item = {name: _value(value) for name, value in image.items()}
    return StoredState(
        supplier_id=str(item["supplier_id"]),
        product_id=str(item["product_id"]),
        content_hash=str(item.get("content_hash") or ""),
        written_at=str(item.get(written_attr) or item.get("updated_at") or ""),
        job_id=item.get("last_job_id") or item.get("job_id"),
        source=item.get("source"),
        discontinued_at=item.get("discontinued_at"),
        body=body_of(item.get("data"), item.get("body_ref")),
    )


def _value(attr: dict[str, Any]) -> Any:
    """One attribute of a stream image (DynamoDB JSON; binary is base64 in Lambda's event)."""
    kind, value = next(iter(attr.items()))
    if kind == "B":
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)
    if kind == "NULL":
        return None
    return value  # S, N (as text), BOOL; sets and maps are not part of these tables' images


def _sequence(record: dict[str, Any]) -> str:
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
