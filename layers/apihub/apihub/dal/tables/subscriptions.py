"""The webhook subscriptions table (single-table: subscriptions, their match items, delivery attempts)."""

from __future__ import annotations

from typing import cast

from pynamodb.attributes import (
    BinaryAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

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
