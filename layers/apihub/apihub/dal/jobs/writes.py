"""What recording a batch's outcomes writes, measured against DynamoDB's limits before any transaction.

Invariant 8: one item that cannot be stored fails its own product only. So before a transaction:
a SKU too long to be a key, or a product whose item would be over 400 KB (with no S3 to hold its
body), becomes a failed outcome with the reason; a body over ``bodies.INLINE_MAX`` compressed goes
to S3 with a pointer in the item; and the outcomes are cut into transactions that respect both of
DynamoDB's transaction limits, 100 items and 4 MB. The transaction's cancellation handling
(``outcomes``) stays as the safety net for what these checks cannot see.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apihub.dal import bodies
from apihub.dal.jobs.keys import ERROR_TEXT_MAX, OUTCOME_ITEMS_PER_TRANSACTION, SKU_MAX_BYTES, outcome_sk, sku_fits
from apihub.dal.sizes import ITEM_MAX, TRANSACTION_BYTES_MAX, item_bytes, kb, truncate_utf8, utf8_len
from apihub.dal.tables import JobItem, OutcomeItem, ProductItem
from apihub.modes.fetch import WriteStores
from apihub.modes.table import mode_spec

# A transaction also updates the job item and the supplier item; budget each at the item limit.
PRODUCT_BYTES_PER_TRANSACTION = TRANSACTION_BYTES_MAX - 2 * ITEM_MAX


@dataclass(frozen=True)
class StoredState:
    """What the products table holds for a product, as read before the batch's transaction."""

    content_hash: str
    body_ref: str | None = None
    discontinued: bool = False  # a write of the same content still goes in: it reactivates the product
    as_of: str | None = None  # stock: when the stored content was read (an older read never replaces it)


@dataclass
class ItemWrite:
    """An item ready to put, alone or in a job's outcomes transaction: what every fetch kind's write
    (product, stock, pricing) shares. Each kind says when it is ``needed`` and its ``condition``."""

    item: Any  # the kind's PynamoDB item
    size: int  # bytes, as DynamoDB counts them

    @property
    def content_hash(self) -> str:
        return str(self.item.content_hash)

    @property
    def body_ref(self) -> str | None:
        ref: str | None = self.item.body_ref
        return ref


@dataclass
class ProductWrite(ItemWrite):
    """A product item ready to put: its body inline (``data``) or in S3 (``body_ref``)."""

    item: ProductItem

    def needed(self, known: StoredState | None) -> bool:
        """Whether this write still changes what is stored (``known``: as last read)."""
        return known is None or known.content_hash != self.content_hash or known.discontinued

    def condition(self, known: StoredState | None) -> Any:
        """Written over exactly the content that was read (or none), in the discontinued state that was
        read: a pass discontinuing it meanwhile makes the transaction learn the new state (``stale``)
        and write it again, reactivating it."""
        if known is None:
            return ProductItem.product_id.does_not_exist()
        as_read = (
            ProductItem.discontinued_at.exists() if known.discontinued else ProductItem.discontinued_at.does_not_exist()
        )
        return (ProductItem.content_hash == known.content_hash) & as_read


def fail(outcome: Any, reason: str) -> None:
    """Turn an outcome into a failure, in place (so the caller's metrics count it as one)."""
    outcome.error = reason
    outcome.product = None


def error_text(outcome: Any) -> str:
    return truncate_utf8(outcome.error or "", ERROR_TEXT_MAX)


def outcome_item(job: JobItem, outcome: Any, now: str) -> OutcomeItem:
    return OutcomeItem(
        job.pk,
        outcome_sk(outcome.sku),
        status="success" if outcome.ok else "failed",
        error=None if outcome.ok else error_text(outcome),
        err_job=None if outcome.ok else job.id,
        recorded_at=now,
    )


def prepare(
    job: JobItem, outcomes: Sequence[Any], stored: Mapping[str, StoredState], now: str, stores: WriteStores
) -> dict[str, Any]:
    """The write each successful outcome needs (its content changed), by SKU: what the job's fetch
    kind plans (``FetchKind.plan_write``: a product item, an inventory item, ...). Outcomes that
    cannot be stored become failures with the reason instead."""
    writes: dict[str, Any] = {}
    fetches = mode_spec(job.discovery_mode).fetches
    for o in outcomes:
        if not o.ok or o.product is None:
            continue
        if not sku_fits(o.sku):
            fail(o, _bad_sku(o.sku))
            continue
        content_hash = o.product.compute_hash()
        known = stored.get(o.sku)
        if known is not None and known.content_hash == content_hash and not known.discontinued:
            continue  # unchanged: no write
        write = fetches.plan_write(stores, job, o, content_hash, now)
        if isinstance(write, str):
            fail(o, write)
        else:
            writes[o.sku] = write
    return writes


def _bad_sku(sku: str) -> str:
    if not sku:
        return "ProductError: empty product id: it cannot be stored"
    shown = truncate_utf8(sku, 64)
    return f"ProductError: product id too long to store ({utf8_len(sku):,} bytes > {SKU_MAX_BYTES:,} bytes): {shown}…"


def product_write(job: JobItem, outcome: Any, content_hash: str, now: str) -> ProductWrite | str:
    """The write, or why there can be none. A body over ``INLINE_MAX`` goes to S3 when there is a
    bucket; if S3 fails, it stays inline when the item still fits."""
    data = zlib.compress(outcome.product.model_dump_json().encode(), 6)
    inline = _item(job, outcome.sku, content_hash, now, data=data)
    store_error = ""
    if len(data) > bodies.INLINE_MAX and bodies.enabled():
        try:
            ref = bodies.put(job.supplier_id, outcome.sku, content_hash, data)
        except bodies.BodyStoreError as exc:
            store_error = str(exc)
        else:
            return _item(job, outcome.sku, content_hash, now, body_ref=ref)
    if inline.size <= ITEM_MAX:
        return inline
    reason = f"ProductError: stored item too large ({kb(inline.size)} > {kb(ITEM_MAX)})"
    return f"{reason}; the body store failed ({store_error})" if store_error else reason


def _item(job: JobItem, sku: str, content_hash: str, now: str, **body: Any) -> ProductWrite:
    item = ProductItem(job.supplier_id, sku, content_hash=content_hash, updated_at=now, last_job_id=job.id, **body)
    return ProductWrite(item, item_bytes(item.serialize()))


def chunked(job: JobItem, outcomes: Sequence[Any], writes: Mapping[str, Any], now: str) -> list[list[Any]]:
    """The outcomes cut into transactions: at most ``OUTCOME_ITEMS_PER_TRANSACTION`` outcome and
    product items (100 with the job and supplier updates; an unchanged product brings its outcome
    alone) and ``PRODUCT_BYTES_PER_TRANSACTION`` bytes of them (4 MB). A product found changed only
    when the transaction runs adds a write the count did not see; the rare request over 100 items
    is then split in halves (``Outcomes._record_chunk``)."""
    chunks: list[list[Any]] = []
    current: list[Any] = []
    used = items = 0
    for o in outcomes:
        size = item_bytes(outcome_item(job, o, now).serialize())
        size += writes[o.sku].size if o.sku in writes else 0
        count = 2 if o.sku in writes else 1
        if current and (items + count > OUTCOME_ITEMS_PER_TRANSACTION or used + size > PRODUCT_BYTES_PER_TRANSACTION):
            chunks.append(current)
            current, used, items = [], 0, 0
        current.append(o)
        used += size
        items += count
    if current:
        chunks.append(current)
    return chunks
