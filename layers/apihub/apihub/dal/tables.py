"""PynamoDB models for the tables declared in ``template.yaml``.

Table names, region and endpoint come from ``Settings`` at bind time (``bind_tables``), never at
import time, so tests and the local stack can point them anywhere.
"""

from __future__ import annotations

from typing import cast

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from apihub.modes.table import slot_fields, sync_fields
from apihub.settings import Settings

# --------------------------------------------------------------------------------------------------
# Jobs table (single-table: job items, per-product outcome items, import locks, discovery ref chunks)
# --------------------------------------------------------------------------------------------------

# Job list indexes: one per filter combination so that every combination is a plain Query that
# returns exactly ``limit`` items (no FilterExpression, whose Limit counts items before filtering).
# Keys only: counter updates on the job item do not touch any index; the list path BatchGets items.
JOB_LIST_INDEXES: dict[frozenset[str], tuple[str, str]] = {
    frozenset(): ("ByAll", "gsi_all"),
    frozenset({"status"}): ("ByStatus", "gsi_status"),
    frozenset({"job_type"}): ("ByType", "gsi_type"),
    frozenset({"supplier_id"}): ("BySupplier", "gsi_supplier"),
    frozenset({"status", "job_type"}): ("ByStatusType", "gsi_status_type"),
    frozenset({"supplier_id", "status"}): ("BySupplierStatus", "gsi_supplier_status"),
    frozenset({"supplier_id", "job_type"}): ("BySupplierType", "gsi_supplier_type"),
    frozenset({"supplier_id", "status", "job_type"}): ("BySupplierStatusType", "gsi_supplier_status_type"),
}
JOB_SORT_KEY = "gsi_sort"

# The casts on ListAttribute below: PynamoDB types a list's elements as the attribute class named by
# `of` (UnicodeAttribute), not the value it holds (str); a raw MapAttribute element reads as a dict
# (pynamodb/PynamoDB#1246).


def _job_index(index_name: str, hash_attr: str) -> GlobalSecondaryIndex[JobItem]:
    meta = type("Meta", (), {"index_name": index_name, "projection": KeysOnlyProjection()})
    attrs = {
        "Meta": meta,
        hash_attr: UnicodeAttribute(hash_key=True),
        JOB_SORT_KEY: UnicodeAttribute(range_key=True),
    }
    # The attribute names are data (JOB_LIST_INDEXES), so the class is built with type(), which mypy
    # types as a bare `type`: the cast names the class it builds.
    index_class = cast(
        "type[GlobalSecondaryIndex[JobItem]]", type(f"{index_name}Index", (GlobalSecondaryIndex,), attrs)
    )
    return index_class()


class JobErrorsIndex(GlobalSecondaryIndex["OutcomeItem"]):
    """Sparse: only failed outcome items carry ``err_job``."""

    class Meta:
        index_name = "JobErrors"
        projection = IncludeProjection(["error"])

    err_job = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class _JobsBase(Model):
    class Meta:
        table_name = "apihub-jobs"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class JobItem(_JobsBase):
    """``PK=JOB#<id>, SK=META``: the sync job itself."""

    id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    supplier_name = UnicodeAttribute()
    job_type = UnicodeAttribute()
    status = UnicodeAttribute()
    discovery_mode = UnicodeAttribute()
    total_products = NumberAttribute(null=True)
    success_count = NumberAttribute(default=0)
    failed_count = NumberAttribute(default=0)
    records_processed = NumberAttribute(null=True)
    errors = cast("ListAttribute[dict[str, str]]", ListAttribute(of=MapAttribute, default=list))  # {sku, error}
    errors_truncated = BooleanAttribute(default=False)
    error_log = UnicodeAttribute(null=True)
    started_at = UnicodeAttribute()
    completed_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    retry_of = UnicodeAttribute(null=True)
    params = JSONAttribute(default=dict)
    # Discovery progress: phase ("listing" | "fanout" | "done"), cursors, chunk counts.
    discovery = JSONAttribute(default=dict)
    discovery_version = NumberAttribute(default=0)
    discovery_complete = BooleanAttribute(default=False)
    throttled_until = UnicodeAttribute(null=True)
    # When work already scheduled for the job is next attempted (a redelivery's backoff, a
    # Retry-After, a delayed hand-on): the sweeper counts idleness from it (only ever moves later).
    next_attempt_at = UnicodeAttribute(null=True)
    # How many outcome groups (``OutcomeGroupItem``) the job's SKUs are spread over, set with
    # ``total_products`` when listing ends. Unset on a job listed before groups existed: its
    # outcomes stay one ``OutcomeItem`` each (``apihub.dal.jobs.outcomes``).
    outcome_groups = NumberAttribute(null=True)
    # Index keys (sparse: only job items carry them).
    gsi_sort = UnicodeAttribute()
    gsi_all = UnicodeAttribute()
    gsi_status = UnicodeAttribute()
    gsi_type = UnicodeAttribute()
    gsi_supplier = UnicodeAttribute()
    gsi_status_type = UnicodeAttribute()
    gsi_supplier_status = UnicodeAttribute()
    gsi_supplier_type = UnicodeAttribute()
    gsi_supplier_status_type = UnicodeAttribute()
    # One keys-only index per filter combination (see JOB_LIST_INDEXES).
    idx_all = _job_index("ByAll", "gsi_all")
    idx_status = _job_index("ByStatus", "gsi_status")
    idx_type = _job_index("ByType", "gsi_type")
    idx_supplier = _job_index("BySupplier", "gsi_supplier")
    idx_status_type = _job_index("ByStatusType", "gsi_status_type")
    idx_supplier_status = _job_index("BySupplierStatus", "gsi_supplier_status")
    idx_supplier_type = _job_index("BySupplierType", "gsi_supplier_type")
    idx_supplier_status_type = _job_index("BySupplierStatusType", "gsi_supplier_status_type")


