"""Discovery: list a job's product refs through its adapter, persist them, fan them out.

Two resumable phases, both driven by state on the job item (advanced with optimistic concurrency):
``listing`` pages through the adapter's discovery and stores de-duplicated SKUs in chunk items;
``fanout`` sends the chunks to the hydrate queue. When the invocation runs low on time it sends a
continuation message and stops; the next invocation resumes from the stored cursor, so a catalog of
any size finishes without an invocation reaching Lambda's limit.

Listing ends: a page that adds no new SKU but names a next page (a supplier ignoring paging), or a
page past ``APIHUB_DISCOVERY_MAX_PAGES``, fails the job with a ``DiscoveryError`` (the lock goes with
it). Each page's ref chunks are written in one transaction with the state that counts them, so an
invocation that loses the race for a job writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from apihub.adapters.base import DiscoveryPage, DiscoveryRequest, explicit_pages
from apihub.dal import queues
from apihub.dal.jobs import JobsRepository
from apihub.dal.jobs.discovery import CHUNKS_PER_WRITE
from apihub.dal.jobs.keys import groups_for, outcome_group, outcome_groups_of
from apihub.dal.products import ProductsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.dal.tables import JobItem
from apihub.errors import (
    AdapterError,
    AuthError,
    DiscoveryError,
    NotFound,
    OutOfTime,
    SupplierNotImportable,
    Throttled,
    TransientError,
)
from apihub.models import DiscoveryMode, DiscoveryParams, JobStatus, ProductRef, iso_from_epoch, parse_iso
from apihub.modes.table import Listing, Param, mode_spec
from apihub.observability import logger
from apihub.pipeline import finalise
from apihub.pipeline.adapter_factory import adapter_for, limit_calls
from apihub.pipeline.messages import DiscoveryMessage, HydrateMessage
from apihub.pipeline.retry_timing import delay_seconds, expect_attempt
from apihub.ratelimit import Limits
from apihub.settings import get_settings

CHUNK_SIZE = 1000


class DiscoveryResult(str, Enum):
    done = "done"
    continued = "continued"
    skipped = "skipped"  # job missing, terminal, or owned by a concurrent invocation
    failed = "failed"


def delta_since(*synced_at: str | None) -> datetime | None:
    """The supplier's last sync, full or delta, whichever is newer (a full sync covers every change
    before it started, so a delta after it must not re-import those). None when it was never
    synced: the delta then lists every sellable product (docs/decisions.md, "Delta since")."""
    synced = [t for t in map(parse_iso, synced_at) if t is not None]
    if not synced:
        logger.info("delta has no previous sync to start from: listing every sellable product")
    return max(synced, default=None)


def run(job_id: str, remaining_ms: Callable[[], int], receive_count: int = 1) -> DiscoveryResult:
    """Advance discovery for ``job_id`` as far as this invocation's time allows."""
    jobs = JobsRepository()
    item = jobs.find_item(job_id)
    if item is None or JobStatus(item.status).terminal:
        return DiscoveryResult.skipped
    version = int(item.discovery_version or 0)  # as this step found it
    try:
        item = jobs.mark_running(job_id)
        state = item.discovery or {}
        listed: list[str] | None = None  # every listed SKU, when this invocation listed them
        if state.get("phase", "listing") == "listing":
            listed = _list(jobs, item, remaining_ms)
            if listed is None:
                return _continue_or_skip(jobs, item)
            state = item.discovery or {}
        if state.get("phase") == "fanout":
            if not _fan_out(jobs, item, remaining_ms, listed=listed):
                return _continue_or_skip(jobs, item)
    except Throttled as exc:
        # Our own limiter: continue later from the stored cursor; this never fails the job.
        delay = delay_seconds(exc.retry_after)
        queues.send_discovery(DiscoveryMessage(job_id=item.id, continuation=True).model_dump(), delay_seconds=delay)
        expect_attempt(jobs, job_id, delay)
        return DiscoveryResult.continued
    except OutOfTime as exc:
        if int(item.discovery_version or 0) > version:  # this step moved the cursor: continue
            return _continue_or_skip(jobs, item)
        # A whole invocation was not enough for one supplier call: retried as a timeout (it ends).
        too_slow = TransientError(f"supplier too slow for one invocation: {exc}")
        return _transient(jobs, job_id, too_slow, receive_count)
    except TransientError as exc:
        return _transient(jobs, job_id, exc, receive_count)
    except (AdapterError, SupplierNotImportable, NotFound) as exc:
        text = exc.describe() if isinstance(exc, AdapterError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, AuthError):
            text = f"{text} (credentials rejected during discovery)"
        jobs.fail(job_id, text)
        return DiscoveryResult.failed
    finalise.if_complete(jobs, job_id)
    return DiscoveryResult.done


