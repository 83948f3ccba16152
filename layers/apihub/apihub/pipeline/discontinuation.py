"""The discontinuation pass of a complete full_sellable job (success or partial success): every
stored product of its supplier that the job did not list gets ``discontinued_at`` (never deleted),
and one it listed that an earlier pass discontinued is reactivated. The products table's stream
turns each of those writes into ``product.discontinued`` / ``product.reactivated``.

The pass is not part of the job's ending transaction (a catalog may hold 100,000 products): that
transaction writes its marker (``DiscontinueItem``); a message on the discovery queue runs it, page
by page, moving the marker's cursor after each page and continuing itself in a fresh message when
the invocation runs low on time. Each write is conditional (not discontinued yet, not written since
the job started), so a page done twice changes nothing; the sweeper sends the message again for a
marker left pending (a lost message, a crashed invocation).
"""

from __future__ import annotations

from collections.abc import Callable

from apihub.dal import queues
from apihub.dal.jobs import JobsRepository
from apihub.dal.products import discontinue_page, mark_discontinued, reactivate
from apihub.observability import logger
from apihub.pipeline.messages import DiscoveryMessage
from apihub.settings import get_settings

PAGE_SIZE = 500


def request(job_id: str) -> None:
    """Start (or resume) the pass of ``job_id`` through the discovery queue."""
    queues.send_discovery(DiscoveryMessage(job_id=job_id, task="discontinue").model_dump())


def run(job_id: str, remaining_ms: Callable[[], int]) -> str:
    """Advance the pass of ``job_id`` as far as this invocation's time allows: ``done``,
    ``continued`` (a fresh message carries on), or ``skipped`` (no pending pass, or another
    invocation is ahead of this one)."""
    jobs = JobsRepository()
    marker = jobs.discontinue_marker(job_id)
    if marker is None or marker.done_at is not None:
        return "skipped"
    listed = jobs.listed_skus(job_id)
    reserve = get_settings().discovery_time_reserve_ms
    while True:
        rows, after = discontinue_page(marker.supplier_id, marker.cursor, PAGE_SIZE)
        discontinued = 0
        for product_id, _updated_at, discontinued_at in rows:
            if product_id not in listed:
                discontinued += mark_discontinued(
                    marker.supplier_id, product_id, marker.discontinued_at, job_id, marker.job_started_at
                )
            elif discontinued_at is not None and discontinued_at < marker.job_started_at:
                # Listed again with unchanged content (so not rewritten): it is sellable again.
                reactivate(marker.supplier_id, product_id, discontinued_at, job_id)
        cursor = rows[-1][0] if rows and after is not None else None
        done = after is None
        if not jobs.advance_discontinue(marker, cursor, discontinued, done):
            return "skipped"  # another invocation ran this page first
        marker = jobs.discontinue_marker(job_id) or marker
        if done:
            logger.info("discontinuation pass finished", extra={"discontinued": int(marker.discontinued or 0)})
            return "done"
        if remaining_ms() < reserve:
            request(job_id)
            return "continued"


def resend_pending(limit: int = 100) -> list[str]:
    """Send the message of every pass still pending (the sweeper calls this): a pass whose message
    was lost or whose invocation crashed resumes from its cursor. A pass that is running gets a
    second message; the marker's conditional cursor makes the one behind stop."""
    pending = JobsRepository().pending_discontinuations(limit)
    for job_id in pending:
        request(job_id)
    return pending