class OutcomeItem(_JobsBase):
    """``PK=JOB#<id>, SK=PRODUCT#<sku>``: a failed product's detail (its error, for ``/errors``
    through the sparse ``JobErrors`` index), written in the transaction that records it in its
    ``OutcomeGroupItem``. On a job without ``outcome_groups``: one per product, success or
    failure, written only if absent (that job's exactly-once record)."""

    status = UnicodeAttribute()  # "success" | "failed"
    error = UnicodeAttribute(null=True)
    err_job = UnicodeAttribute(null=True)
    recorded_at = UnicodeAttribute()
    errors_index = JobErrorsIndex()


class OutcomeGroupItem(_JobsBase):
    """``PK=JOB#<id>, SK=OUTCOMES#<n>``: every SKU of group ``n`` (``keys.outcome_group``) the
    job has recorded, success or failure (``skus``), and the failed ones (``failed``). A SKU is
    added with ``ADD`` under the condition that it is not in ``skus`` yet, in the transaction that
    counts it: invariant 1's record (``apihub.dal.jobs.outcomes``). Tens of SKUs, well under 1 KB."""

    skus = UnicodeSetAttribute(default=set)
    failed = UnicodeSetAttribute(default=set)


class LockItem(_JobsBase):
    """``PK=LOCK#<supplier>#<mode>, SK=LOCK``: one import per supplier and mode."""

    job_id = UnicodeAttribute()
    acquired_at = UnicodeAttribute()


class EpochItem(_JobsBase):
    """``PK=META#JOBS, SK=EPOCH``: the first month holding jobs (the all-jobs listing stops there)."""

    first_month = UnicodeAttribute(null=True)


class RateSlotItem(_JobsBase):
    """``PK=RATE#<supplier>, SK=SLOT#<k>``: one of the supplier's ``max_concurrency`` call slots,
    leased by one worker at a time, carrying that slot's share of the token bucket."""

    holder = UnicodeAttribute(null=True)
    expires_ms = NumberAttribute(null=True)
    tokens = NumberAttribute(null=True)
    refilled_ms = NumberAttribute(null=True)


class RatePenaltyItem(_JobsBase):
    """``PK=RATE#<supplier>, SK=PENALTY``: the supplier said 429 — run slower until ``until_ms``."""

    until_ms = NumberAttribute(default=0)
    factor = NumberAttribute(default=1)


class DiscontinueItem(_JobsBase):
    """``PK=JOB#<id>, SK=DISCONTINUE``: the discontinuation pass of a complete full_sellable job,
    written in the transaction that ends it. ``cursor``: the last product id done (the pass pages
    through the supplier's products across invocations). While pending it carries
    ``gsi_status=discontinue`` (the sparse ByStatus index), so the sweeper finds a lost one."""

    job_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    job_started_at = UnicodeAttribute()
    discontinued_at = UnicodeAttribute()  # the job's completed_at: the time every product it discontinues gets
    cursor = UnicodeAttribute(null=True)
    discontinued = NumberAttribute(default=0)
    done_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    gsi_status = UnicodeAttribute(null=True)
    gsi_sort = UnicodeAttribute(null=True)


