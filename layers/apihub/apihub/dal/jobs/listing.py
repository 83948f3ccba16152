"""Lists of jobs: newest first on the keys-only index of each filter combination, the per-job error
list on the sparse errors index, a job's failed SKUs, and the active jobs the sweeper reads. Queries
only, never a Scan. Pages end at ``limit`` items or at the response budget (``fit_page``), and their
cursors are sealed to the list they came from (``apihub.pagination``)."""

from __future__ import annotations

import builtins  # `list` is also a method here: signatures after it name builtins.list
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

from pydantic import StringConstraints
from pynamodb.exceptions import DoesNotExist, UpdateError

from apihub.dal.jobs.items import JobItems, new_item, to_model
from apihub.dal.jobs.keys import EPOCH_PK, EPOCH_SK, index_values, is_condition_failure, job_pk, outcome_sk
from apihub.dal.tables import JOB_LIST_INDEXES, JOB_SORT_KEY, EpochItem, JobItem, OutcomeItem
from apihub.errors import InvalidCursor
from apihub.models import JobError, JobStatus, SyncJob, utcnow
from apihub.pagination import Cursor, KeyString, Position, decode_cursor, fit_page

JobPk = Annotated[str, StringConstraints(pattern=r"^JOB#", max_length=1024)]
OutcomeSk = Annotated[str, StringConstraints(pattern=r"^PRODUCT#", max_length=1024)]


class JobsPosition(Position):
    """Where a job list resumes: the index partition (a month bucket, or the filters' value) and
    the last job sent (its table keys and index sort key); no job: the start of that partition."""

    b: KeyString
    k: tuple[JobPk, Literal["META"], KeyString] | None = None


class ErrorsPosition(Position):
    """Where a job's error list resumes: the sort key of the last outcome sent."""

    sk: OutcomeSk


@dataclass(frozen=True)
class _Hit:
    """One job found on a list index (keys only)."""

    bucket: str
    pk: str
    sk: str
    sort: str

    @property
    def position(self) -> JobsPosition:
        # pydantic checks that sk is a job item's "META"; mypy sees the str a hit holds.
        return JobsPosition(b=self.bucket, k=cast("tuple[str, Literal['META'], str]", (self.pk, self.sk, self.sort)))


def jobs_scope(filters: dict[str, str]) -> str:
    """The list a job-list cursor belongs to: the route and its filters."""
    return "sync-jobs?" + "&".join(f"{name}={filters[name]}" for name in sorted(filters))


def errors_scope(job_id: str) -> str:
    return f"sync-jobs/{job_id}/errors"


