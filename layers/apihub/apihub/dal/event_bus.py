"""EventBridge: change events on the custom bus (``apihub-<stage>``), with ``PutEvents``.

A request takes at most 10 entries and 256 KB, counted as EventBridge counts an entry (the UTF-8
bytes of its Source, DetailType and Detail; 14 for a Time, which we do not send). PutEvents
succeeds as a call even when some entries fail (``FailedEntryCount``, an ``ErrorCode`` on each failed
entry, in request order): only those are sent again, with backoff.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apihub.dal.clients import client
from apihub.observability import logger
from apihub.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

SOURCE = "apihub"
MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
ATTEMPTS = 5


@dataclass(frozen=True)
class BusEvent:
    """One change event to put: its id (to report failures by), type and JSON."""

    id: str
    detail_type: str
    detail: str


def entry_size(event: BusEvent) -> int:
    """The entry's size as EventBridge counts it against the 256 KB request limit."""
    return len(SOURCE.encode()) + len(event.detail_type.encode()) + len(event.detail.encode())


def batches(events: Sequence[BusEvent]) -> list[list[BusEvent]]:
    """``events`` in order, cut into requests of at most 10 entries and 256 KB. An entry over
    256 KB by itself is put alone (EventBridge refuses it; the caller keeps entries under that)."""
    out: list[list[BusEvent]] = []
    current: list[BusEvent] = []
    size = 0
    for event in events:
        n = entry_size(event)
        if current and (len(current) == MAX_ENTRIES or size + n > MAX_REQUEST_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(event)
        size += n
    if current:
        out.append(current)
    return out


def put_events(
    events: Sequence[BusEvent],
    *,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> set[str]:
    """Put ``events`` on the bus; returns the ids of those still failing after ``attempts`` tries."""
    bus = get_settings().event_bus_name
    failed: set[str] = set()
    for batch in batches(events):
        pending = list(batch)
        for attempt in range(attempts):
            entries: list[PutEventsRequestEntryTypeDef] = [
                {"Source": SOURCE, "DetailType": e.detail_type, "Detail": e.detail, "EventBusName": bus}
                for e in pending
            ]
            resp = client("events").put_events(Entries=entries)
            if not resp.get("FailedEntryCount"):
                pending = []
                break
            results = resp.get("Entries", [])
            errors = {r.get("ErrorCode") for r in results if r.get("ErrorCode")}
            pending = [e for e, r in zip(pending, results, strict=False) if r.get("ErrorCode")]
            logger.warning(
                "PutEvents: entries failed; sending them again",
                extra={"failed": len(pending), "errors": sorted(str(e) for e in errors), "attempt": attempt + 1},
            )
            if attempt + 1 < attempts:
                sleep(random.uniform(0, min(2.0, 0.1 * 2**attempt)))
        failed |= {e.id for e in pending}
    return failed
