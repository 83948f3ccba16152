"""Inventory table access: one item per product, written only when its stock content changes.

The item (``InventoryItem``) holds ``data`` (zlib-compressed JSON of ``Inventory.model_dump(mode="json")``),
``content_hash``, ``as_of`` (when that content was read), ``last_modified`` (the supplier's) and
``changed_at`` (when the content last changed). Every write is conditional on the hash it replaces,
so an unchanged read writes nothing and each write in the table's stream is a real change (the
change feed of issue 15 relies on that). How ``as_of`` stays honest without a write per unchanged
read is ``apihub.inventory.freshness`` (docs/inventory.md, "Storage").

Also here, in the jobs table: the live read's single-flight lease and its confirmation
(``LiveReadItem``, ``INVREAD#<supplier>#<product>``), one per product ever read live.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition

from apihub.dal.jobs.keys import sku_fits
from apihub.dal.jobs.writes import StoredState
from apihub.dal.retries import call_with_retries
from apihub.dal.sizes import ITEM_MAX, item_bytes, kb
from apihub.dal.tables import InventoryItem, LiveReadItem, bind_tables
from apihub.inventory.models import Inventory
from apihub.models import iso, utcnow
from apihub.pagination import Cursor, KeyString, Position, decode_cursor
from apihub.settings import Settings, get_settings


class _Unread(Enum):
    UNREAD = "unread"


UNREAD = _Unread.UNREAD  # ``store``'s ``known`` when the caller did not read the stored state


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
class InventoryWrite:
    """An inventory item ready to put in an outcomes transaction (the shape of ``ProductWrite``)."""

    item: InventoryItem
    size: int

    @property
    def content_hash(self) -> str:
        return str(self.item.content_hash)

    @property
    def body_ref(self) -> str | None:
        return None  # stock levels are small: always inline

    def condition(self, known: StoredState | None) -> Condition:
        """Written over exactly the content that was read (or none): each write is one change."""
        if known is None:
            return InventoryItem.product_id.does_not_exist()
        return InventoryItem.content_hash == known.content_hash


def _body(inventory: Inventory) -> bytes:
    return zlib.compress(json.dumps(inventory.model_dump(mode="json"), separators=(",", ":")).encode(), 6)


def inventory_write(supplier_id: str, inventory: Inventory, content_hash: str, read_at: str) -> InventoryWrite | str:
    """The item storing ``inventory`` read at ``read_at`` (its change time too), or why it cannot be stored."""
    item = InventoryItem(
        supplier_id,
        inventory.product_id,
        data=_body(inventory),
        content_hash=content_hash,
        as_of=read_at,
        last_modified=iso(inventory.last_modified()),
        changed_at=read_at,
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
        found = InventoryItem.batch_get(keys, attributes_to_get=["supplier_id", "product_id", "content_hash"])
        return {i.product_id: StoredState(i.content_hash) for i in found}

    def store(
        self, supplier_id: str, inventory: Inventory, read_at: str, *, known: StoredState | _Unread | None = UNREAD
    ) -> bool:
        """Store a live read if its content changed (one conditional put); False when unchanged.
        A concurrent writer's newer content wins the race; this read is then dropped, not merged.
        ``known``: the stored state as the caller read it (None: nothing stored), which saves a
        read; the put is conditional on it all the same."""
        content_hash = inventory.compute_hash()
        if known is UNREAD:
            known = self.hashes(supplier_id, [inventory.product_id]).get(inventory.product_id)
        if known is not None and known.content_hash == content_hash:
            return False
        write = inventory_write(supplier_id, inventory, content_hash, read_at)
        if isinstance(write, str):
            raise ValueError(write)
        try:
            call_with_retries(lambda: write.item.save(condition=write.condition(known)), what="store inventory")
        except PutError as exc:
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


def _stamp(item: InventoryItem) -> InventoryStamp:
    return InventoryStamp(item.product_id, item.changed_at, item.as_of, item.last_modified)


# --------------------------------------------------------------------------------------------------
# Live reads: one supplier call per product at a time, across containers (a lease with an expiry)
# --------------------------------------------------------------------------------------------------


def live_pk(supplier_id: str, product_id: str) -> str:
    return f"INVREAD#{supplier_id}#{product_id}"


LIVE_SK = "READ"


@dataclass(frozen=True)
class LiveRead:
    """The product's live-read record: who holds the lease (None: nobody), and the last read's end."""

    holder: str | None
    expires_ms: int
    confirmed_at: str | None  # the last successful live read (stock confirmed then, changed or not)
    finished_ms: int  # when the last read ended (either way)
    failure: str | None  # the last read's error, when it failed
    retry_after: float | None


class LiveReads:
    def __init__(self, settings: Settings | None = None) -> None:
        bind_tables(settings or get_settings())

    def acquire(
        self, supplier_id: str, product_id: str, holder: str, now_ms: int, lease_ms: int, since_ms: int
    ) -> bool:
        """Take the product's lease: free (or its holder's expired), and no read ended since
        ``since_ms`` (that read's result is this reader's answer). False otherwise."""
        item = LiveReadItem(live_pk(supplier_id, product_id), LIVE_SK)
        free = LiveReadItem.holder.does_not_exist() | (LiveReadItem.expires_ms < now_ms)
        no_newer = LiveReadItem.finished_ms.does_not_exist() | (LiveReadItem.finished_ms < since_ms)
        try:
            call_with_retries(
                lambda: item.update(
                    actions=[LiveReadItem.holder.set(holder), LiveReadItem.expires_ms.set(now_ms + lease_ms)],
                    condition=free & no_newer,
                ),
                what="take the live-read lease",
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(
        self,
        supplier_id: str,
        product_id: str,
        holder: str,
        now_ms: int,
        *,
        confirmed_at: str | None,
        failure: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Hand the lease back with the read's result (only if still ours: an expired lease may
        have been taken over)."""
        actions: list[Any] = [LiveReadItem.holder.remove(), LiveReadItem.finished_ms.set(now_ms)]
        if confirmed_at is not None:
            actions += [LiveReadItem.confirmed_at.set(confirmed_at), LiveReadItem.failure.remove()]
        else:
            actions.append(LiveReadItem.failure.set(failure or "failed"))
        actions.append(
            LiveReadItem.retry_after.set(retry_after) if retry_after is not None else LiveReadItem.retry_after.remove()
        )
        item = LiveReadItem(live_pk(supplier_id, product_id), LIVE_SK)
        try:
            call_with_retries(
                lambda: item.update(actions=actions, condition=LiveReadItem.holder == holder),
                what="release the live-read lease",
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise

    def get(self, supplier_id: str, product_id: str) -> LiveRead | None:
        try:
            item = call_with_retries(
                lambda: LiveReadItem.get(live_pk(supplier_id, product_id), LIVE_SK, consistent_read=True),
                what="read the live-read lease",
            )
        except DoesNotExist:
            return None
        return LiveRead(
            holder=item.holder,
            expires_ms=int(item.expires_ms or 0),
            confirmed_at=item.confirmed_at,
            finished_ms=int(item.finished_ms or 0),
            failure=item.failure,
            retry_after=float(item.retry_after) if item.retry_after is not None else None,
        )
