"""Job items (``PK=JOB#<id>, SK=META``): reading them, and the base every jobs-table part shares."""

from __future__ import annotations

from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist

from apihub.dal.jobs.keys import META, job_pk, month_bucket, status_keys
from apihub.dal.tables import JobItem, bind_tables
from apihub.errors import JobNotFound
from apihub.models import DiscoveryMode, DiscoveryParams, JobError, JobStatus, SyncJob
from apihub.settings import Settings, get_settings


def to_model(item: JobItem) -> SyncJob:
    """The public shape of a stored job."""
    success, failed = int(item.success_count or 0), int(item.failed_count or 0)
    processed = item.records_processed
    return SyncJob(
        id=item.id,
        supplier_id=item.supplier_id,
        supplier_name=item.supplier_name,
        job_type=item.job_type,
        status=JobStatus(item.status),
        discovery_mode=DiscoveryMode(item.discovery_mode),
        total_products=int(item.total_products) if item.total_products is not None else None,
        success_count=success,
        failed_count=failed,
        records_processed=int(processed) if processed is not None else success + failed,
        errors=[JobError(sku=e["sku"], error=e["error"]) for e in (item.errors or [])],
        errors_truncated=bool(item.errors_truncated),
        error_log=item.error_log,
        started_at=item.started_at,
        completed_at=item.completed_at,
        updated_at=item.updated_at,
        retry_of=item.retry_of,
        params=DiscoveryParams.model_validate(item.params or {}),
        throttled_until=item.throttled_until,
    )


def new_item(job: SyncJob) -> JobItem:
    """The item of a new job, with every list index key it is found by."""
    status = job.status.value
    # dict[str, Any]: for mypy a dict of str could also fill Model.__init__'s `_user_instantiated: bool`.
    keys: dict[str, Any] = status_keys(job.supplier_id, job.job_type, status)
    return JobItem(
        job_pk(job.id),
        META,
        id=job.id,
        supplier_id=job.supplier_id,
        supplier_name=job.supplier_name,
        job_type=job.job_type,
        status=status,
        discovery_mode=job.discovery_mode.value,
        total_products=job.total_products,
        success_count=0,
        failed_count=0,
        errors=[],
        errors_truncated=False,
        started_at=job.started_at,
        updated_at=job.updated_at,
        retry_of=job.retry_of,
        params=job.params.model_dump(exclude_none=True),
        discovery={},
        discovery_complete=False,
        gsi_sort=f"{job.started_at}#{job.id}",
        gsi_all=month_bucket(job.started_at),
        gsi_type=job.job_type,
        gsi_supplier=job.supplier_id,
        gsi_supplier_type=f"{job.supplier_id}#{job.job_type}",
        **keys,
    )


class JobItems:
    """Settings, the bound connection, and reads of job items (every other part builds on these)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.conn: Connection = bind_tables(self.settings)

    def find_item(self, job_id: str) -> JobItem | None:
        try:
            return JobItem.get(job_pk(job_id), META, consistent_read=True)
        except DoesNotExist:
            return None

    def get_item(self, job_id: str) -> JobItem:
        item = self.find_item(job_id)
        if item is None:
            raise JobNotFound(job_id)
        return item

    def get(self, job_id: str) -> SyncJob:
        return to_model(self.get_item(job_id))
