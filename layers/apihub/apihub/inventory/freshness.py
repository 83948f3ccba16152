"""How old a product's stock is: ``as_of`` kept honest without a write per unchanged read.

An inventory item is written only when its content changes (docs/inventory.md, "Storage"), so its
``as_of`` is when that content was first read. A later read that found the same stock confirms it
without writing the item; the confirmation is found where it was recorded anyway:

* an inventory job's **success outcome** for the product (recorded once per product in its outcome
  group by the exactly-once path, needed for the job's counters): the stock was read after the job's
  ``started_at``, so that start is a safe lower bound for when it was confirmed;
* a **live read**'s record (``INVREAD#``): the time the supplier answered, set only when that
  answer is what is stored (a live read that a newer read beat confirms nothing). A live read that
  found its stock unchanged also moves the item's ``as_of`` on (``InventoryRepository.store``), so
  an older job read cannot replace it.

``as_of`` is the newest of the three. Reading it costs two BatchGetItems over the supplier's recent
inventory jobs (their group counts, then the product's outcome group in each) plus one GetItem; no
write at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, TypeVar

from apihub.dal.inventory import InventoryRepository, InventoryStamp, StoredInventory
from apihub.dal.jobs.listing import JobListing
from apihub.dal.jobs.outcome_reads import OutcomeReads
from apihub.dal.live_reads import LiveReads
from apihub.dal.suppliers import SuppliersRepository
from apihub.models import SyncJob, parse_iso
from apihub.modes.table import DiscoveryMode
from apihub.observability import logger

T = TypeVar("T")

# How many of a supplier's newest inventory jobs may confirm a product's stock: a product a newer
# job could not read (it failed) falls back to an older job's confirmation, up to this many.
RECENT_JOBS = 5


def recent_inventory_jobs(supplier_id: str, limit: int = RECENT_JOBS) -> list[SyncJob]:
    """The supplier's newest inventory jobs, newest first (a Query on the ``BySupplierType`` index)."""
    jobs, _ = JobListing().list({"supplier_id": supplier_id, "job_type": DiscoveryMode.inventory.job_type}, limit)
    return jobs


def confirmed_as_of(supplier_id: str, product_id: str, stored: StoredInventory | InventoryStamp | None) -> str | None:
    """When this product's stock was last known to be what is stored (None: nothing stored)."""
    if stored is None:
        return None
    candidates = [stored.as_of]
    newer = [j for j in recent_inventory_jobs(supplier_id) if j.started_at > stored.as_of]
    if newer:
        succeeded = OutcomeReads().succeeded_in([j.id for j in newer], product_id)
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


@dataclass(frozen=True)
class StockSummary:
    """What health needs of a supplier's stock, kept on the supplier when an inventory job ends:
    how many products have stock stored and the confirmed ``as_of`` at the p50 and p95 ranks of
    their ages (newest first). An age is ``now - as_of``, so these two times give the percentiles
    at any later ``now`` without reading a product again: health costs O(suppliers)."""

    products: int
    as_of_p50: str | None
    as_of_p95: str | None
    job_id: str | None = None  # the inventory job that confirmed the stock, when one did

    def as_item(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, as_ofs: Iterable[str], job_id: str | None = None) -> StockSummary:
        """The summary of these confirmed ``as_of`` times (one per product; unparsable ones left out)."""
        times = [(parsed, text) for text in as_ofs if (parsed := parse_iso(text)) is not None]
        newest_first = [text for _, text in sorted(times, reverse=True)]  # youngest age first
        return cls(len(newest_first), nearest_rank(newest_first, 0.50), nearest_rank(newest_first, 0.95), job_id)

    @classmethod
    def from_item(cls, data: dict[str, Any] | None) -> StockSummary | None:
        if not data:
            return None
        return cls(int(data.get("products") or 0), data.get("as_of_p50"), data.get("as_of_p95"), data.get("job_id"))

    def freshness(self, now: datetime) -> SupplierFreshness:
        """The p50/p95 ages at ``now``."""
        return SupplierFreshness(self.products, age_seconds(self.as_of_p50, now), age_seconds(self.as_of_p95, now))


def nearest_rank(ordered: Sequence[T], share: float) -> T | None:
    """The nearest-rank ``share`` percentile of ``ordered`` (sorted the way the percentile runs; None when empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(round(share * len(ordered), 9)))
    return ordered[min(rank, len(ordered)) - 1]


def summarise_stock(supplier_id: str, job: SyncJob | None) -> StockSummary:
    """Every product's confirmed ``as_of`` (from the ``by_changed`` index, no bodies), each
    confirmed by ``job`` where it succeeded there (one Query over that job's outcome groups), reduced to
    the p50 and p95 of their ages. O(products): made once per inventory job, when it ends
    (``record_stock_summary``), never per health request."""
    stamps: Iterable[InventoryStamp] = InventoryRepository().stamps(supplier_id)
    confirmed = OutcomeReads().success_skus(job.id) if job is not None else set()
    as_ofs = []
    for stamp in stamps:
        as_of = stamp.as_of
        if job is not None and stamp.product_id in confirmed and job.started_at > as_of:
            as_of = job.started_at
        as_ofs.append(as_of)
    return StockSummary.of(as_ofs, job.id if job is not None else None)


def record_stock_summary(job: SyncJob) -> None:
    """Summarise the supplier's stock as ``job`` (an inventory job that just ended) left it, for
    health. Best effort: a failure is logged and health keeps the previous summary."""
    try:
        summary = summarise_stock(job.supplier_id, job)
        SuppliersRepository().store_inventory_summary(job.supplier_id, summary.as_item(), job.started_at)
    except Exception:  # health figures must never fail the job's last batch
        logger.warning("stock summary not stored", extra={"job_id": job.id}, exc_info=True)