class HandoffItem(_JobsBase):
    """``PK=JOB#<id>, SK=HANDOFF#<SQS message id>``: the SKUs copies of that hydrate message have
    handed on as fresh messages (written after each send), so a duplicate copy hands on only the rest."""

    skus = UnicodeSetAttribute(default=set)


class LiveReadItem(_JobsBase):
    """``PK=INVREAD#<supplier>#<product>, SK=READ``: the live stock read's single-flight lease
    (``holder`` until ``expires_ms``) and the last read's result (apihub.dal.inventory)."""

    holder = UnicodeAttribute(null=True)
    expires_ms = NumberAttribute(null=True)
    confirmed_at = UnicodeAttribute(null=True)
    finished_ms = NumberAttribute(null=True)
    failure = UnicodeAttribute(null=True)
    retry_after = NumberAttribute(null=True)


class RefsChunkItem(_JobsBase):
    """``PK=JOB#<id>, SK=REFS#<n>``: discovered SKUs persisted so fan-out can resume after a restart."""

    skus = cast("ListAttribute[str]", ListAttribute(of=UnicodeAttribute))


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


# --------------------------------------------------------------------------------------------------
# Webhook subscriptions (single-table: subscriptions, their match items, delivery attempts)
# --------------------------------------------------------------------------------------------------


class SubscriptionListIndex(GlobalSecondaryIndex["SubscriptionItem"]):
    """Every subscription under one constant key, oldest first (subscriptions are few). The secret
    is not projected."""

    class Meta:
        index_name = "AllSubscriptions"
        projection = IncludeProjection(["id", "url", "types", "supplier_id", "created_at"])

    list_pk = UnicodeAttribute(hash_key=True)
    list_sk = UnicodeAttribute(range_key=True)


class _SubscriptionsBase(Model):
    class Meta:
        table_name = "apihub-subscriptions"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class SubscriptionItem(_SubscriptionsBase):
    """``PK=SUB#<id>, SK=META``: one webhook subscription; its secret KMS-encrypted."""

    id = UnicodeAttribute()
    url = UnicodeAttribute()
    types = cast("ListAttribute[str]", ListAttribute(of=UnicodeAttribute))
    supplier_id = UnicodeAttribute(null=True)
    secret_ciphertext = BinaryAttribute(legacy_encoding=False)
    created_at = UnicodeAttribute()
    list_pk = UnicodeAttribute(default="SUBSCRIPTIONS")
    list_sk = UnicodeAttribute()  # <created_at>#<id>
    all_subscriptions = SubscriptionListIndex()


class SubscriptionMatchItem(_SubscriptionsBase):
    """``PK=MATCH#<event type>#<supplier id or *>, SK=SUB#<id>``: one per type a subscription takes,
    written and deleted with it, so the dispatcher finds an event's subscriptions with two Queries."""

    subscription_id = UnicodeAttribute()


class DeliveryItem(_SubscriptionsBase):
    """``PK=SUB#<id>, SK=DELIVERY#<at>#<event id>#<attempt>``: one delivery attempt, expiring (TTL)."""

    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    attempt = NumberAttribute()
    status_code = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute()  # delivered | failed | gave_up
    at = UnicodeAttribute()
    expires_at = NumberAttribute()  # epoch seconds; the table's TTL attribute


# --------------------------------------------------------------------------------------------------
# Change log (apihub.dal.changes)
# --------------------------------------------------------------------------------------------------

# The log's spread: each event is in one of CHANGE_SHARDS partitions of its owner (job or supplier)
# and of its day in ChangesFeed, by its id, so no key takes more than 1/CHANGE_SHARDS of the events
# (docs/changes.md, "The change log": the arithmetic).
CHANGE_SHARDS = 16


class ChangeFeedIndex(GlobalSecondaryIndex["ChangeItem"]):
    """``ChangesFeed``: the whole log in the order events entered it, a day's shard per key. It
    copies what the filters of GET /api/changes test, so a filter is a condition of the Query."""

    class Meta:
        index_name = "ChangesFeed"
        projection = IncludeProjection(["event", "type", "supplier_id", "job_id"])

    feed = UnicodeAttribute(hash_key=True)
    log_sort = UnicodeAttribute(range_key=True)


