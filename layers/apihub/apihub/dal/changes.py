"""The change log (``ChangesTable``): one item per change event, written once, read as a feed.

Writes: ``record`` puts each event conditional on its id not existing yet, so a redelivered stream
record or a retried transaction never writes a second item (DESIGN.md invariant 9); ``put_action``
gives the same item to a transaction of another module (``job.finished`` is logged in the
transaction that ends the job). Each item carries ``event`` = ``ChangeEvent.model_dump_json()``;
the table's stream (NEW_IMAGE) feeds EventBridge and webhooks. Items expire after
``changes_retention_days`` (TTL on ``expires_at``).

Reads: ``list`` serves ``GET /api/changes`` oldest first, by the order events entered the log
(``log_sort`` = ``<logged_at>#<id>``), with one Query per index partition (``CHANGE_INDEXES``), never
a Scan; the last ``changes_settle_ms`` of the log are left for the next poll so that an event
logged a moment late is never skipped by a cursor already past it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from apihub.changes.events import ChangeEvent, EventType
from apihub.dal.retries import call_with_retries
from apihub.dal.tables import CHANGE_INDEXES, ChangeItem, bind_tables
from apihub.models import iso, parse_iso, utcnow
from apihub.pagination import Cursor, KeyString, Position, decode_cursor, fit_page
from apihub.settings import Settings, get_settings


class ChangesPosition(Position):
    """Where the feed resumes: the index partition being read and the last event sent."""

    partition: KeyString
    log_sort: KeyString


def changes_scope(filters: dict[str, str]) -> str:
    """The list a cursor belongs to: ``changes`` and its filters (``since`` is not one: the
    cursor replaces it)."""
    return "changes?" + "&".join(f"{k}={filters[k]}" for k in sorted(filters))


class ChangesRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        bind_tables(self.settings)

    # ------------------------------------------------------------------ writes
    def item(self, event: ChangeEvent, logged: datetime | None = None) -> ChangeItem:
        """The log item of ``event``, logged now (or at ``logged``)."""
        logged = logged or utcnow()
        logged_at = iso(logged) or ""
        day = logged_at[:10]
        kind = event.type.value
        expires = logged + timedelta(days=self.settings.changes_retention_days)
        return ChangeItem(
            event.id,
            event=event.model_dump_json(),
            type=kind,
            supplier_id=event.supplier_id,
            job_id=event.job_id,
            logged_at=logged_at,
            log_sort=f"{logged_at}#{event.id}",
            expires_at=int(expires.timestamp()),
            gsi_all=day,
            gsi_supplier=f"{event.supplier_id}#{day}",
            gsi_type=f"{kind}#{day}",
            gsi_supplier_type=f"{event.supplier_id}#{kind}#{day}",
            gsi_job=event.job_id,
            gsi_job_type=f"{event.job_id}#{kind}" if event.job_id else None,
        )

    @staticmethod
    def put_condition() -> Any:
        """The condition every log write carries: no item of this event id yet."""
        return ChangeItem.id.does_not_exist()

    def record(self, events: Iterable[ChangeEvent]) -> list[str]:
        """Log each event once; the ids newly written (an id already logged is skipped: it is the
        same change, delivered again)."""
        written = []
        for event in events:
            item = self.item(event)
            try:
                call_with_retries(lambda: item.save(condition=self.put_condition()), what="log a change")  # noqa: B023
            except PutError as exc:
                if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                    continue
                raise
            written.append(event.id)
        return written

    # ------------------------------------------------------------------ reads
    def list(
        self,
        filters: dict[str, str],
        limit: int,
        since: str | None = None,
        next_token: str | None = None,
    ) -> tuple[list[ChangeEvent], Cursor | None]:
        """The events matching ``filters`` (any of supplier_id, type; or job_id with or without
        type), oldest first, from ``next_token`` or else from ``since`` (an ISO time; default: the
        whole retention window). The cursor is returned whenever the page holds an event, also at
        the end of the log, so that a follower polls with it for what comes next; an empty page
        has none (the list is complete for now)."""
        scope = changes_scope(filters)
        index_name, _ = CHANGE_INDEXES[frozenset(filters)]
        index = _index(index_name)
        start = decode_cursor(next_token, scope, ChangesPosition)
        now = utcnow()
        settled = iso(now - timedelta(milliseconds=self.settings.changes_settle_ms)) or ""
        found: list[tuple[str, str, ChangeEvent]] = []  # (partition, log_sort, event)
        for number, partition in enumerate(self._partitions(filters, since, start, now)):
            resume = start.log_sort if start is not None and number == 0 else None
            lower = resume or (_since_key(since) if since else "")
            for item in _query(index, partition, lower, resume is not None, settled, limit - len(found)):
                found.append((partition, str(item.log_sort), ChangeEvent.model_validate_json(item.event)))
            if len(found) >= limit:
                break
        sent = fit_page([e.model_dump(mode="json") for _, _, e in found])
        found = found[:sent]
        if not found:
            # Nothing (new): no cursor, so a client paging "until no X-Next-Token" stops here; a
            # follower keeps the cursor it has and polls with it again.
            return [], None
        partition, log_sort, _ = found[-1]
        return [e for _, _, e in found], Cursor(scope, ChangesPosition(partition=partition, log_sort=log_sort))

    def counts_for_job(self, job_id: str) -> dict[str, int]:
        """How many events of each type a job produced (one COUNT query per type)."""
        index = _index(CHANGE_INDEXES[frozenset({"job_id", "type"})][0])
        counts = {}
        for kind in EventType:
            n = index.count(f"{job_id}#{kind.value}")
            if n:
                counts[kind.value] = n
        return counts

    # ------------------------------------------------------------------ helpers
    def _partitions(
        self, filters: dict[str, str], since: str | None, start: ChangesPosition | None, now: datetime
    ) -> Iterator[str]:
        """The index partitions to read, oldest first, from the cursor's (or ``since``'s) on."""
        if "job_id" in filters:
            key = filters["job_id"] + (f"#{filters['type']}" if "type" in filters else "")
            yield key
            return
        prefix = "#".join(filters[k] for k in ("supplier_id", "type") if k in filters)
        prefix = f"{prefix}#" if prefix else ""
        oldest = now - timedelta(days=self.settings.changes_retention_days + 1)
        if start is not None:
            first = _day_of(start.partition)
        elif since:
            first = max(parse_iso(since) or oldest, oldest)
        else:
            first = oldest
        day = first.astimezone(UTC).date()
        while day <= now.date():
            yield f"{prefix}{day.isoformat()}"
            day += timedelta(days=1)


def _index(name: str) -> Any:
    """The PynamoDB index object named ``name`` (``idx_<key>`` for hash key ``gsi_<key>``)."""
    hash_attr = next(attr for index_name, attr in CHANGE_INDEXES.values() if index_name == name)
    return getattr(ChangeItem, "idx_" + hash_attr.removeprefix("gsi_"))


def _query(index: Any, partition: str, lower: str, exclusive: bool, settled: str, limit: int) -> list[Any]:
    """Up to ``limit`` items of one partition, oldest first, from ``lower`` (after it when
    ``exclusive``: the cursor's last event) up to the settle time."""
    if limit <= 0:
        return []
    sort = ChangeItem.log_sort
    upper = settled + "#"  # "<logged_at>#<id>" keys logged before the settle time sort below it
    condition = sort.between(lower, upper) if lower else sort < upper
    query = index.query(partition, condition, limit=limit + (1 if exclusive else 0), scan_index_forward=True)
    return [item for item in query if not (exclusive and item.log_sort == lower)][:limit]


def _since_key(since: str) -> str:
    """The lowest sort key at or after ``since`` (normalised like every logged time)."""
    parsed = parse_iso(since)
    return iso(parsed) or since if parsed else since


def _day_of(partition: str) -> datetime:
    return datetime.fromisoformat(partition.rsplit("#", 1)[-1]).replace(tzinfo=UTC)
