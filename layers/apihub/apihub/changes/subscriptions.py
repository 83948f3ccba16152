"""Webhook subscriptions: the rules beyond the schema, and the one place a secret is made."""

from __future__ import annotations

import secrets

from apihub.changes.subscription_models import Delivery, Subscription, SubscriptionCreated, SubscriptionIn
from apihub.dal.subscriptions import SubscriptionsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import InvalidInput, SupplierNotFound
from apihub.outbound import UnsafeUrl, check_url
from apihub.settings import get_settings


def check_webhook_url(url: str) -> None:
    """422 naming ``url`` unless it obeys the suppliers' outbound rules (``apihub.outbound``). A name
    that does not resolve now is accepted, as for suppliers: every delivery checks it again."""
    try:
        check_url(url, allow_insecure=get_settings().allow_insecure_urls, resolve_names=False)
    except UnsafeUrl as exc:
        raise InvalidInput(f"url: {exc}") from None


def create(body: SubscriptionIn) -> SubscriptionCreated:
    """Store a subscription with a new signing secret, returned here and never again."""
    check_webhook_url(body.url)
    supplier_id = None
    if body.supplier_id is not None:
        try:
            supplier_id = SuppliersRepository().get(body.supplier_id).id  # events carry the id; a slug is fine here
        except SupplierNotFound:
            raise InvalidInput("supplier_id: no supplier with this id or slug") from None
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    sub = SubscriptionsRepository().create(body.url, [t.value for t in body.types], supplier_id, secret)
    return SubscriptionCreated(**sub.model_dump(), secret=secret)


def list_all() -> list[Subscription]:
    return SubscriptionsRepository().list()


def get(subscription_id: str) -> Subscription:
    return SubscriptionsRepository().get(subscription_id)


def delete(subscription_id: str) -> None:
    SubscriptionsRepository().delete(subscription_id)


def deliveries(subscription_id: str, limit: int) -> list[Delivery]:
    return SubscriptionsRepository().deliveries(subscription_id, limit)
