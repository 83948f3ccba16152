"""What a committed write changed, as change events: the products table's old and new item
(``product.*``), the inventory table's (``inventory.changed``) and the pricing table's (``price.changed``).

Pure: the stream handler (``apihub.changes.stream``) decodes the records into ``StoredState``s and
logs what comes out. An event's id is derived from the change itself (the product, the type and the
new item's write time and content hash), never random, so a redelivered record gives the same id
and the log keeps one item for it; a write that changed no content gives no event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from apihub.changes.events import ChangeEvent, EventType


@dataclass(frozen=True)
class StoredState:
    """One image of a products (or inventory) item: its keys, bookkeeping, and decoded body
    (``None`` when the body could no longer be read, e.g. an S3 body a newer write replaced)."""

    supplier_id: str
    product_id: str
    content_hash: str
    written_at: str  # ProductItem.updated_at / InventoryItem.changed_at: when this content was committed
    job_id: str | None = None
    source: str | None = None  # inventory: "job" or "live", the kind of read that stored it
    discontinued_at: str | None = None
    body: dict[str, Any] | None = field(default=None, compare=False)


def event_id(*parts: str) -> str:
    """A stable id for the change named by ``parts`` (``evt_`` + 32 hex digits of SHA-256)."""
    return "evt_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def product_events(old: StoredState | None, new: StoredState | None) -> list[ChangeEvent]:
    """The events of one products-table write: ``old`` and ``new`` images (None: no such image)."""
    if new is None:
        return []  # a removal (the supplier was deleted): not a catalog change
    events: list[ChangeEvent] = []
    if old is None:
        events.append(
            _product_event(EventType.product_created, new, new.written_at, {"content_hash": new.content_hash})
        )
        return events
    if new.discontinued_at and not old.discontinued_at:
        events.append(_product_event(EventType.product_discontinued, new, new.discontinued_at, {}))
    elif old.discontinued_at and not new.discontinued_at:
        # Named by the discontinuation it ends: a product may come back with no new write time.
        data = {"discontinued_at": old.discontinued_at}
        events.append(_product_event(EventType.product_reactivated, new, new.written_at, data, old.discontinued_at))
    if new.content_hash != old.content_hash:
        data = {"content_hash": new.content_hash, **diff_bodies(old.body, new.body)}
        events.append(_product_event(EventType.product_updated, new, new.written_at, data))
    return events


def _product_event(kind: EventType, new: StoredState, at: str, data: dict[str, Any], *more_id: str) -> ChangeEvent:
    return ChangeEvent(
        id=event_id(kind.value, new.supplier_id, new.product_id, at, new.content_hash, *more_id),
        type=kind,
        occurred_at=at,
        supplier_id=new.supplier_id,
        product_id=new.product_id,
        job_id=new.job_id,
        data=data,
    )


def diff_bodies(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """``changed_fields`` (top-level canonical fields that differ, sorted) and the part ids added
    and removed. When a body could not be read, ``changed_fields`` is ``None`` (unknown)."""
    if old is None or new is None:
        return {"changed_fields": None, "parts_added": [], "parts_removed": []}
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    old_parts, new_parts = _part_ids(old), _part_ids(new)
    return {
        "changed_fields": changed,
        "parts_added": sorted(new_parts - old_parts),
        "parts_removed": sorted(old_parts - new_parts),
    }


def _part_ids(body: dict[str, Any]) -> set[str]:
    return {str(p.get("part_id")) for p in body.get("parts") or [] if isinstance(p, dict) and p.get("part_id")}


def inventory_events(old: StoredState | None, new: StoredState | None) -> list[ChangeEvent]:
    """``inventory.changed`` for a new or changed inventory item: the parts whose
    ``quantity_available`` moved (or appeared, or went), each with its old and new quantity."""
    if new is None or (old is not None and old.content_hash == new.content_hash):
        return []
    before = _quantities(old.body if old is not None else {})
    after = _quantities(new.body)
    parts = [
        {"part_id": pid, "old_quantity_available": before.get(pid), "new_quantity_available": after.get(pid)}
        for pid in sorted(before.keys() | after.keys())
        if before.get(pid) != after.get(pid) or (pid in before) != (pid in after)
    ]
    if not parts and old is not None:
        return []  # only locations, dates or notes moved: no quantity changed
    return [
        ChangeEvent(
            id=event_id(
                EventType.inventory_changed.value, new.supplier_id, new.product_id, new.written_at, new.content_hash
            ),
            type=EventType.inventory_changed,
            occurred_at=new.written_at,
            supplier_id=new.supplier_id,
            product_id=new.product_id,
            job_id=new.job_id,  # the inventory job whose read stored it; None for a live read
            data={"parts": parts, "source": new.source},
        )
    ]


def _quantities(body: dict[str, Any] | None) -> dict[str, Any]:
    parts = (body or {}).get("parts") or []
    return {str(p["part_id"]): p.get("quantity_available") for p in parts if isinstance(p, dict) and "part_id" in p}


# What a ``price.changed`` names as moved, and where each sits in a stored pricing record.
PRICE_ASPECTS = ("part_prices", "charges", "locations", "fob_points")


def price_events(old: StoredState | None, new: StoredState | None) -> list[ChangeEvent]:
    """``price.changed`` for a new or changed pricing item, ``data.changed`` naming what moved
    (``PRICE_ASPECTS``; every aspect the new item holds when nothing was stored before, all of
    them when a body could no longer be read). A write of the same content gives none."""
    if new is None or (old is not None and old.content_hash == new.content_hash):
        return []
    after = _price_aspects(new.body)
    if old is None:
        changed = [name for name in PRICE_ASPECTS if after is None or after[name]]
    else:
        before = _price_aspects(old.body)
        if before is None or after is None:
            changed = list(PRICE_ASPECTS)
        else:
            changed = [name for name in PRICE_ASPECTS if before[name] != after[name]]
    return [
        ChangeEvent(
            id=event_id(
                EventType.price_changed.value, new.supplier_id, new.product_id, new.written_at, new.content_hash
            ),
            type=EventType.price_changed,
            occurred_at=new.written_at,
            supplier_id=new.supplier_id,
            product_id=new.product_id,
            job_id=new.job_id,  # the prices job whose read stored it
            data={"changed": changed, "content_hash": new.content_hash},
        )
    ]


def _price_aspects(body: Any) -> dict[str, list[Any]] | None:
    """Each aspect of a stored pricing body (a list of records), record by record: the parts with
    their price rows, the charges (with their price rows), the locations and decorations without
    their charges, the FOB points. ``as_of`` is left out (a re-read is not a change)."""
    if not isinstance(body, list):
        return None
    aspects: dict[str, list[Any]] = {name: [] for name in PRICE_ASPECTS}
    for record in body:
        if not isinstance(record, dict):
            return None
        key = [record.get(name) for name in ("fob_id", "currency", "price_type", "requested_price_type")]
        parts = record.get("parts") or []
        locations = record.get("locations") or []
        aspects["part_prices"].append((key, parts))
        aspects["fob_points"].append((key, record.get("fob_points")))
        charges, bare = [], []
        for location in locations:
            decorations = location.get("decorations") or []
            for decoration in decorations:
                charges.append(
                    (location.get("location_id"), decoration.get("decoration_id"), decoration.get("charges"))
                )
            bare.append(
                {
                    **location,
                    "decorations": [{k: v for k, v in d.items() if k != "charges"} for d in decorations],
                }
            )
        aspects["charges"].append((key, charges))
        aspects["locations"].append((key, bare))
    return aspects


def job_finished_event(
    job_id: str, supplier_id: str, mode: str, status: str, counters: dict[str, int], completed_at: str
) -> ChangeEvent:
    """``job.finished``: logged in the transaction that ends the job, so it exists iff the job
    ended (a job ends once, so its id is the job's)."""
    return ChangeEvent(
        id=event_id(EventType.job_finished.value, job_id),
        type=EventType.job_finished,
        occurred_at=completed_at,
        supplier_id=supplier_id,
        job_id=job_id,
        data={"mode": mode, "status": status, **counters},
    )