class JobListing(JobItems):
    def note_month(self, started_at: str) -> None:
        """Make sure the all-jobs listing walks back to this job's month bucket.

        The epoch item is shared by every job; it is written only when a job is older than every
        job before it (seeding history), not on each job creation: no transaction of a new job touches
        it, so concurrent creations never conflict on it (issue 12)."""
        month = started_at[:7]
        try:
            first = EpochItem.get(EPOCH_PK, EPOCH_SK, consistent_read=True).first_month
        except DoesNotExist:
            first = None
        if first is None or first > month:
            try:  # an older month moves the first month back; a newer one leaves it
                EpochItem(EPOCH_PK, EPOCH_SK).update(
                    actions=[EpochItem.first_month.set(month)],
                    condition=EpochItem.first_month.does_not_exist() | (EpochItem.first_month > month),
                )
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise

    def store_without_lock(self, job: SyncJob) -> None:
        """Store a job record as is, taking no lock (seeding history, benchmarks, tests)."""
        self.note_month(job.started_at)
        new_item(job).save(condition=JobItem.pk.does_not_exist())

    def list(
        self, filters: dict[str, str], limit: int, next_token: str | None = None
    ) -> tuple[list[SyncJob], Cursor | None]:
        """Newest first: exactly ``limit`` jobs whenever that many match, unless the page would pass
        the response budget; then it ends at the last job that fits and the cursor resumes after it.
        One Query per page on the index for this filter combination, then a BatchGet of the hits."""
        scope = jobs_scope(filters)
        hits, more = self._hits(filters, limit, decode_cursor(next_token, scope, JobsPosition))
        items = {(i.pk, i.sk): i for i in JobItem.batch_get([(h.pk, h.sk) for h in hits])} if hits else {}
        found = [(hit, to_model(items[(hit.pk, hit.sk)])) for hit in hits if (hit.pk, hit.sk) in items]
        sent = fit_page([job.model_dump(mode="json") for _, job in found])
        if sent < len(found):
            more = found[sent - 1][0].position
        return [job for _, job in found[:sent]], Cursor(scope, more) if more is not None else None

    def _hits(
        self, filters: dict[str, str], limit: int, start: JobsPosition | None
    ) -> tuple[builtins.list[_Hit], JobsPosition | None]:
        """Up to ``limit`` index hits after ``start``, and where the next page starts (``None``: no more)."""
        index_name, hash_attr = JOB_LIST_INDEXES[frozenset(filters)]
        index = next(i for i in JobItem._indexes.values() if i.Meta.index_name == index_name)
        buckets = self._buckets(filters, start)
        hits: list[_Hit] = []
        last_key = _start_key(hash_attr, start)
        for position, bucket in enumerate(buckets):
            while len(hits) < limit:
                query = index.query(
                    bucket,
                    scan_index_forward=False,
                    limit=limit - len(hits),
                    last_evaluated_key=last_key,
                    page_size=limit - len(hits),
                )
                hits += [_Hit(bucket, hit.pk, hit.sk, getattr(hit, JOB_SORT_KEY)) for hit in query]
                last_key = query.last_evaluated_key
                if not last_key:
                    break
            if len(hits) >= limit:
                if last_key:
                    return hits, hits[-1].position
                return hits, JobsPosition(b=buckets[position + 1]) if position + 1 < len(buckets) else None
            last_key = None
        return hits, None

    def _buckets(self, filters: dict[str, str], start: JobsPosition | None) -> builtins.list[str]:
        """The index partitions to read, from the cursor's on: the filters' one, or the month buckets."""
        if filters:
            buckets = [index_values(filters)]
        else:
            buckets = self._month_buckets()
        if start is None:
            return buckets
        if start.b not in buckets:  # signed by us, so a shape we no longer issue
            raise InvalidCursor("next_token: no longer valid (start again without it)")
        return buckets[buckets.index(start.b) :]

    def _month_buckets(self) -> builtins.list[str]:
        """The all-jobs index's month buckets, newest first, down to the first month that holds jobs."""
        try:
            first_month = EpochItem.get(EPOCH_PK, EPOCH_SK, consistent_read=True).first_month
        except DoesNotExist:
            return []
        if not first_month:
            return []
        now = utcnow()
        year, month = now.year, now.month
        buckets = []
        while True:
            bucket = f"JOBS#{year:04d}-{month:02d}"
            buckets.append(bucket)
            if bucket <= f"JOBS#{first_month}":
                break
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        return buckets

    def list_errors(
        self, job_id: str, limit: int, next_token: str | None = None
    ) -> tuple[builtins.list[JobError], Cursor | None]:
        """Every per-product error of a job (the sparse ``JobErrors`` index), paginated like ``list``."""
        scope = errors_scope(job_id)
        start = decode_cursor(next_token, scope, ErrorsPosition)
        last_key = {"err_job": {"S": job_id}, "sk": {"S": start.sk}, "pk": {"S": job_pk(job_id)}} if start else None
        query = OutcomeItem.errors_index.query(job_id, limit=limit, page_size=limit, last_evaluated_key=last_key)
        hits = [(hit.sk, JobError(sku=hit.sk.removeprefix("PRODUCT#"), error=hit.error or "")) for hit in query]
        sent = fit_page([error.model_dump() for _, error in hits])
        more = bool(hits) and (sent < len(hits) or query.last_evaluated_key is not None)
        cursor = Cursor(scope, ErrorsPosition(sk=hits[sent - 1][0])) if more else None
        return [error for _, error in hits[:sent]], cursor

    def failed_skus(self, job_id: str, limit: int | None = None) -> builtins.list[str]:
        """The failed SKUs of a job (at most ``limit``), from its outcome items with strongly
        consistent reads: the ``JobErrors`` index is eventually consistent, and right after a job
        ends it may still miss the failures recorded last (``retry?failed_only=true`` must not)."""
        query = OutcomeItem.query(
            job_pk(job_id),
            OutcomeItem.sk.startswith(outcome_sk("")),
            filter_condition=OutcomeItem.status == "failed",
            consistent_read=True,
        )
        skus: list[str] = []
        for hit in query:
            skus.append(hit.sk.removeprefix(outcome_sk("")))
            if limit is not None and len(skus) >= limit:
                break
        return skus

    def active_jobs(self, started_before: str | None = None) -> builtins.list[JobItem]:
        """Pending and running jobs (a Query per status on ``ByStatus``). ``started_before`` (ISO)
        skips jobs started since: their ``updated_at`` cannot be older than that."""
        out: list[JobItem] = []
        for status in (JobStatus.pending.value, JobStatus.running.value):
            cond = JobItem.gsi_sort < started_before if started_before else None
            keys = [(hit.pk, hit.sk) for hit in JobItem.idx_status.query(status, range_key_condition=cond)]
            out += list(JobItem.batch_get(keys)) if keys else []
        return out


def _start_key(hash_attr: str, start: JobsPosition | None) -> dict[str, Any] | None:
    """The index's ``ExclusiveStartKey`` for a position: built from checked strings only."""
    if start is None or start.k is None:
        return None
    pk, sk, sort = start.k
    return {"pk": {"S": pk}, "sk": {"S": sk}, hash_attr: {"S": start.b}, JOB_SORT_KEY: {"S": sort}}
