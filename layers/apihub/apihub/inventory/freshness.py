"""How old a product's stock is: ``as_of`` kept honest without a write per unchanged read.

An inventory item is written only when its content changes (docs/inventory.md, "Storage"), so its
``as_of`` is when that content was first read. A later read that found the same stock confirms it
without writing the item; the confirmation is found where it was recorded anyway:

* an inventory job's **success outcome** for the product (recorded once per product in its outcome
  group by the exactly-once path, needed for the job's counters): the stock was read after the job's
  ``started_at``, so that start is a safe lower bound for when it was confirmed;
* a **live read**'s record (``INVREAD#``): the time the supplier answered.

``as_of`` is the newest of the three. Reading it costs two BatchGetItems over the supplier's recent
inventory jobs (their group counts, then the product's outcome group in each) plus one GetItem; no
write at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from apihub.dal.inventory import InventoryRepository, InventoryStamp, LiveReads, StoredInventory
from apihub.dal.jobs import JobsRepository
from apihub.jobs.modes import DiscoveryMode
from apihub.models import SyncJob, parse_iso

# How many of a supplier's newest inventory jobs may confirm a product's stock: a product a newer
# job could not read (it failed) falls back to an older job's confirmation, up to this many.
RECENT_JOBS = 5


def recent_inventory_jobs(supplier_id: str, limit: int = RECENT_JOBS) -> list[SyncJob]:
    """The supplier's newest inventory jobs, newest first (a Query on the ``BySupplierType`` index)."""
    jobs, _ = JobsRepository().list({"supplier_id": supplier_id, "job_type": DiscoveryMode.inventory.job_type}, limit)
    return jobs


def confirmed_as_of(supplier_id: str, product_id: str, stored: StoredInventory | InventoryStamp | None) -> str | None:
    """When this product's stock was last known to be what is stored (None: nothing stored)."""
    if stored is None:
        return None
    candidates = [stored.as_of]
    newer = [j for j in recent_inventory_jobs(supplier_id) if j.started_at > stored.as_of]
    if newer:
        succeeded = JobsRepository().succeeded_in([j.id for j in newer], product_id)
        candidates += [j.started_at for j in newer if j.id in succeeded]
    live = LiveReads().get(supplier_id, product_id)
    if live is not None and live.confirmed_at:
        candidates.append(live.confirmed_at)
    return max(candidates)


def age_seconds(as_of: str | None, now: datetime) -> float | None:
    stamp = parse_iso(as_of)
    return None if stamp is None else max(0.0, (now - stamp).total_seconds())


@dataclass(frozen=True)
class SupplierFreshness:
    """A supplier's stock ages: how many products have stock stored, and the p50/p95 of their ages."""

    products: int
    age_p50_s: float | None
    age_p95_s: float | None


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(round(share * len(ordered), 9)))
    return ordered[min(rank, len(ordered)) - 1]


def supplier_freshness(supplier_id: str, now: datetime, latest_job: SyncJob | None) -> SupplierFreshness:
    """Every product's ``as_of`` age (from the ``by_changed`` index, no bodies), each confirmed by
    the newest inventory job where it succeeded there (one Query over that job's outcome groups)."""
    stamps: Iterable[InventoryStamp] = InventoryRepository().stamps(supplier_id)
    confirmed = JobsRepository().success_skus(latest_job.id) if latest_job is not None else set()
    ages = []
    for stamp in stamps:
        as_of = stamp.as_of
        if latest_job is not None and stamp.product_id in confirmed and latest_job.started_at > as_of:
            as_of = latest_job.started_at
        age = age_seconds(as_of, now)
        if age is not None:
            ages.append(age)
    return SupplierFreshness(len(ages), percentile(ages, 0.50), percentile(ages, 0.95))
