"""The change log (``ChangesTable``): one item per change event, written once, read as a feed.

Writes: ``record`` puts each event conditional on its key not existing yet, so a redelivered stream
record or a retried transaction never writes a second item (docs/architecture.md, Invariants 9); ``item`` and
``put_condition`` give the same item to a transaction of another module (``job.finished`` is logged
in the transaction that ends the job), which runs through ``log_connection`` so that its attempts are
bounded like the log's own writes. Each item carries ``event`` = ``ChangeEvent.model_dump_json()``;
the table's stream (NEW_IMAGE) feeds EventBridge and webhooks. Items expire after
``changes_retention_days`` (TTL on ``expires_at``).

Layout (docs/changes.md, "The change log"): the item's key is the event's job (or, without one, its
supplier), one of ``SHARDS`` by its id, and ``<type>#<id>``: fixed by the event, so a second put of it
meets the first; it serves a job's counts. One index, ``ChangesFeed``, orders the whole log:
``<day>#<shard>`` by ``log_sort`` = ``<logged_at>#<id>``. Two write units per event, and no key takes
more than one shard's part of the events.

Reads: ``list`` serves ``GET /api/changes`` oldest first, by the order events entered the log, merging
the day's shards (one Query each, never a Scan); filters are conditions on the index's own copy of
``supplier_id``, ``type`` and ``job_id``. The last ``changes_settle_ms`` of the log are left for the next
poll: longer than an event can take from taking its position to being readable (``SETTLE_BOUND_MS``),
so a cursor never passes an event still on its way.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError

from apihub.changes.events import ChangeEvent
from apihub.dal.retries import call_with_retries
from apihub.dal.tables import CHANGE_SHARDS, ChangeItem, bind_tables
from apihub.models import iso, parse_iso, utcnow
from apihub.pagination import Cursor, KeyString, Position, decode_cursor, fit_page
from apihub.settings import Settings, get_settings

SHARDS = CHANGE_SHARDS

# How late an event can become readable after taking its position (docs/changes.md, "Nothing is
# skipped"). The position is taken at each write attempt (``_put``), and an attempt is one HTTP
# request of the log's own client: its connect and read timeouts, no botocore retry (ChangeItem.Meta).
LOG_WRITE_BOUND_MS = (ChangeItem.Meta.connect_timeout_seconds + ChangeItem.Meta.read_timeout_seconds) * 1000
# What no client setting bounds: the index copy, which DynamoDB writes asynchronously after the item
# (a throttled index slows the table's writes instead of falling behind), and the request's time on
# the server after the client gave up.
INDEX_MARGIN_MS = 2000
SETTLE_BOUND_MS = LOG_WRITE_BOUND_MS + INDEX_MARGIN_MS


class ChangesPosition(Position):
    """Where the feed resumes: every event up to ``log_sort`` (inclusive) was sent or passed over."""

    log_sort: KeyString


def changes_scope(filters: dict[str, str]) -> str:
    """The list a cursor belongs to: ``changes`` and its filters (``since`` is not one: the
    cursor replaces it)."""
    return "changes?" + "&".join(f"{k}={filters[k]}" for k in sorted(filters))


def shard_of(event_id: str) -> int:
    """The event's shard: a stable spread of ids (a hash that is the same in every process)."""
    return zlib.crc32(event_id.encode()) % SHARDS


def owner_key(supplier_id: str, job_id: str | None, shard: int) -> str:
    """The item's hash key: its job's (a live read's events have none: its supplier's)."""
    return f"{job_id}#{shard}" if job_id else f"supplier#{supplier_id}#{shard}"


@dataclass(frozen=True)
class _ShardPage:
    items: list[Any]  # oldest first, the filters applied
    cut: str | None  # the last log_sort the Query evaluated when it stopped short; None: read to the end


class ChangesRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        bind_tables(self.settings)

    # ------------------------------------------------------------------ writes
    def item(self, event: ChangeEvent, logged: datetime | None = None) -> ChangeItem:
        """The log item of ``event``, logged now (or at ``logged``)."""
        logged = logged or utcnow()
        logged_at = iso(logged) or ""
        kind = event.type.value
        shard = shard_of(event.id)
        expires = logged + timedelta(days=self.settings.changes_retention_days)
        return ChangeItem(
            owner_key(event.supplier_id, event.job_id, shard),
            f"{kind}#{event.id}",
            id=event.id,
            event=event.model_dump_json(),
            type=kind,
            supplier_id=event.supplier_id,
            job_id=event.job_id,
            logged_at=logged_at,
            log_sort=f"{logged_at}#{event.id}",
            expires_at=int(expires.timestamp()),
            feed=f"{logged_at[:10]}#{shard}",
        )

    @staticmethod
    def log_connection() -> Connection:
        """The log's own client (one HTTP attempt per call, ``ChangeItem.Meta``'s timeouts), for a
        transaction that logs an event: an attempt of it lands within ``LOG_WRITE_BOUND_MS`` of
        taking the event's position, provided the caller takes the position (``item``) at each
        attempt. The shared client's own retries would resend one position for up to tens of
        seconds, past the hold-back."""
        return ChangeItem._get_connection().connection

    @staticmethod
    def put_condition() -> Any:
        """The condition every log write carries: no item of this event yet."""
        return ChangeItem.pk.does_not_exist()

    def record(self, events: Iterable[ChangeEvent]) -> list[str]:
        """Log each event once; the ids newly written (an id already logged is skipped: it is the
        same change, delivered again)."""
        written = []
        for event in events:
            try:
                call_with_retries(lambda: self._put(event), what="log a change")  # noqa: B023
            except PutError as exc:
                if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                    continue
                raise
            written.append(event.id)
        return written

    def _put(self, event: ChangeEvent) -> None:
        """One attempt: the event's position (``logged_at``) is taken now, at this attempt, so the
        time from taking it to the item being in the log is one request of the log's own client,
        never the retries before it (``LOG_WRITE_BOUND_MS``)."""
        self.item(event).save(condition=self.put_condition())

    # ------------------------------------------------------------------ reads
    def list(
        self,
        filters: dict[str, str],
        limit: int,
        since: str | None = None,
        next_token: str | None = None,
    ) -> tuple[list[ChangeEvent], Cursor | None]:
        """The events matching ``filters`` (any of supplier_id, type, job_id), oldest first, from
        ``next_token`` or else from ``since`` (an ISO time; default: the whole retention window).

        Each day of the log is its ``SHARDS`` partitions of ``ChangesFeed``; a page reads each from
        where the cursor left off, at most ``limit`` items each, and answers the events up to the
        first shard that stopped short (or to the settle time when none did), so no event of a
        shard read less far is passed over. The cursor is returned whenever the page holds an
        event, also at the end of the log, so that a follower polls with it for what comes next,
        and when the read passed over events that did not match the filters; a page with nothing
        new has none (the list is complete for now)."""
        scope = changes_scope(filters)
        start = decode_cursor(next_token, scope, ChangesPosition)
        now = utcnow()
        settled = iso(now - timedelta(milliseconds=self.settings.changes_settle_ms)) or ""
        # Keys "<logged_at>#<id>" up to ``settled`` (inclusive) are those logged before the settle
        # time. A cursor is exclusive: the least key above it is the cursor and a NUL.
        lower = start.log_sort + "\0" if start else (_since_key(since) if since else "")
        found, reached = _read(lower, settled, _filter(filters), limit, now, self.settings.changes_retention_days)
        events = [ChangeEvent.model_validate_json(i.event) for i in found]
        sent = fit_page([e.model_dump(mode="json") for e in events])
        if sent < len(events):
            events, reached = events[:sent], str(found[sent - 1].log_sort)
        if not events and (reached is None or reached == settled):
            # Nothing (new): no cursor, so a client paging "until no X-Next-Token" stops here; a
            # follower keeps the cursor it has and polls with it again.
            return [], None
        return events, Cursor(scope, ChangesPosition(log_sort=reached or settled))

    def counts_for_job(self, job_id: str) -> dict[str, int]:
        """How many events of each type a job produced: its own partitions, keys only."""
        counts: dict[str, int] = {}
        for shard in range(SHARDS):
            key = f"{job_id}#{shard}"

            def read(key: str = key) -> list[str]:
                return [str(i.sk) for i in ChangeItem.query(key, attributes_to_get=["pk", "sk"])]

            for sk in call_with_retries(read, what="count a job's changes"):
                kind = sk.split("#", 1)[0]
                counts[kind] = counts.get(kind, 0) + 1
        return dict(sorted(counts.items()))


