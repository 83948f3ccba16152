"""Pricing table access: one item per product, holding every FOB point / currency / price type read
(a list of ``ProductPricing``), written only when that content changes; and the markup rules table.

The records are zlib-compressed canonical JSON in ``data``; a compressed body over
``bodies.INLINE_MAX`` goes to S3 like a product body (``apihub.dal.bodies``) and the item keeps its
key in ``body_ref``, so a large configuration never meets DynamoDB's 400 KB item limit. Each write
is conditional on the hash it replaces: two writers of the same product cannot both win, and an
unchanged read writes nothing (docs/pricing.md, "Storage").
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import TypeAdapter
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError
from pynamodb.expressions.condition import Condition

from apihub.dal import bodies
from apihub.dal.jobs.keys import sku_fits
from apihub.dal.jobs.writes import ItemWrite, StoredState
from apihub.dal.retries import call_with_retries
from apihub.dal.sizes import ITEM_MAX, item_bytes, kb
from apihub.dal.tables import MarkupRuleItem, PricingItem, bind_tables
from apihub.errors import ConcurrentChange, MarkupRuleNotFound, PricingNotFound
from apihub.models import iso, now_iso, utcnow
from apihub.pricing.models import MarkupRule, MarkupRuleInput, ProductPricing, pricing_hash
from apihub.settings import Settings, get_settings

_RECORDS = TypeAdapter(list[ProductPricing])


@dataclass(frozen=True)
class StoredPricing:
    records: list[ProductPricing]
    content_hash: str
    as_of: str
    changed_at: str


def _records(item: PricingItem) -> list[ProductPricing]:
    for _ in range(3):
        if item.body_ref is None:
            return _RECORDS.validate_json(zlib.decompress(bytes(item.data or b"")))
        data = bodies.get(item.body_ref)
        if data is not None:
            return _RECORDS.validate_json(zlib.decompress(data))
        # the body was replaced (and deleted) since the item was read: read the item again
        item = PricingItem.get(item.supplier_id, item.product_id, consistent_read=True)
    raise RuntimeError(f"pricing body {item.body_ref} is missing")


class PricingRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        bind_tables(settings or get_settings())

    def get(self, supplier_id: str, product_id: str) -> StoredPricing:
        try:
            item = PricingItem.get(supplier_id, product_id)
        except DoesNotExist:
            raise PricingNotFound() from None
        return StoredPricing(
            records=_records(item),
            content_hash=str(item.content_hash),
            as_of=str(item.as_of),
            changed_at=str(item.changed_at),
        )

    def hash_of(self, supplier_id: str, product_id: str) -> str | None:
        try:
            item = PricingItem.get(supplier_id, product_id, attributes_to_get=["content_hash"], consistent_read=True)
        except DoesNotExist:
            return None
        return str(item.content_hash)

    def store(self, supplier_id: str, product_id: str, records: Sequence[ProductPricing], as_of: datetime) -> bool:
        """Store ``records`` when they differ from what is stored; True when written.

        The put is conditional on the stored hash read just before, so a concurrent writer of other
        content makes this one a ``ConcurrentChange`` rather than a lost update."""
        new_hash = pricing_hash(records)
        known = self.hash_of(supplier_id, product_id)
        if known == new_hash:
            return False
        write = pricing_write(supplier_id, product_id, records, new_hash, iso(as_of) or "")
        if isinstance(write, str):
            raise ValueError(write)
        known_state = None if known is None else StoredState(known)
        try:
            call_with_retries(lambda: write.item.save(condition=write.condition(known_state)), what="store pricing")
        except PutError as exc:
            if write.body_ref is not None:
                bodies.delete([write.body_ref])
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ConcurrentChange(f"pricing of {product_id} changed while it was being written") from None
            raise
        return True

    def states(self, supplier_id: str, product_ids: Iterable[str]) -> dict[str, StoredState]:
        """The stored content hash (and body key) of each of these products that has pricing stored."""
        keys = [(supplier_id, p) for p in dict.fromkeys(product_ids) if sku_fits(p)]
        if not keys:
            return {}
        attributes = ["supplier_id", "product_id", "content_hash", "body_ref"]
        found = PricingItem.batch_get(keys, attributes_to_get=attributes)
        return {i.product_id: StoredState(str(i.content_hash), i.body_ref) for i in found}


@dataclass
class PricingWrite(ItemWrite):
    """A pricing item ready to put, alone or in a job's outcomes transaction."""

    item: PricingItem

    def needed(self, known: StoredState | None) -> bool:
        return known is None or known.content_hash != self.content_hash

    def condition(self, known: StoredState | None) -> Condition:
        """Written over exactly the content that was read (or none): each write is one change."""
        if known is None:
            return PricingItem.product_id.does_not_exist()
        same: Condition = PricingItem.content_hash == known.content_hash
        return same


def pricing_write(
    supplier_id: str,
    product_id: str,
    records: Sequence[ProductPricing],
    new_hash: str,
    as_of: str,
    *,
    job_id: str | None = None,
) -> PricingWrite | str:
    """The item storing ``records`` (read at ``as_of``, by ``prices`` job ``job_id`` when one read
    them), its body in S3 when it is large, or why it cannot be stored."""
    body = zlib.compress(_RECORDS.dump_json(list(records)))
    item = PricingItem(
        supplier_id=supplier_id,
        product_id=product_id,
        content_hash=new_hash,
        as_of=as_of,
        changed_at=iso(utcnow()) or as_of,
        job_id=job_id,
    )
    if len(body) > bodies.INLINE_MAX:
        try:
            item.body_ref = bodies.put(supplier_id, f"pricing/{product_id}", new_hash, body)
        except bodies.BodyStoreError as exc:
            return f"ProductError: pricing too large to store inline and the body store failed ({exc})"
    else:
        item.data = body
    size = item_bytes(item.serialize())
    if size > ITEM_MAX:
        return f"ProductError: stored pricing too large ({kb(size)} > {kb(ITEM_MAX)})"
    return PricingWrite(item, size)


class MarkupRulesRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        bind_tables(settings or get_settings())

    def list(self) -> list[MarkupRule]:
        """Every rule, oldest first (rule ids are not ordered; ``created_at`` is)."""
        items = sorted(MarkupRuleItem.scan(), key=lambda item: (item.created_at, item.rule_id))
        return [MarkupRule.model_validate_json(item.data) for item in items]

    def create(self, rule: MarkupRuleInput) -> MarkupRule:
        stored = MarkupRule(rule_id=str(uuid.uuid4()), **rule.model_dump())
        item = MarkupRuleItem(rule_id=stored.rule_id, data=stored.model_dump_json(), created_at=now_iso())
        call_with_retries(
            lambda: item.save(condition=MarkupRuleItem.rule_id.does_not_exist()), what="store markup rule"
        )
        return stored

    def delete(self, rule_id: str) -> None:
        try:
            call_with_retries(
                lambda: MarkupRuleItem(rule_id=rule_id).delete(condition=MarkupRuleItem.rule_id.exists()),
                what="delete markup rule",
            )
        except DeleteError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise MarkupRuleNotFound() from None
            raise