def _transient(jobs: JobsRepository, job_id: str, exc: TransientError, receive_count: int) -> DiscoveryResult:
    """Retried by redelivery (the message comes back after its visibility timeout, well within the
    sweeper's stall limit); on the queue's last receive the job fails with the reason."""
    if receive_count >= get_settings().discovery_max_receive_count:
        jobs.fail(job_id, f"{exc.describe()} (discovery gave up after {receive_count} attempts)")
        return DiscoveryResult.failed
    raise exc


def _continue_or_skip(jobs: JobsRepository, item: JobItem) -> DiscoveryResult:
    fresh = jobs.find_item(item.id)
    if fresh is None or fresh.status != JobStatus.running.value or fresh.discovery_version != item.discovery_version:
        return DiscoveryResult.skipped  # someone else advanced it, or it ended
    queues.send_discovery(DiscoveryMessage(job_id=item.id, continuation=True).model_dump())
    return DiscoveryResult.continued


def _deadline(remaining_ms: Callable[[], int]) -> Callable[[], float] | None:
    """Seconds left for supplier calls: the invocation's remaining time minus the reserve."""
    settings = get_settings()
    if not settings.call_deadlines:
        return None
    return lambda: (remaining_ms() - settings.discovery_time_reserve_ms) / 1000


def _out_of_time(remaining_ms: Callable[[], int]) -> bool:
    return remaining_ms() < get_settings().discovery_time_reserve_ms


def _list(jobs: JobsRepository, item: JobItem, remaining_ms: Callable[[], int]) -> list[str] | None:
    """Phase 1. Every listed SKU, in the stored chunks' order, when the listing is complete (phase
    moved to ``fanout``); None when it goes on in another invocation (or another owns the job)."""
    params = DiscoveryParams.model_validate(item.params or {})
    mode = DiscoveryMode(item.discovery_mode)
    state = dict(item.discovery or {})
    spec = mode_spec(mode)
    since = None
    if spec.since_from:  # the newest of the row's supplier fields (delta: last delta or full sync)
        supplier = SuppliersRepository().get(item.supplier_id)
        # A resumed listing keeps the window it started with (None included: it fell back).
        since = (
            parse_iso(state["since"])
            if "since" in state
            else delta_since(*(getattr(supplier, f) for f in spec.since_from))
        )
    limit = params.limit if spec.limit is not Param.refused else None
    explicit_list = params.explicit_list if spec.explicit_list is not Param.refused else None
    request = DiscoveryRequest(mode=mode, limit=limit, explicit_list=explicit_list, since=since)

    listed = _Listed.load(jobs, item)
    if not state.get("listed", False) and not _page_through(jobs, item, request, listed, remaining_ms):
        return None
    done = jobs.update_discovery(
        item,
        {"phase": "fanout", "sent": 0, "listed": True},
        total_products=len(listed.seen),
        outcome_groups=groups_for(listed.seen),
    )
    return list(listed.seen) if done else None


@dataclass
class _Listed:
    """What the listing has stored so far: SKUs (in order, for de-duplication), chunks, pages."""

    seen: dict[str, None]
    chunks: int
    pages: int

    @classmethod
    def load(cls, jobs: JobsRepository, item: JobItem) -> _Listed:
        """Resuming: rebuild the de-duplication set from the stored chunks."""
        state = item.discovery or {}
        chunks = int(state.get("chunks", 0))
        seen: dict[str, None] = {}
        for number in range(1, chunks + 1):
            seen.update(dict.fromkeys(jobs.get_ref_chunk(item.id, number)))
        return cls(seen, chunks, int(state.get("pages", 0)))


