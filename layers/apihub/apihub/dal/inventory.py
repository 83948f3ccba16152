"""Inventory table access: one item per product, written only when its stock content changes.

The item (``InventoryItem``) holds ``data`` (zlib-compressed JSON of ``Inventory.model_dump(mode="json")``),
``content_hash``, ``as_of`` (when that content was read), ``last_modified`` (the supplier's) and
``changed_at`` (when the content last changed), and who stored it (``job_id``, ``source``). Every
write is conditional on the hash it replaces, so an unchanged read writes nothing and each content
write in the table's stream is a real change (the change feed of issue 15 relies on that).

**Stock never steps back**: every write carries the time the supplier answered (``as_of``) and is
also conditional on the stored ``as_of`` being older, so a read older than what is stored is
dropped, and makes no event (docs/inventory.md, "Stock never steps back"). A live read that found
the stored content moves its ``as_of`` on (a conditional update of that attribute alone, no event),
so an older job read cannot replace a newer confirmation either. How ``as_of`` stays honest
without a write per unchanged job read is ``apihub.inventory.freshness``.

The live read's single-flight lease, in the jobs table, is ``apihub.dal.live_reads``.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition

from apihub.dal.jobs.keys import sku_fits
from apihub.dal.jobs.writes import ItemWrite, StoredState
from apihub.dal.retries import call_with_retries
from apihub.dal.sizes import ITEM_MAX, item_bytes, kb
from apihub.dal.tables import InventoryItem, bind_tables
from apihub.inventory.models import Inventory
from apihub.models import iso, utcnow
from apihub.pagination import Cursor, KeyString, Position, decode_cursor
from apihub.settings import Settings, get_settings


class _Unread(Enum):
    UNREAD = "unread"


UNREAD = _Unread.UNREAD  # ``store``'s ``known`` when the caller did not read the stored state

SOURCE_JOB = "job"  # an inventory job's read stored it (the item's and the event's ``source``)
SOURCE_LIVE = "live"  # a live read (``GET .../inventory?max_age_s=``) stored it
STORE_ATTEMPTS = 3  # a live read's store, against concurrent writers (each lost race re-reads)


class Stored(Enum):
    """What storing a live read did."""

    written = "written"  # its content changed: it is stored now
    confirmed = "confirmed"  # the stored content is what it read: confirmed at its time (or later)
    superseded = "superseded"  # other content read later is stored: this read was dropped


@dataclass(frozen=True)
class StoredInventory:
    """What the table holds for one product."""

    inventory: Inventory
    content_hash: str
    as_of: str
    changed_at: str
    last_modified: str | None = None


@dataclass(frozen=True)
class InventoryStamp:
    """A product's row of the ``by_changed`` index: no body."""

    product_id: str
    changed_at: str
    as_of: str
    last_modified: str | None = None


@dataclass
class InventoryWrite(ItemWrite):
    """An inventory item ready to put, alone or in an outcomes transaction."""

    item: InventoryItem

    @property
    def body_ref(self) -> str | None:
        return None  # stock levels are small: always inline

    @property
    def as_of(self) -> str:
        return str(self.item.as_of)

    def needed(self, known: StoredState | None) -> bool:
        """Whether this read still changes what is stored: other content, read earlier than this."""
        if known is None:
            return True
        if known.as_of is not None and known.as_of >= self.as_of:
            return False  # the stored stock was read at this read's time or later: never step back
        return known.content_hash != self.content_hash

    def condition(self, known: StoredState | None) -> Condition:
        """Written over exactly the content that was read (or none), and only over an older read:
        each write is one change, and stock never steps back."""
        if known is None:
            return InventoryItem.product_id.does_not_exist()
        both: Condition = (InventoryItem.content_hash == known.content_hash) & (InventoryItem.as_of < self.as_of)
        return both


def _body(inventory: Inventory) -> bytes:
    return zlib.compress(json.dumps(inventory.model_dump(mode="json"), separators=(",", ":")).encode(), 6)


def inventory_write(
    supplier_id: str, inventory: Inventory, content_hash: str, read_at: str, *, job_id: str | None = None
) -> InventoryWrite | str:
    """The item storing ``inventory`` read at ``read_at`` (its change time too) by inventory job
    ``job_id`` (None: a live read), or why it cannot be stored."""
    item = InventoryItem(
        supplier_id,
        inventory.product_id,
        data=_body(inventory),
        content_hash=content_hash,
        as_of=read_at,
        last_modified=iso(inventory.last_modified()),
        changed_at=read_at,
        job_id=job_id,
        source=SOURCE_JOB if job_id else SOURCE_LIVE,
    )
    size = item_bytes(item.serialize())
    if size > ITEM_MAX:
        return f"ProductError: stored inventory too large ({kb(size)} > {kb(ITEM_MAX)})"
    return InventoryWrite(item, size)


def _stored(item: InventoryItem) -> StoredInventory:
    return StoredInventory(
        inventory=Inventory.model_validate(json.loads(zlib.decompress(bytes(item.data)))),
        content_hash=item.content_hash,
        as_of=item.as_of,
        changed_at=item.changed_at,
        last_modified=item.last_modified,
    )


class ChangedPosition(Position):
    """Where a ``changed_since`` list resumes: the last product sent, by change time."""

    changed_at: KeyString
    product_id: KeyString


def changed_scope(supplier_id: str, since: str) -> str:
    return f"suppliers/{supplier_id}/inventory?changed_since={since}"


class InventoryRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        bind_tables(self.settings)

    def get(self, supplier_id: str, product_id: str) -> StoredInventory | None:
        if not sku_fits(product_id):
            return None
        try:
            item = call_with_retries(
                lambda: InventoryItem.get(supplier_id, product_id, consistent_read=True), what="read inventory"
            )
        except DoesNotExist:
            return None
        return _stored(item)

    def stamp(self, supplier_id: str, product_id: str) -> InventoryStamp | None:
        """The product's stamp without its body (None: no stock stored)."""
        if not sku_fits(product_id):
            return None
        try:
            item = InventoryItem.get(
                supplier_id,
                product_id,
                attributes_to_get=["product_id", "changed_at", "as_of", "last_modified"],
            )
        except DoesNotExist:
            return None
        return _stamp(item)

    def hashes(self, supplier_id: str, skus: Iterable[str]) -> dict[str, StoredState]:
        """The stored content hash of each of these products that has stock stored."""
        keys = [(supplier_id, s) for s in dict.fromkeys(skus) if sku_fits(s)]
        if not keys:
            return {}
        found = InventoryItem.batch_get(keys, attributes_to_get=["supplier_id", "product_id", "content_hash", "as_of"])
        return {i.product_id: StoredState(i.content_hash, as_of=i.as_of) for i in found}

    def _state(self, supplier_id: str, product_id: str) -> StoredState | None:
        """The stored hash and ``as_of`` of one product, read consistently (after a lost race)."""
        try:
            item = call_with_retries(
                lambda: InventoryItem.get(
                    supplier_id, product_id, consistent_read=True, attributes_to_get=["content_hash", "as_of"]
                ),
                what="read inventory",
            )
        except DoesNotExist:
            return None
        return StoredState(item.content_hash, as_of=item.as_of)

    def store(
        self, supplier_id: str, inventory: Inventory, read_at: str, *, known: StoredState | _Unread | None = UNREAD
    ) -> Stored:
        """Store a live read answered at ``read_at``, never over a newer one.

        Changed content is put (conditional on the stored hash and an older ``as_of``); content
        equal to what is stored moves the stored ``as_of`` on to ``read_at`` (conditional the same
        way; no content write, no event). A lost race re-reads the stored state (consistently)
        and decides again, so a concurrent writer of an older read does not win. ``known``: the
        stored state as the caller read it (None: nothing stored), which saves the first read."""
        content_hash = inventory.compute_hash()
        if known is UNREAD:
            known = self.hashes(supplier_id, [inventory.product_id]).get(inventory.product_id)
        write = inventory_write(supplier_id, inventory, content_hash, read_at)
        if isinstance(write, str):
            raise ValueError(write)
        for _ in range(STORE_ATTEMPTS):
            if known is not None and known.as_of is not None and known.as_of >= read_at:
                return Stored.confirmed if known.content_hash == content_hash else Stored.superseded
            if known is not None and known.content_hash == content_hash:
                if self._confirm(supplier_id, inventory.product_id, known, read_at):
                    return Stored.confirmed
            elif _put(write, known):
                return Stored.written
            known = self._state(supplier_id, inventory.product_id)
        # Still losing to other writers after the re-reads: their reads are as new as this one.
        return Stored.superseded

    def _confirm(self, supplier_id: str, product_id: str, known: StoredState, read_at: str) -> bool:
        """Move the stored ``as_of`` on to ``read_at`` if the content is still ``known``'s and was
        read earlier. False when another write came first."""
        item = InventoryItem(supplier_id, product_id)
        condition = (InventoryItem.content_hash == known.content_hash) & (InventoryItem.as_of < read_at)
        try:
            call_with_retries(
                lambda: item.update(actions=[InventoryItem.as_of.set(read_at)], condition=condition),
                what="confirm inventory",
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def changed_since(
        self, supplier_id: str, since: datetime, limit: int, next_token: str | None = None
    ) -> tuple[list[InventoryStamp], Cursor | None]:
        """Products whose stock changed after ``since``, oldest change first (a Query on ``by_changed``),
        up to the settle time: a change is positioned when the supplier answered (``changed_at``) and
        readable once its write commits, at most ``inventory_changes_settle_s`` later, so only changes
        positioned before ``now - inventory_changes_settle_s`` are listed. Every page that lists one
        answers a cursor after it, the last page too: a follower polls with it and misses nothing,
        receives nothing twice (docs/inventory.md, "Following stock changes"). An empty page has none."""
        since_text = iso(since) or ""
        scope = changed_scope(supplier_id, since_text)
        start = decode_cursor(next_token, scope, ChangedPosition)
        settled = iso(utcnow() - timedelta(seconds=self.settings.inventory_changes_settle_s)) or ""
        lower = start.changed_at if start else since_text + "\x00"  # the least key after since_text
        if lower > settled:
            return [], None
        last_key = (
            {
                "supplier_id": {"S": supplier_id},
                "changed_at": {"S": start.changed_at},
                "product_id": {"S": start.product_id},
            }
            if start
            else None
        )
        query = InventoryItem.by_changed.query(
            supplier_id,
            InventoryItem.changed_at.between(lower, settled),
            limit=limit,
            page_size=limit,
            last_evaluated_key=last_key,
        )
        stamps = [_stamp(i) for i in query]
        if not stamps:
            return [], None
        last = stamps[-1]
        return stamps, Cursor(scope, ChangedPosition(changed_at=last.changed_at, product_id=last.product_id))

    def stamps(self, supplier_id: str) -> Iterator[InventoryStamp]:
        """Every product's stamp (no body), from the index: what the health figures read."""
        for item in InventoryItem.by_changed.query(supplier_id):
            yield _stamp(item)


def _put(write: InventoryWrite, known: StoredState | None) -> bool:
    """Put ``write`` on its condition over ``known``; False when the condition failed."""
    try:
        call_with_retries(lambda: write.item.save(condition=write.condition(known)), what="store inventory")
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _stamp(item: InventoryItem) -> InventoryStamp:
    return InventoryStamp(item.product_id, item.changed_at, item.as_of, item.last_modified)