class ChangeItem(Model):
    """One change event, keyed by what the event fixes (a redelivered change cannot write a second
    item): its job's (or supplier's) shard and ``<type>#<id>``. ``event`` is exactly
    ``ChangeEvent.model_dump_json()``: the stream of this table (NEW_IMAGE) carries it to
    EventBridge and webhooks."""

    class Meta:
        table_name = "apihub-changes"
        # The log has a client of its own (``bind_tables``): one HTTP attempt per call, each bounded
        # by these timeouts, so a write lands within LOG_WRITE_BOUND_MS of taking its position
        # (apihub.dal.changes, docs/changes.md "Nothing is skipped"); call_with_retries retries.
        connect_timeout_seconds = 2
        read_timeout_seconds = 3
        max_retry_attempts = 0

    pk = UnicodeAttribute(hash_key=True)  # "<job id>#<shard>", or "supplier#<supplier id>#<shard>"
    sk = UnicodeAttribute(range_key=True)  # "<type>#<event id>"
    id = UnicodeAttribute()
    event = UnicodeAttribute()
    type = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    job_id = UnicodeAttribute(null=True)
    logged_at = UnicodeAttribute()
    log_sort = UnicodeAttribute()  # "<logged_at>#<id>": the log's order
    expires_at = NumberAttribute()  # epoch seconds; the table's TTL attribute
    feed = UnicodeAttribute()  # "<yyyy-mm-dd of logged_at>#<shard>"
    feed_index = ChangeFeedIndex()


ALL_MODELS: tuple[type[Model], ...] = (
    JobItem,
    OutcomeItem,
    OutcomeGroupItem,
    LockItem,
    EpochItem,
    RefsChunkItem,
    HandoffItem,
    DiscontinueItem,
    RateSlotItem,
    RatePenaltyItem,
    LiveReadItem,
    SupplierItem,
    ProductItem,
    InventoryItem,
    TokenItem,
    SubscriptionItem,
    SubscriptionMatchItem,
    DeliveryItem,
    ChangeItem,
)
_bound: tuple[tuple[str | None, ...], Connection] | None = None


def bind_tables(settings: Settings) -> Connection:
    """Point every model at the configured tables/endpoint; returns a connection for transactions."""
    global _bound
    key = (
        settings.jobs_table,
        settings.suppliers_table,
        settings.products_table,
        settings.inventory_table,
        settings.pricing_table,
        settings.markup_rules_table,
        settings.tokens_table,
        settings.subscriptions_table,
        settings.changes_table,
        settings.region,
        settings.endpoint,
    )
    names = {
        JobItem: settings.jobs_table,
        OutcomeItem: settings.jobs_table,
        OutcomeGroupItem: settings.jobs_table,
        LockItem: settings.jobs_table,
        RefsChunkItem: settings.jobs_table,
        HandoffItem: settings.jobs_table,
        DiscontinueItem: settings.jobs_table,
        EpochItem: settings.jobs_table,
        RateSlotItem: settings.jobs_table,
        RatePenaltyItem: settings.jobs_table,
        LiveReadItem: settings.jobs_table,
        _JobsBase: settings.jobs_table,
        SupplierItem: settings.suppliers_table,
        ProductItem: settings.products_table,
        InventoryItem: settings.inventory_table,
        PricingItem: settings.pricing_table,
        MarkupRuleItem: settings.markup_rules_table,
        TokenItem: settings.tokens_table,
        SubscriptionItem: settings.subscriptions_table,
        SubscriptionMatchItem: settings.subscriptions_table,
        DeliveryItem: settings.subscriptions_table,
        _SubscriptionsBase: settings.subscriptions_table,
        ChangeItem: settings.changes_table,
    }
    if _bound is None or _bound[0] != key:
        shared = Connection(region=settings.region, host=settings.endpoint)
        for model, table in names.items():
            model.Meta.table_name = table
            model.Meta.region = settings.region
            model.Meta.host = settings.endpoint
            model._connection = None
            if model is not ChangeItem:  # the log's own client: its timeouts bound its writes
                _share_client(model, shared)
        _bound = (key, shared)
    return _bound[1]


def _share_client(model: type[Model], shared: Connection) -> None:
    """One botocore DynamoDB client per container, not one per model: PynamoDB gives every model
    a connection of its own, each of which would build a botocore session and client on its first
    request (tens of ms of CPU each, on the first request after a cold start). Each model keeps
    its own table connection (its key schema and indexes); only the client underneath is shared.
    The client is made here, on the first repository's first use, never at import."""
    connection = model._get_connection().connection
    connection._client = shared.client


def reset_bindings() -> None:
    """Forget bound connections (tests start a fresh AWS stand-in for each case)."""
    global _bound
    _bound = None
    models: tuple[type[Model], ...] = (*ALL_MODELS, _JobsBase, _SubscriptionsBase)
    for model in models:
        model._connection = None