def _page_through(
    jobs: JobsRepository, item: JobItem, request: DiscoveryRequest, listed: _Listed, remaining_ms: Callable[[], int]
) -> bool:
    """Store the adapter's pages from the stored cursor on. True when the listing is complete."""
    cursor = (item.discovery or {}).get("cursor")
    if request.listing is Listing.stored:
        # No supplier call: the SKUs asked for, or every product stored for the supplier (a Query
        # on the products table, page by page, resumed from the cursor like an adapter's listing).
        pages = (
            explicit_pages(request)
            if request.explicit_list
            else (
                DiscoveryPage([ProductRef(product_id=sku) for sku in ids], next_cursor)
                for ids, next_cursor in ProductsRepository().id_pages(item.supplier_id, cursor, CHUNK_SIZE)
            )
        )
        return _store_pages(jobs, item, request, listed, remaining_ms, pages)
    adapter = adapter_for(item.supplier_id)
    limiter = limit_calls(
        adapter,
        lease_s=remaining_ms() / 1000 + 5,
        on_throttled=lambda until: jobs.set_throttled(item.id, iso_from_epoch(until)),
        time_left=_deadline(remaining_ms),
    )
    try:
        return _store_pages(jobs, item, request, listed, remaining_ms, adapter.discover(request, cursor=cursor))
    finally:
        limiter.close()
        adapter.context.guard.target = None


def _store_pages(
    jobs: JobsRepository,
    item: JobItem,
    request: DiscoveryRequest,
    listed: _Listed,
    remaining_ms: Callable[[], int],
    pages: Iterable[DiscoveryPage],
) -> bool:
    """Store ``pages`` (new SKUs only) with their cursor. True when the listing is complete."""
    limit = request.limit
    for page in pages:
        fresh = list(dict.fromkeys(r.product_id for r in page.refs if r.product_id not in listed.seen))
        if limit is not None:
            fresh = fresh[: max(0, limit - len(listed.seen))]
        finished = page.cursor is None or (limit is not None and len(listed.seen) + len(fresh) >= limit)
        if not finished:
            _check_progress(listed.pages + 1, fresh)
        changes = {"cursor": page.cursor, "listed": finished, "since": request.since and request.since.isoformat()}
        if not _store_page(jobs, item, listed, fresh, changes):
            return False
        if finished:
            return True
        if _out_of_time(remaining_ms):
            return False
    return True


def _check_progress(page_number: int, fresh: list[str]) -> None:
    """A page that names a next page must add something, within the cap: otherwise listing would
    not end (a supplier that ignores paging repeats its first page for ever). Failing the job is
    the honest end: what was listed cannot be known to be the whole catalog, and a delta that
    completed would move the supplier's last sync past changes it never saw."""
    if not fresh:
        raise DiscoveryError(
            f"supplier returned page {page_number} with no new products and a next cursor; stopped to avoid a loop"
        )
    cap = get_settings().discovery_max_pages
    if page_number >= cap:
        raise DiscoveryError(
            f"supplier listing still had a next cursor after {cap} pages; stopped (the cap is APIHUB_DISCOVERY_MAX_PAGES)"
        )


def _store_page(
    jobs: JobsRepository, item: JobItem, listed: _Listed, fresh: list[str], changes: dict[str, Any]
) -> bool:
    """Store a page's new SKUs in ref chunks, each write with the state that counts it (False:
    another invocation owns the job). A page too large for one transaction takes several; the
    cursor moves with the last, so a listing resumed in between reads the page again and keeps
    only the SKUs not stored yet."""
    chunks = [fresh[i : i + CHUNK_SIZE] for i in range(0, len(fresh), CHUNK_SIZE)]
    groups = [chunks[i : i + CHUNKS_PER_WRITE] for i in range(0, len(chunks), CHUNKS_PER_WRITE)] or [[]]
    for index, group in enumerate(groups):
        numbered = {listed.chunks + n: skus for n, skus in enumerate(group, start=1)}
        step: dict[str, Any] = {"chunks": listed.chunks + len(group), "refs": len(listed.seen) + sum(map(len, group))}
        if index == len(groups) - 1:
            step |= {**changes, "pages": listed.pages + 1}
        if not jobs.record_listing(item, numbered, step):
            return False
        listed.chunks += len(group)
        for skus in group:
            listed.seen.update(dict.fromkeys(skus))
    listed.pages += 1
    return True


