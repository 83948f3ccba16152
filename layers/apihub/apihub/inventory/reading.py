"""``GET /api/suppliers/{id}/products/{product_id}/inventory``: the stored stock, or a live read.

Without ``max_age_s`` the stored copy answers (``source: stored``). With it, a stored copy older
than ``max_age_s`` seconds (by its confirmed ``as_of``, ``apihub.inventory.freshness``) is read
again from the supplier now:

* through the supplier's own rate limit and concurrency slots (``apihub.ratelimit``, the limiter the
  pipeline uses) and under a ``LIVE_DEADLINE_S`` deadline (``apihub.adapters.deadline``, through the
  limiter's ``time_left``);
* **single-flight across containers**: the reader that takes the product's lease (a conditional
  update of its ``INVREAD#`` item) calls the supplier; the others poll that item until it is handed
  back with the result, until the same deadline;
* stored change-only and never over a newer read (``InventoryRepository.store``), and answered
  with ``source: live``; the read is confirmed (the live-read record's ``confirmed_at``) only when
  what the supplier answered is what is stored then, never when a newer read of other stock won;
* a reply for another product is a ``ProductError`` (``apihub.adapters.answers``), never stored.

A supplier that is down or throttled leaves the stored copy as the answer, with ``stale: true`` and
a ``warning``; with nothing stored that is a 503 with ``Retry-After``.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import Field

from apihub.adapters.answers import answered_product
from apihub.dal.inventory import InventoryRepository, Stored, StoredInventory
from apihub.dal.jobs.writes import StoredState
from apihub.dal.live_reads import LiveReads
from apihub.dal.products import ProductsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import (
    AdapterError,
    InvalidInput,
    InventoryNotFound,
    OutOfTime,
    ProductNotFound,
    SupplierUnavailable,
    Throttled,
    TransientError,
)
from apihub.inventory.freshness import age_seconds, confirmed_as_of
from apihub.inventory.models import Inventory, InventoryLocation
from apihub.models import ApihubModel, ProductRef, now_iso, utcnow
from apihub.modes.table import DiscoveryMode, mode_spec
from apihub.observability import logger
from apihub.supplier_models import Supplier

LIVE_DEADLINE_S = 10.0  # the most a live read waits for the supplier (or for another reader's call)
POLL_S = 0.1  # how often a reader waiting on another's call looks at its result
MAX_AGE_S = 86_400


class PartStock(ApihubModel):
    """One part's stock as the API shows it."""

    part_id: str
    color: str | None = None
    size: str | None = None
    quantity_available: float | None = None
    uom: str | None = None
    buy_to_order: bool = False
    lead_time_days: int | None = None
    locations: list[InventoryLocation] = Field(default_factory=list)


class InventoryView(ApihubModel):
    """The body of ``GET .../products/{product_id}/inventory``."""

    product_id: str
    as_of: str
    source: Literal["stored", "live"]
    stale: bool = False
    warning: str | None = None
    # What the reading rules refused or dropped in the supplier's reply, and its own non-fatal
    # codes (``Inventory.notes``): a quantity shown as null here may be one of them.
    warnings: list[str] = Field(default_factory=list)
    parts: list[PartStock] = Field(default_factory=list)


def _view(
    inventory: Inventory, as_of: str, source: Literal["stored", "live"], warning: str | None = None
) -> InventoryView:
    parts = [PartStock.model_validate(part.model_dump(include=set(PartStock.model_fields))) for part in inventory.parts]
    return InventoryView(
        product_id=inventory.product_id,
        as_of=as_of,
        source=source,
        stale=warning is not None,
        warning=warning,
        warnings=list(inventory.notes),
        parts=parts,
    )


def check_max_age(max_age_s: int | None) -> None:
    if max_age_s is not None and not 0 <= max_age_s <= MAX_AGE_S:
        raise InvalidInput(f"max_age_s: must be a whole number of seconds from 0 to {MAX_AGE_S}")


def read_inventory(
    supplier_ref: str, product_id: str, max_age_s: int | None = None, *, now: datetime | None = None
) -> InventoryView:
    """The product's stock: stored, or read live when the stored copy is older than ``max_age_s``."""
    check_max_age(max_age_s)
    supplier = SuppliersRepository().get(supplier_ref)
    repo = InventoryRepository()
    stored = repo.get(supplier.id, product_id)
    # max_age_s 0: any stored copy is too old, so its confirmed as_of (three reads) is worked out
    # only if the live read fails and the stored copy answers instead.
    as_of = None if max_age_s == 0 else confirmed_as_of(supplier.id, product_id, stored)
    if stored is not None and as_of is not None and _young_enough(as_of, max_age_s, now or utcnow()):
        return _view(stored.inventory, as_of, "stored")
    _check_live_read(supplier, product_id, stored, max_age_s)
    result = LiveRead(supplier, product_id, stored).run()
    live = _live_view(repo, supplier.id, product_id, result)
    if live is not None:
        return live
    reason = result.failure or "the live read stored nothing"
    if stored is not None and as_of is None:
        as_of = confirmed_as_of(supplier.id, product_id, stored)
    if stored is None or as_of is None:
        raise SupplierUnavailable(
            f"supplier unavailable and no stock stored for this product: {reason}",
            math.ceil(result.retry_after or 1),
        )
    return _view(stored.inventory, as_of, "stored", warning=f"live read failed ({reason}); showing the stored stock")


def _young_enough(as_of: str, max_age_s: int | None, now: datetime) -> bool:
    """Whether stock confirmed at ``as_of`` answers a reader who accepts ``max_age_s`` (None: any age)."""
    if max_age_s is None:
        return True
    age = age_seconds(as_of, now)
    return age is not None and age <= max_age_s


