"""Discovery: list a job's product refs through its adapter, persist them, fan them out.

Two resumable phases, both driven by state on the job item (advanced with optimistic concurrency):
``listing`` pages through the adapter's discovery and stores de-duplicated SKUs in chunk items;
``fanout`` sends the chunks to the hydrate queue. When the invocation runs low on time it sends a
continuation message and stops; the next invocation resumes from the stored cursor, so a catalog of
any size finishes without an invocation reaching Lambda's limit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum

from apihub.adapters.base import DiscoveryRequest
from apihub.dal import queues
from apihub.dal.jobs import JobsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.dal.tables import JobItem
from apihub.errors import AdapterError, AuthError, NotFound, SupplierNotImportable, Throttled, TransientError
from apihub.models import DiscoveryMode, DiscoveryParams, JobStatus, iso_from_epoch, parse_iso
from apihub.observability import logger
from apihub.pipeline import finalise
from apihub.pipeline.adapter_factory import adapter_for, limit_calls
from apihub.pipeline.messages import DiscoveryMessage, HydrateMessage
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
    settings = get_settings()
    try:
        item = jobs.mark_running(job_id)
        state = item.discovery or {}
        if state.get("phase", "listing") == "listing":
            if not _list(jobs, item, remaining_ms):
                return _continue_or_skip(jobs, item)
            state = item.discovery or {}
        if state.get("phase") == "fanout":
            if not _fan_out(jobs, item, remaining_ms):
                return _continue_or_skip(jobs, item)
    except Throttled as exc:
        # Our own limiter: continue later from the stored cursor; this never fails the job.
        delay = int(min(900, max(1, exc.retry_after)))
        queues.send_discovery(DiscoveryMessage(job_id=item.id, continuation=True).model_dump(), delay_seconds=delay)
        return DiscoveryResult.continued
    except TransientError as exc:
        if receive_count >= settings.discovery_max_receive_count:
            jobs.fail(job_id, f"{exc.describe()} (discovery gave up after {receive_count} attempts)")
            return DiscoveryResult.failed
        raise
    except (AdapterError, SupplierNotImportable, NotFound) as exc:
        text = exc.describe() if isinstance(exc, AdapterError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, AuthError):
            text = f"{text} (credentials rejected during discovery)"
        jobs.fail(job_id, text)
        return DiscoveryResult.failed
    finalise.if_complete(jobs, job_id)
    return DiscoveryResult.done


def _continue_or_skip(jobs: JobsRepository, item: JobItem) -> DiscoveryResult:
    fresh = jobs.find_item(item.id)
    if fresh is None or fresh.status != JobStatus.running.value or fresh.discovery_version != item.discovery_version:
        return DiscoveryResult.skipped  # someone else advanced it, or it ended
    queues.send_discovery(DiscoveryMessage(job_id=item.id, continuation=True).model_dump())
    return DiscoveryResult.continued


def _out_of_time(remaining_ms: Callable[[], int]) -> bool:
    return remaining_ms() < get_settings().discovery_time_reserve_ms


def _list(jobs: JobsRepository, item: JobItem, remaining_ms: Callable[[], int]) -> bool:
    """Phase 1. Returns True when the listing is complete (phase moved to ``fanout``)."""
    params = DiscoveryParams.model_validate(item.params or {})
    mode = DiscoveryMode(item.discovery_mode)
    state = dict(item.discovery or {})
    since = None
    if mode is DiscoveryMode.delta:
        supplier = SuppliersRepository().get(item.supplier_id)
        # A resumed listing keeps the window it started with (None included: it fell back).
        since = (
            parse_iso(state["since"])
            if "since" in state
            else delta_since(supplier.last_delta_sync, supplier.last_full_sync)
        )
    limit = params.limit if mode is DiscoveryMode.first_n else None
    request = DiscoveryRequest(mode=mode, limit=limit, explicit_list=params.explicit_list, since=since)

    chunks = int(state.get("chunks", 0))
    seen: dict[str, None] = {}
    for number in range(1, chunks + 1):  # resuming: rebuild the de-duplication set
        seen.update(dict.fromkeys(jobs.get_ref_chunk(item.id, number)))
    cursor = state.get("cursor")
    finished = state.get("listed", False)
    if not finished:
        adapter = adapter_for(item.supplier_id)
        limiter = limit_calls(
            adapter,
            lease_s=remaining_ms() / 1000 + 5,
            on_throttled=lambda until: jobs.set_throttled(item.id, iso_from_epoch(until)),
        )
        try:
            for page in adapter.discover(request, cursor=cursor):
                fresh = [r.product_id for r in page.refs if r.product_id not in seen]
                fresh = list(dict.fromkeys(fresh))
                if limit is not None:
                    fresh = fresh[: max(0, limit - len(seen))]
                for start in range(0, len(fresh), CHUNK_SIZE):
                    chunks += 1
                    jobs.put_ref_chunk(item.id, chunks, fresh[start : start + CHUNK_SIZE])
                seen.update(dict.fromkeys(fresh))
                finished = page.cursor is None or (limit is not None and len(seen) >= limit)
                changes = {"cursor": page.cursor, "chunks": chunks, "refs": len(seen), "listed": finished}
                changes["since"] = since and since.isoformat()
                if not jobs.update_discovery(item, changes):
                    return False
                if finished:
                    break
                if _out_of_time(remaining_ms):
                    return False
            else:
                finished = True
        finally:
            limiter.close()
            adapter.context.guard.target = None

    return jobs.update_discovery(item, {"phase": "fanout", "sent": 0, "listed": True}, total_products=len(seen))


def _fan_out(jobs: JobsRepository, item: JobItem, remaining_ms: Callable[[], int]) -> bool:
    """Phase 2. Returns True when every chunk is on the hydrate queue and discovery is complete."""
    settings = get_settings()
    state = item.discovery or {}
    chunks, sent = int(state.get("chunks", 0)), int(state.get("sent", 0))
    per_message = max(1, settings.hydrate_refs_per_message)
    for number in range(sent + 1, chunks + 1):
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
