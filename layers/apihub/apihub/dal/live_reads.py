"""The live read's single-flight lease and its confirmation, in the jobs table (``LiveReadItem``,
``INVREAD#<supplier>#<product>``, one per product ever read live): one supplier call per product at a
time, across containers, a lease with an expiry (docs/inventory.md, "Reading stock")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from apihub.dal.retries import call_with_retries
from apihub.dal.tables import LiveReadItem, bind_tables
from apihub.settings import Settings, get_settings


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
        have been taken over): ``confirmed_at`` when the supplier's answer is what is stored,
        ``failure`` when the read failed, neither when it succeeded but a newer stored read won
        (the waiters then answer the stored copy)."""
        actions: list[Any] = [LiveReadItem.holder.remove(), LiveReadItem.finished_ms.set(now_ms)]
        if confirmed_at is not None:
            actions += [LiveReadItem.confirmed_at.set(confirmed_at), LiveReadItem.failure.remove()]
        elif failure is None:
            actions.append(LiveReadItem.failure.remove())
        else:
            actions.append(LiveReadItem.failure.set(failure))
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