def _check_live_read(
    supplier: Supplier, product_id: str, stored: StoredInventory | None, max_age_s: int | None
) -> None:
    """Raise what a reader is told when no live read may answer: an unknown product, no stock stored
    and no ``max_age_s`` asking for a live read, or a supplier with no inventory service."""
    if stored is None and not ProductsRepository().exists(supplier.id, product_id):
        raise ProductNotFound()
    if max_age_s is None:
        raise InventoryNotFound()
    if not mode_spec(DiscoveryMode.inventory).supports(supplier.adapter_class):
        raise InvalidInput(
            f"max_age_s: supplier '{supplier.name}' has no inventory service to read live "
            f"(adapter_class {supplier.adapter_class})"
        )


def _live_view(
    repo: InventoryRepository, supplier_id: str, product_id: str, result: LiveResult
) -> InventoryView | None:
    """The view a successful live read gives (None: the read failed or stored nothing)."""
    if not result.ok:
        return None
    if result.inventory is not None and result.confirmed_at:
        return _view(result.inventory, result.confirmed_at, "live")  # this reader's own call: nothing to re-read
    # Another reader's call answered this one, or this read lost to a newer stored read: the
    # stored copy is as new as the live read, and its as_of is its own (every confirmation
    # moves the stored as_of on, ``InventoryRepository.store``).
    fresh = repo.get(supplier_id, product_id)
    return None if fresh is None else _view(fresh.inventory, fresh.as_of, "live")


@dataclass(frozen=True)
class LiveResult:
    ok: bool
    confirmed_at: str | None = None
    failure: str | None = None
    retry_after: float | None = None
    inventory: Inventory | None = None  # what the supplier answered, when this reader made the call


class LiveRead:
    """One reader's part in the single-flight live read of one product."""

    def __init__(
        self,
        supplier: Supplier,
        product_id: str,
        stored: StoredInventory | None = None,
        deadline_s: float = LIVE_DEADLINE_S,
    ) -> None:
        self.supplier = supplier
        self.product_id = product_id
        self.stored = stored  # as the caller read it: the stored hash a changed answer replaces
        self.deadline_s = deadline_s
        self.reads = LiveReads()
        self.holder = str(uuid.uuid4())

    def run(self) -> LiveResult:
        """Lead the read (this reader took the lease) or wait for the leader's result."""
        started_ms = _now_ms()
        ends = time.monotonic() + self.deadline_s
        lease_ms = int((self.deadline_s + 5) * 1000)  # past the deadline: a crashed leader's lease frees itself
        while True:
            # The lease is taken only if no read ended since this one began (``acquire``'s
            # condition), so trying it first needs no look beforehand: a reader that does not get
            # it looks whether such a read answers it too, or waits for the leader's.
            if self.reads.acquire(self.supplier.id, self.product_id, self.holder, _now_ms(), lease_ms, started_ms):
                return self._lead(ends)
            record = self.reads.get(self.supplier.id, self.product_id)
            if record is not None and record.holder is None and record.finished_ms >= started_ms:
                if record.failure is None:
                    return LiveResult(ok=True, confirmed_at=record.confirmed_at)
                return LiveResult(ok=False, failure=record.failure, retry_after=record.retry_after)
            if time.monotonic() + POLL_S >= ends:
                return LiveResult(
                    ok=False, failure=f"another read of this product did not finish within {self.deadline_s:g} s"
                )
            time.sleep(POLL_S)

    def _lead(self, ends: float) -> LiveResult:
        from apihub.pipeline.adapter_factory import adapter_for, limit_calls  # the live path only

        confirmed_at: str | None = None
        failure: str | None = None
        retry_after: float | None = None
        inventory: Inventory | None = None
        adapter = adapter_for(self.supplier.id, self.supplier)  # the supplier as just read: no second read
        limiter = limit_calls(adapter, lease_s=self.deadline_s + 5, time_left=lambda: ends - time.monotonic())
        try:
            answered = adapter.inventory(ProductRef(product_id=self.product_id))
            read_at = now_iso()
            asked = answered_product(self.product_id, answered.product_id, "inventory")  # another's: an error
            answered = answered.model_copy(update={"product_id": asked})
            stored = self.stored
            known = StoredState(stored.content_hash, as_of=stored.as_of) if stored is not None else None
            if InventoryRepository().store(self.supplier.id, answered, read_at, known=known) is not Stored.superseded:
                confirmed_at, inventory = read_at, answered  # what the supplier answered is what is stored
        except Throttled as exc:
            failure, retry_after = f"throttled by our rate limit for this supplier: {exc}", exc.retry_after
        except OutOfTime:
            failure, retry_after = f"the supplier did not answer within {self.deadline_s:g} s", 1.0
        except TransientError as exc:
            failure, retry_after = exc.describe(), exc.retry_after or 1.0
        except AdapterError as exc:
            failure = exc.describe()
        except Exception as exc:  # a bug: the lease is still handed back, and the caller sees a 5xx
            failure = f"InternalError: {type(exc).__name__}"
            raise
        finally:
            limiter.close()
            adapter.context.guard.target = None
            self.reads.release(
                self.supplier.id,
                self.product_id,
                self.holder,
                _now_ms(),
                confirmed_at=confirmed_at,
                failure=failure,
                retry_after=retry_after,
            )
        if failure is not None:
            logger.warning(
                "live inventory read failed",
                extra={"supplier_id": self.supplier.id, "sku": self.product_id, "reason": failure},
            )
        return LiveResult(
            ok=failure is None,
            confirmed_at=confirmed_at,
            failure=failure,
            retry_after=retry_after,
            inventory=inventory if failure is None else None,  # None: a newer stored read won
        )


def _now_ms() -> int:
    return int(time.time() * 1000)
