"""Lists of jobs: newest first on the keys-only index of each filter combination, the per-job error
list on the sparse errors index, and the active jobs the sweeper reads. Queries only, never a Scan."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from apihub.dal.jobs.items import JobItems, new_item, to_model
from apihub.dal.jobs.keys import EPOCH_PK, EPOCH_SK, index_values, is_condition_failure
from apihub.dal.tables import JOB_LIST_INDEXES, EpochItem, JobItem, OutcomeItem
from apihub.errors import InvalidInput
from apihub.models import JobError, JobStatus, SyncJob, utcnow
from apihub.pagination import decode_cursor, encode_cursor


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
    ) -> tuple[list[SyncJob], str | None]:
        """Newest first; exactly ``limit`` jobs whenever that many match. One Query per page on the
        index for this filter combination, then a BatchGet of the (keys-only) hits."""
        index_name, _ = JOB_LIST_INDEXES[frozenset(filters)]
        index = next(i for i in JobItem._indexes.values() if i.Meta.index_name == index_name)
        state = decode_cursor(next_token) or {}
        if state and state.get("i") != index_name:
            raise InvalidInput("next_token: issued for a different filter combination")
        buckets = [index_values(filters)] if filters else self._month_buckets(state.get("b"))
        keys: list[tuple[str, str]] = []
        last_key = state.get("k")
        next_state: dict[str, Any] | None = None
        for position, bucket in enumerate(buckets):
            while len(keys) < limit:
                query = index.query(
                    bucket,
                    scan_index_forward=False,
                    limit=limit - len(keys),
                    last_evaluated_key=last_key,
                    page_size=limit - len(keys),
                )
                keys += [(hit.pk, hit.sk) for hit in query]
                last_key = query.last_evaluated_key
                if not last_key:
                    break
            if len(keys) >= limit:
                if last_key:
                    next_state = {"i": index_name, "b": bucket, "k": last_key}
                elif position + 1 < len(buckets):
                    next_state = {"i": index_name, "b": buckets[position + 1], "k": None}
                break
            last_key = None
        items = {(i.pk, i.sk): i for i in JobItem.batch_get(keys)} if keys else {}
        return [to_model(items[k]) for k in keys if k in items], encode_cursor(next_state)

    def _month_buckets(self, start: str | None) -> list[str]:
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
        if start and start in buckets:
            buckets = buckets[buckets.index(start) :]
        return buckets

    def list_errors(self, job_id: str, limit: int, next_token: str | None = None) -> tuple[list[JobError], str | None]:
        """Every per-product error of a job (the sparse ``JobErrors`` index), paginated."""
        state = decode_cursor(next_token) or {}
        query = OutcomeItem.errors_index.query(job_id, limit=limit, page_size=limit, last_evaluated_key=state.get("k"))
        errors = [JobError(sku=hit.sk.removeprefix("PRODUCT#"), error=hit.error or "") for hit in query]
        last = query.last_evaluated_key
        return errors, encode_cursor({"k": last} if last else None)

    def active_jobs(self, started_before: str | None = None) -> list[JobItem]:
        """Pending and running jobs (a Query per status on ``ByStatus``). ``started_before`` (ISO)
        skips jobs started since: their ``updated_at`` cannot be older than that."""
        out: list[JobItem] = []
        for status in (JobStatus.pending.value, JobStatus.running.value):
            cond = JobItem.gsi_sort < started_before if started_before else None
            keys = [(hit.pk, hit.sk) for hit in JobItem.idx_status.query(status, range_key_condition=cond)]
            out += list(JobItem.batch_get(keys)) if keys else []
        return out
