"""PynamoDB models for the tables declared in ``template.yaml``, one module per table or group of
tables (``jobs``, ``catalog``, ``subscriptions``, ``changes``), and their binding.

Table names, region and endpoint come from ``Settings`` at bind time (``bind_tables``), never at
import time, so tests and the local stack can point them anywhere. Every model is named here too,
so ``from apihub.dal.tables import JobItem`` reads the same whichever module holds it.
"""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.models import Model

from apihub.dal.tables.catalog import (
    InventoryChangedIndex as InventoryChangedIndex,
)
from apihub.dal.tables.catalog import (
    InventoryItem as InventoryItem,
)
from apihub.dal.tables.catalog import (
    MarkupRuleItem as MarkupRuleItem,
)
from apihub.dal.tables.catalog import (
    PricingItem as PricingItem,
)
from apihub.dal.tables.catalog import (
    ProductIdsIndex as ProductIdsIndex,
)
from apihub.dal.tables.catalog import (
    ProductItem as ProductItem,
)
from apihub.dal.tables.catalog import (
    SupplierItem as SupplierItem,
)
from apihub.dal.tables.catalog import (
    SupplierListIndex as SupplierListIndex,
)
from apihub.dal.tables.catalog import (
    SupplierSlugIndex as SupplierSlugIndex,
)
from apihub.dal.tables.catalog import (
    TokenItem as TokenItem,
)
from apihub.dal.tables.changes import (
    CHANGE_SHARDS as CHANGE_SHARDS,
)
from apihub.dal.tables.changes import (
    ChangeFeedIndex as ChangeFeedIndex,
)
from apihub.dal.tables.changes import (
    ChangeItem as ChangeItem,
)
from apihub.dal.tables.jobs import (
    JOB_LIST_INDEXES as JOB_LIST_INDEXES,
)
from apihub.dal.tables.jobs import (
    JOB_SORT_KEY as JOB_SORT_KEY,
)
from apihub.dal.tables.jobs import (
    DiscontinueItem as DiscontinueItem,
)
from apihub.dal.tables.jobs import (
    EpochItem as EpochItem,
)
from apihub.dal.tables.jobs import (
    HandoffItem as HandoffItem,
)
from apihub.dal.tables.jobs import (
    JobErrorsIndex as JobErrorsIndex,
)
from apihub.dal.tables.jobs import (
    JobItem as JobItem,
)
from apihub.dal.tables.jobs import (
    LiveReadItem as LiveReadItem,
)
from apihub.dal.tables.jobs import (
    LockItem as LockItem,
)
from apihub.dal.tables.jobs import (
    OutcomeGroupItem as OutcomeGroupItem,
)
from apihub.dal.tables.jobs import (
    OutcomeItem as OutcomeItem,
)
from apihub.dal.tables.jobs import (
    RatePenaltyItem as RatePenaltyItem,
)
from apihub.dal.tables.jobs import (
    RateSlotItem as RateSlotItem,
)
from apihub.dal.tables.jobs import (
    RefsChunkItem as RefsChunkItem,
)
from apihub.dal.tables.jobs import (
    _JobsBase as _JobsBase,
)
from apihub.dal.tables.subscriptions import (
    DeliveryItem as DeliveryItem,
)
from apihub.dal.tables.subscriptions import (
    SubscriptionItem as SubscriptionItem,
)
from apihub.dal.tables.subscriptions import (
    SubscriptionListIndex as SubscriptionListIndex,
)
from apihub.dal.tables.subscriptions import (
    SubscriptionMatchItem as SubscriptionMatchItem,
)
from apihub.dal.tables.subscriptions import (
    _SubscriptionsBase as _SubscriptionsBase,
)
from apihub.settings import Settings

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
    PricingItem,
    MarkupRuleItem,
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
