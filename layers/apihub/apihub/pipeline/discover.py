"""Discovery: list a job's product refs through its adapter, persist them, fan them out.

Two resumable phases, both driven by state on the job item (advanced with optimistic concurrency):
``listing`` pages through the adapter's discovery and stores de-duplicated SKUs in chunk items;
``fanout`` sends the chunks to the hydrate queue. When the invocation runs low on time it sends a
continuation message and stops; the next invocation resumes from the stored cursor, so a catalog of
any size finishes without an invocation reaching Lambda's limit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum

from apihub.adapters.base import DiscoveryRequest
from apihub.dal import queues
from apihub.dal.jobs import JobsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.dal.tables import JobItem
from apihub.errors import AdapterError, AuthError, NotFound, OutOfTime, SupplierNotImportable, Throttled, TransientError
from apihub.models import DiscoveryMode, DiscoveryParams, JobStatus, iso_from_epoch, parse_iso
from apihub.pipeline import finalise
from apihub.pipeline.adapter_factory import adapter_for, limit_calls
from apihub.pipeline.messages import DiscoveryMessage, HydrateMessage
from apihub.pipeline.retry_timing import delay_seconds, expect_attempt
from apihub.settings import get_settings

CHUNK_SIZE = 1000
DELTA_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)


class DiscoveryResult(str, Enum):
    done = "done"
    continued = "continued"
    skipped = "skipped"  # job missing, terminal, or owned by a concurrent invocation
    failed = "failed"


def delta_since(last_delta: str | None, last_full: str | None) -> datetime:
    """The supplier's last sync, full or delta, whichever is newer (a full sync covers every change
    before it started, so a delta after it must not re-import those)."""
    synced = [t for t in (parse_iso(last_delta), parse_iso(last_full)) if t is not None]
    return max(synced, default=DELTA_FLOOR)


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
        if state.get("phase", "listing") == "listing":
            if not _list(jobs, item, remaining_ms):
                return _continue_or_skip(jobs, item)
            state = item.discovery or {}
        if state.get("phase") == "fanout":
            if not _fan_out(jobs, item, remaining_ms):
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


def _list(jobs: JobsRepository, item: JobItem, remaining_ms: Callable[[], int]) -> bool:
    """Phase 1. Returns True when the listing is complete (phase moved to ``fanout``)."""
    params = DiscoveryParams.model_validate(item.params or {})
    mode = DiscoveryMode(item.discovery_mode)
    state = dict(item.discovery or {})
    since = None
    if mode is DiscoveryMode.delta:
        supplier = SuppliersRepository().get(item.supplier_id)
        since = parse_iso(state.get("since")) or delta_since(supplier.last_delta_sync, supplier.last_full_sync)
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
            time_left=_deadline(remaining_ms),
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
                if since is not None:
                    changes["since"] = since.isoformat()
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