def _read(
    lower: str, settled: str, condition: Any, limit: int, now: datetime, retention_days: int
) -> tuple[list[Any], str | None]:
    """The items from ``lower`` to ``settled``, day by day, at most ``limit``, and how far the
    read got (every event up to it is in the items; None: nothing was read)."""
    oldest = (now - timedelta(days=retention_days + 1)).date()
    day = max(date.fromisoformat(lower[:10]), oldest) if lower else oldest
    found: list[Any] = []
    reached: str | None = None
    while day <= now.date() and lower <= settled and len(found) < limit:
        items, bound = _read_day(day, lower, settled, condition, limit - len(found))
        found += items
        if bound is not None:
            return found, bound
        reached = min(settled, f"{day.isoformat()}T99")  # this day read to its end (or to the settle time)
        day += timedelta(days=1)
    return found, reached


def _read_day(day: date, lower: str, settled: str, condition: Any, room: int) -> tuple[list[Any], str | None]:
    """One day's events across its shards in log order, at most ``room``, and where the page must
    stop: the first shard that stopped short (None: the day was read to its end)."""
    pages = [_read_shard(f"{day.isoformat()}#{s}", lower, settled, condition, room) for s in range(SHARDS)]
    cuts = [p.cut for p in pages if p.cut is not None]
    bound = min(cuts) if cuts else None
    items = sorted(
        (i for p in pages for i in p.items if bound is None or str(i.log_sort) <= bound),
        key=lambda i: str(i.log_sort),
    )
    if len(items) > room:
        items, bound = items[:room], str(items[room - 1].log_sort)
    return items, bound


def _filter(filters: dict[str, str]) -> Any:
    """The filters as a condition on the index's copy of the item (None: every event)."""
    condition = None
    for name, attr in (
        ("supplier_id", ChangeItem.supplier_id),
        ("type", ChangeItem.type),
        ("job_id", ChangeItem.job_id),
    ):
        if name in filters:
            term = attr == filters[name]
            condition = term if condition is None else condition & term
    return condition


def _read_shard(partition: str, lower: str, settled: str, condition: Any, limit: int) -> _ShardPage:
    """One Query of one feed partition: from ``lower`` (inclusive) to ``settled``, at most ``limit``
    items evaluated. ``cut`` is where it stopped when there may be more."""
    sort = ChangeItem.log_sort
    key_condition = sort.between(lower, settled) if lower else sort <= settled

    def read() -> tuple[list[Any], str | None]:  # the log's client makes one attempt per call: retried here
        query = ChangeItem.feed_index.query(
            partition, key_condition, filter_condition=condition, page_size=limit, scan_index_forward=True
        )
        page = next(query.page_iter)
        items = [ChangeItem.from_raw_data(raw) for raw in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return items, (last["log_sort"]["S"] if last else None)

    items, cut = call_with_retries(read, what="read the change log")
    return _ShardPage(items, cut)


def _since_key(since: str) -> str:
    """The lowest sort key at or after ``since`` (normalised like every logged time)."""
    parsed = parse_iso(since)
    return iso(parsed) or since if parsed else since