def refs_per_message(item: JobItem, slots: int) -> int:
    """SKUs per hydrate message for ``item``: its mode's fetch kind decides (a stock read sends a
    fixed number; a product job as many as keep each of the supplier's ``slots`` fed,
    ``ProductFetch.refs_per_message``). The same for every invocation of the fan-out (the total and
    the supplier's limit are fixed by then)."""
    fetches = mode_spec(item.discovery_mode).fetches
    return fetches.refs_per_message(get_settings(), int(item.total_products or 0), slots)


def supplier_slots(supplier_id: str) -> int:
    """The supplier's ``max_concurrency`` (its limiter's slots; the default when it sets none, or
    when the supplier is gone: its hydrate messages then fail as the job's supplier would)."""
    supplier = SuppliersRepository().find(supplier_id)
    return Limits.from_config(dict(supplier.protocol_config or {}) if supplier else {}).max_concurrency


def _fan_out(
    jobs: JobsRepository, item: JobItem, remaining_ms: Callable[[], int], *, listed: list[str] | None = None
) -> bool:
    """Phase 2. Returns True when every chunk is on the hydrate queue and discovery is complete.

    The SKUs go out ordered by outcome group (``keys.outcome_group``), so the SKUs of one group
    travel together and a commit of a message's outcomes updates a few group items, not one per
    SKU. Chunk ``n`` of the fan-out is the ``n``-th ``CHUNK_SIZE`` SKUs of that order, which is
    the same in every invocation (the stored chunks never change once listed), so a fan-out
    resumed from ``sent`` sends the rest; a job listed before groups goes out chunk by chunk.

    ``listed``: the SKUs as this same invocation listed and stored them, ordered in memory (the
    first hydrate message goes out without reading back what was just written; that read took a
    fifth of a 2,000-product discovery). Not started past the invocation's reserve then: a fresh
    invocation starts it. A fresh invocation reads every chunk to order them, time in proportion
    to the catalog (100 reads for 100,000 SKUs), and always sends at least one chunk, so each
    invocation makes progress (one reads 1,000 chunks, a 1,000,000-product catalog, in well under
    its 270 s)."""
    state = item.discovery or {}
    chunks, sent = int(state.get("chunks", 0)), int(state.get("sent", 0))
    if listed is not None and _out_of_time(remaining_ms):
        return False
    per_message = refs_per_message(item, supplier_slots(item.supplier_id))
    groups = outcome_groups_of(item)
    ordered = None
    if groups and sent < chunks:
        ordered = _by_group(listed, groups) if listed is not None else _read_by_group(jobs, item.id, chunks, groups)
    for number in range(sent + 1, chunks + 1):
        if ordered is not None:
            skus = ordered[(number - 1) * CHUNK_SIZE : number * CHUNK_SIZE]
        else:
            skus = jobs.get_ref_chunk(item.id, number)
        bodies = [
            HydrateMessage(job_id=item.id, skus=skus[i : i + per_message]).model_dump()
            for i in range(0, len(skus), per_message)
        ]
        queues.send_hydrate_batch(bodies)
        if not jobs.update_discovery(item, {"sent": number}):
            return False
        if number < chunks and _out_of_time(remaining_ms):
            return False
    return jobs.update_discovery(item, {"phase": "done"}, discovery_complete=True)


def _by_group(listed: list[str], groups: int) -> list[str]:
    """``listed`` ordered by outcome group (then as listed)."""
    return sorted(listed, key=lambda sku: outcome_group(sku, groups))


def _read_by_group(jobs: JobsRepository, job_id: str, chunks: int, groups: int) -> list[str]:
    """Every listed SKU, read from the stored chunks, ordered by outcome group (then as listed)."""
    listed: list[str] = []
    for number in range(1, chunks + 1):
        listed.extend(jobs.get_ref_chunk(job_id, number))
    return _by_group(listed, groups)
