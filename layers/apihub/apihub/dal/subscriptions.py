"""The subscriptions table: webhook subscriptions (secret KMS-encrypted), the match items the
dispatcher queries, and delivery attempts (expiring by TTL). The only code that touches it.

Layout (one table, ``pk``/``sk``):

* ``SUB#<id>`` / ``META``: the subscription; ``list_pk``/``list_sk`` put it on the
  ``AllSubscriptions`` index (oldest first; the secret is not projected);
* ``MATCH#<type>#<supplier id or *>`` / ``SUB#<id>``: one per type it takes, written and deleted in
  the same transaction as the subscription: an event's subscriptions are two Queries
  (``MATCH#<type>#*`` and ``MATCH#<type>#<its supplier>``), never a Scan;
* ``SUB#<id>`` / ``DELIVERY#<at>#<event id>#<attempt>``: one attempt, newest last, TTL ``expires_at``.
"""

from __future__ import annotations

import builtins  # `list` is also a method here
import time
import uuid
from dataclasses import dataclass
from typing import cast

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from apihub.changes.subscription_models import Delivery, DeliveryOutcome, Subscription
from apihub.dal import crypto
from apihub.dal.retries import call_with_retries
from apihub.dal.tables import DeliveryItem, SubscriptionItem, SubscriptionMatchItem, bind_tables
from apihub.errors import NotFound
from apihub.models import now_iso
from apihub.settings import Settings, get_settings

ANY_SUPPLIER = "*"
META = "META"


class SubscriptionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Subscription not found")


@dataclass(frozen=True)
class DeliveryTarget:
    """What the delivery worker needs: where, and the secret to sign with (decrypted)."""

    id: str
    url: str
    secret: str


def _sub_pk(subscription_id: str) -> str:
    return f"SUB#{subscription_id}"


def _match_pk(event_type: str, supplier_id: str | None) -> str:
    return f"MATCH#{event_type}#{supplier_id or ANY_SUPPLIER}"


def _to_model(item: SubscriptionItem) -> Subscription:
    return Subscription.model_validate(
        {
            "id": item.id,
            "url": item.url,
            "types": list(item.types or []),
            "supplier_id": item.supplier_id,
            "created_at": item.created_at,
        }
    )


class SubscriptionsRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.conn = bind_tables(self.settings)

    # ------------------------------------------------------------------ subscriptions
    def create(self, url: str, types: builtins.list[str], supplier_id: str | None, secret: str) -> Subscription:
        """Store a new subscription and its match items in one transaction."""
        sub_id = str(uuid.uuid4())
        created_at = now_iso()
        item = SubscriptionItem(
            _sub_pk(sub_id),
            META,
            id=sub_id,
            url=url,
            types=types,
            supplier_id=supplier_id,
            secret_ciphertext=crypto.encrypt_webhook_secret(sub_id, secret),
            created_at=created_at,
            list_sk=f"{created_at}#{sub_id}",
        )

        def write() -> None:
            with TransactWrite(connection=self.conn) as tw:
                tw.save(item, condition=SubscriptionItem.pk.does_not_exist())
                for event_type in types:
                    tw.save(
                        SubscriptionMatchItem(
                            _match_pk(event_type, supplier_id), _sub_pk(sub_id), subscription_id=sub_id
                        )
                    )

        call_with_retries(write, what="store a subscription")
        return _to_model(item)

    def _item(self, subscription_id: str) -> SubscriptionItem:
        try:
            return SubscriptionItem.get(_sub_pk(subscription_id), META, consistent_read=True)
        except DoesNotExist:
            raise SubscriptionNotFound() from None

    def get(self, subscription_id: str) -> Subscription:
        return _to_model(self._item(subscription_id))

    def list(self) -> builtins.list[Subscription]:
        """Every subscription, oldest first (a Query of the ``AllSubscriptions`` index)."""
        return [_to_model(i) for i in SubscriptionItem.all_subscriptions.query("SUBSCRIPTIONS")]

    def delete(self, subscription_id: str) -> None:
        """Delete a subscription with its match items (its delivery records expire by TTL)."""
        item = self._item(subscription_id)

        def write() -> None:
            with TransactWrite(connection=self.conn) as tw:
                tw.delete(item)
                for event_type in item.types or []:
                    tw.delete(SubscriptionMatchItem(_match_pk(event_type, item.supplier_id), item.pk))

        call_with_retries(write, what="delete a subscription")

    def target(self, subscription_id: str) -> DeliveryTarget | None:
        """The subscription's URL and decrypted secret, or None once it is deleted."""
        try:
            item = SubscriptionItem.get(_sub_pk(subscription_id), META, consistent_read=True)
        except DoesNotExist:
            return None
        secret = crypto.decrypt_webhook_secret(item.id, bytes(item.secret_ciphertext))
        return DeliveryTarget(id=item.id, url=item.url, secret=secret)

    def matching(self, event_type: str, supplier_id: str | None) -> builtins.list[str]:
        """Ids of the subscriptions that take ``event_type`` events of ``supplier_id``: those for
        every supplier and, for an event with a supplier, those for that supplier."""
        keys = [_match_pk(event_type, None)]
        if supplier_id:
            keys.append(_match_pk(event_type, supplier_id))
        # Throttling past botocore's own attempts is retried here: failing would fail the whole
        # dispatch batch and put every event of it on the bus again.
        return call_with_retries(
            lambda: [m.subscription_id for key in keys for m in SubscriptionMatchItem.query(key)],
            what="match subscriptions",
        )

    # ------------------------------------------------------------------ deliveries
    def record_delivery(
        self,
        subscription_id: str,
        *,
        event_id: str,
        event_type: str,
        attempt: int,
        outcome: DeliveryOutcome,
        status_code: int | None = None,
        error: str | None = None,
    ) -> None:
        at = now_iso()
        ttl = int(time.time()) + self.settings.webhook_deliveries_ttl_days * 86_400
        item = DeliveryItem(
            _sub_pk(subscription_id),
            f"DELIVERY#{at}#{event_id}#{attempt:03d}",
            event_id=event_id,
            event_type=event_type,
            attempt=attempt,
            status_code=status_code,
            error=(error or None) and error[:1000],
            outcome=outcome,
            at=at,
            expires_at=ttl,
        )
        call_with_retries(item.save, what="record a delivery attempt")

    def deliveries(self, subscription_id: str, limit: int) -> builtins.list[Delivery]:
        """The newest ``limit`` attempts, newest first (TTL may still show some past their expiry:
        DynamoDB deletes expired items within a few days, so expired ones are left out here)."""
        self._item(subscription_id)  # 404 for an unknown subscription
        now = int(time.time())
        out: builtins.list[Delivery] = []
        for item in DeliveryItem.query(
            _sub_pk(subscription_id),
            DeliveryItem.sk.startswith("DELIVERY#"),
            scan_index_forward=False,
            page_size=limit,
        ):
            if int(item.expires_at) <= now:
                continue
            out.append(
                Delivery(
                    event_id=item.event_id,
                    event_type=item.event_type,
                    attempt=int(item.attempt),
                    status_code=None if item.status_code is None else int(item.status_code),
                    error=item.error,
                    outcome=cast(DeliveryOutcome, item.outcome),  # written from DeliveryOutcome only
                    at=item.at,
                )
            )
            if len(out) >= limit:
                break
        return out
