"""The catalog's tables: suppliers, products, inventory, pricing, markup rules and tokens."""

from __future__ import annotations

from typing import cast

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from apihub.modes.table import slot_fields, sync_fields

# --------------------------------------------------------------------------------------------------
# Suppliers, products, tokens
# --------------------------------------------------------------------------------------------------


class SupplierSlugIndex(GlobalSecondaryIndex["SupplierItem"]):
    class Meta:
        index_name = "BySlug"
        projection = KeysOnlyProjection()

    slug = UnicodeAttribute(hash_key=True)


class SupplierListIndex(GlobalSecondaryIndex["SupplierItem"]):
    """All suppliers under one constant key, sorted by slug (supplier counts are small)."""

    class Meta:
        index_name = "AllSuppliers"
        projection = KeysOnlyProjection()

    kind = UnicodeAttribute(hash_key=True)
    slug = UnicodeAttribute(range_key=True)


class SupplierItem(Model):
    class Meta:
        table_name = "apihub-suppliers"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="SUPPLIER")
    name = UnicodeAttribute()
    slug = UnicodeAttribute()
    protocol = UnicodeAttribute()
    promostandards_code = UnicodeAttribute(null=True)
    base_url = UnicodeAttribute(null=True)
    adapter_class = UnicodeAttribute(null=True)
    auth_config_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    auth_config_keys = cast("ListAttribute[str]", ListAttribute(of=UnicodeAttribute, null=True))
    protocol_config = JSONAttribute(default=dict)
    is_active = BooleanAttribute(default=True)
    schedules = JSONAttribute(default=dict)
    # One attribute per supplier field a mode row moves when its job ends (``last_full_sync``, ...).
    locals().update({name: UnicodeAttribute(null=True) for name in sync_fields()})
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    product_count = NumberAttribute(default=0)
    # The periodic schedules' state (apihub.jobs.schedules): the last period slot each acted on (one
    # attribute per row's ``slot_field``: ``inventory_slot``, ...), and the inventory runs skipped
    # because the previous one was still going. Written by the scheduler only.
    locals().update({name: NumberAttribute(null=True) for name in slot_fields()})
    inventory_runs_skipped = NumberAttribute(null=True)
    inventory_last_skipped_at = UnicodeAttribute(null=True)
    # Stock freshness for health (apihub.inventory.freshness.StockSummary as JSON), written when an
    # inventory job ends, and the start of the job it summarises (a later job's summary wins).
    inventory_stock = JSONAttribute(null=True)
    inventory_stock_job_started = UnicodeAttribute(null=True)
    # Bumped by every write of the settings above; a write decided by a read (a merge into
    # protocol_config) is conditional on it. The sync fields and product_count belong to the pipeline
    # (finalise, hydrate): settings writes never name them, so they cannot undo them.
    version = NumberAttribute(null=True)
    by_slug = SupplierSlugIndex()
    all_suppliers = SupplierListIndex()


class ProductIdsIndex(GlobalSecondaryIndex["ProductItem"]):
    """``product_ids``: a supplier's product ids, keys only (what ``Listing.stored`` reads)."""

    class Meta:
        index_name = "product_ids"
        projection = KeysOnlyProjection()

    supplier_id = UnicodeAttribute(hash_key=True)
    product_id = UnicodeAttribute(range_key=True)


class ProductItem(Model):
    class Meta:
        table_name = "apihub-products"

    supplier_id = UnicodeAttribute(hash_key=True)
    product_id = UnicodeAttribute(range_key=True)
    content_hash = UnicodeAttribute()
    # zlib-compressed canonical JSON; or, for a body too big for an item, its S3 key in ``body_ref``
    # (apihub.dal.bodies). Exactly one of the two is set.
    data = BinaryAttribute(legacy_encoding=False, null=True)
    body_ref = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    last_job_id = UnicodeAttribute(null=True)
    # Set when a complete full_sellable import no longer listed the product (never deleted); a later
    # import that hydrates it again writes the item anew, without it (apihub.pipeline.discontinue).
    discontinued_at = UnicodeAttribute(null=True)
    product_ids = ProductIdsIndex()


class InventoryChangedIndex(GlobalSecondaryIndex["InventoryItem"]):
    """``by_changed``: a supplier's products by when their stock last changed (``changed_since``)."""

    class Meta:
        index_name = "by_changed"
        projection = IncludeProjection(["as_of", "last_modified", "content_hash"])

    supplier_id = UnicodeAttribute(hash_key=True)
    changed_at = UnicodeAttribute(range_key=True)


class InventoryItem(Model):
    """One product's stock (apihub.dal.inventory). Written only when ``content_hash`` changes, so
    every write is a change: the table's stream feeds ``inventory.changed`` (issue 15)."""

    class Meta:
        table_name = "apihub-inventory"

    supplier_id = UnicodeAttribute(hash_key=True)
    product_id = UnicodeAttribute(range_key=True)
    data = BinaryAttribute(legacy_encoding=False)  # zlib-compressed JSON of Inventory.model_dump(mode="json")
    content_hash = UnicodeAttribute()
    as_of = UnicodeAttribute()  # when this content was read from the supplier
    last_modified = UnicodeAttribute(null=True)  # the supplier's newest lastModified over the parts
    changed_at = UnicodeAttribute()  # when the content last changed (the write that stored it)
    job_id = UnicodeAttribute(null=True)  # the inventory job whose read stored it (None: a live read)
    source = UnicodeAttribute(null=True)  # "job" or "live": which kind of read stored it
    by_changed = InventoryChangedIndex()


class PricingItem(Model):
    """One product's pricing: every FOB point, currency and price type read (apihub.dal.pricing).
    Written only when ``content_hash`` changes; a body too big for an item is in S3 (``body_ref``)."""

    class Meta:
        table_name = "apihub-pricing"

    supplier_id = UnicodeAttribute(hash_key=True)
    product_id = UnicodeAttribute(range_key=True)
    data = BinaryAttribute(legacy_encoding=False, null=True)  # zlib-compressed JSON of the records
    body_ref = UnicodeAttribute(null=True)  # S3 key of the compressed records instead of ``data``
    content_hash = UnicodeAttribute()
    as_of = UnicodeAttribute()  # when this content was read from the supplier
    changed_at = UnicodeAttribute()  # when the content last changed
    job_id = UnicodeAttribute(null=True)  # the prices job whose read stored it (None: stored outside a job)


class MarkupRuleItem(Model):
    """One markup rule (apihub.pricing.markup); the rule itself as JSON."""

    class Meta:
        table_name = "apihub-markup-rules"

    rule_id = UnicodeAttribute(hash_key=True)
    data = UnicodeAttribute()
    created_at = UnicodeAttribute()


class TokenItem(Model):
    class Meta:
        table_name = "apihub-tokens"

    token_hash = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)  # epoch seconds; also the table's TTL attribute
    revoked = BooleanAttribute(default=False)
