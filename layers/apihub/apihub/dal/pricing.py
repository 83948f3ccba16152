"""Pricing table access: one item per product, holding every FOB point / currency / price type read
(a list of ``ProductPricing``), written only when that content changes; and the markup rules table.

The records are zlib-compressed canonical JSON in ``data``; a compressed body over
``bodies.INLINE_MAX`` goes to S3 like a product body (``apihub.dal.bodies``) and the item keeps its
key in ``body_ref``, so a large configuration never meets DynamoDB's 400 KB item limit. Each write
is conditional on the hash it replaces: two writers of the same product cannot both win, and an
unchanged read writes nothing (docs/pricing.md, "Storage").
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import TypeAdapter
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from apihub.dal import bodies
from apihub.dal.retries import call_with_retries
from apihub.dal.tables import MarkupRuleItem, PricingItem, bind_tables
from apihub.errors import ConcurrentChange, MarkupRuleNotFound, PricingNotFound
from apihub.models import iso, now_iso, utcnow
from apihub.pricing.models import MarkupRule, MarkupRuleInput, ProductPricing
from apihub.settings import Settings, get_settings

_RECORDS = TypeAdapter(list[ProductPricing])


@dataclass(frozen=True)
class StoredPricing:
    records: list[ProductPricing]
    content_hash: str
    as_of: str
    changed_at: str


def content_hash(records: Sequence[ProductPricing]) -> str:
    """The hash of what was read, not of when: ``as_of`` is left out, so an unchanged re-read matches."""
    payload = json.dumps(
        [record.model_dump(mode="json", exclude={"as_of"}) for record in records],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


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
        new_hash = content_hash(records)
        known = self.hash_of(supplier_id, product_id)
        if known == new_hash:
            return False
        stamp = iso(as_of) or ""
        body = zlib.compress(_RECORDS.dump_json(list(records)))
        item = PricingItem(
            supplier_id=supplier_id,
            product_id=product_id,
            content_hash=new_hash,
            as_of=stamp,
            changed_at=iso(utcnow()) or stamp,
        )
        if len(body) > bodies.INLINE_MAX:
            item.body_ref = bodies.put(supplier_id, f"pricing/{product_id}", new_hash, body)
        else:
            item.data = body
        condition = PricingItem.product_id.does_not_exist() if known is None else PricingItem.content_hash == known
        try:
            call_with_retries(lambda: item.save(condition=condition), what="store pricing")
        except PutError as exc:
            if item.body_ref is not None:
                bodies.delete([item.body_ref])
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ConcurrentChange(f"pricing of {product_id} changed while it was being written") from None
            raise
        return True


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
