"""Starting, retrying and patching sync jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from apihub.adapters.registry import is_known
from apihub.dal import queues
from apihub.dal.jobs import JobsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import InvalidInput, ServiceUnavailable, SupplierNotImportable
from apihub.jobs import rules
from apihub.models import (
    MAX_LIST_SKUS,
    DiscoveryMode,
    DiscoveryParams,
    ImportAccepted,
    ImportRequest,
    JobStatus,
    SyncJob,
    iso,
    sku_list_problem,
    sku_problem,
    utcnow,
)
from apihub.modes.table import ModeSpec, Param, mode_spec
from apihub.pipeline.messages import DiscoveryMessage
from apihub.supplier_models import Supplier


def _check_importable(supplier: Supplier) -> None:
    if not supplier.adapter_class:
        raise SupplierNotImportable(
            f"supplier '{supplier.name}' has no adapter_class set; configure one before importing"
        )
    if not is_known(supplier.adapter_class):
        raise SupplierNotImportable(f"supplier '{supplier.name}' has unknown adapter_class '{supplier.adapter_class}'")
    if not supplier.is_active:
        raise SupplierNotImportable(f"supplier '{supplier.name}' is inactive; activate it before importing")


def _enqueue(jobs: JobsRepository, job: SyncJob) -> None:
    jobs.create_with_lock(job)
    try:
        queues.send_discovery(DiscoveryMessage(job_id=job.id).model_dump())
    except Exception as exc:
        # Nothing will run this job: end it now (honest status, lock released) rather than leave
        # it pending for the sweeper.
        jobs.fail(job.id, f"EnqueueError: discovery queue unavailable ({type(exc).__name__})")
        raise ServiceUnavailable("discovery queue unavailable; the job was marked failed, try again") from exc


def new_job(
    supplier: Supplier,
    mode: DiscoveryMode,
    params: DiscoveryParams,
    retry_of: str | None = None,
    now: datetime | None = None,
) -> SyncJob:
    started = iso(now or utcnow()) or ""
    return SyncJob(
        id=str(uuid.uuid4()),
        supplier_id=supplier.id,
        supplier_name=supplier.name,
        job_type=mode.job_type,
        status=JobStatus.pending,
        discovery_mode=mode,
        started_at=started,
        updated_at=started,
        retry_of=retry_of,
        params=params,
    )


def _check_supported(supplier: Supplier, mode: DiscoveryMode) -> ModeSpec:
    """The mode's row, when the supplier's adapter supports the mode (422 naming ``mode`` otherwise)."""
    spec = mode_spec(mode)
    if not spec.supports(supplier.adapter_class):
        raise InvalidInput(
            f"mode: {mode.value} is not supported by supplier '{supplier.name}' "
            f"(adapter_class {supplier.adapter_class}; {spec.restriction()})"
        )
    return spec


def start_import(supplier_ref: str, request: ImportRequest, *, now: datetime | None = None) -> ImportAccepted:
    """A pending job (started ``now``, default the clock) with its lock, and its discovery message."""
    supplier = SuppliersRepository().get(supplier_ref)
    _check_importable(supplier)
    spec = _check_supported(supplier, request.mode)
    takes = {name for name, use in spec.params().items() if use is not Param.refused}
    params = DiscoveryParams(
        limit=request.limit if "limit" in takes else None,
        explicit_list=list(dict.fromkeys(request.explicit_list or [])) if "explicit_list" in takes else None,
    )
    job = new_job(supplier, request.mode, params, now=now)
    _enqueue(JobsRepository(), job)
    return ImportAccepted(sync_job_id=job.id, supplier_id=supplier.id, mode=request.mode, accepted_at=job.started_at)


def retry(job_id: str, failed_only: bool = False) -> SyncJob:
    """A new pending job with the original's type, supplier and discovery parameters (or, with
    ``failed_only``, an explicit_list of the original's failed SKUs). The original is untouched."""
    jobs = JobsRepository()
    original = jobs.get(job_id)
    supplier = SuppliersRepository().get(original.supplier_id)
    _check_importable(supplier)
    if failed_only:
        # The failures again, read the same way: a mode that takes a list (inventory) keeps its mode;
        # the catalog modes become an explicit_list import of those SKUs.
        keeps_mode = mode_spec(original.discovery_mode).explicit_list is not Param.refused
        mode = original.discovery_mode if keeps_mode else DiscoveryMode.explicit_list
        params = DiscoveryParams(explicit_list=_failed_skus(jobs, job_id))
    else:
        mode, params = original.discovery_mode, original.params
    _check_supported(supplier, mode)  # the supplier's adapter may have changed since
    job = new_job(supplier, mode, params, retry_of=original.id)
    _enqueue(jobs, job)
    return jobs.get(job.id)


def _failed_skus(jobs: JobsRepository, job_id: str) -> list[str]:
    """The job's failed SKUs as one explicit list, under the same caps as ``POST .../import``: past them
    a 422 (docs/decisions.md), not a job item DynamoDB would refuse."""
    # Strongly consistent, from the outcome items: the errors index may still lag right after the
    # job ended. Reading stops one past the cap: past it the answer is a 422 anyway.
    skus = jobs.failed_skus(job_id, limit=MAX_LIST_SKUS + 1)
    if not skus:
        raise InvalidInput("failed_only: the job has no failed products to retry")
    for sku in skus:
        if rule := sku_problem(sku):  # stored before the SKU rule existed
            raise InvalidInput(f"failed_only: failed SKU {sku[:64]!r}: {rule}")
    too_many = f"at most {MAX_LIST_SKUS} SKUs (the job has more failures)"
    problem = too_many if len(skus) > MAX_LIST_SKUS else sku_list_problem(skus)
    if problem:
        raise InvalidInput(
            f"failed_only: the job's failed SKUs do not fit one explicit_list job: {problem}; retry the whole "
            f"job, or import its failures (GET /api/sync-jobs/{job_id}/errors) as several explicit lists"
        )
    return skus


def patch(job_id: str, changes: dict[str, Any]) -> SyncJob:
    """PATCH /api/sync-jobs/{id}: a change ``rules.check_patch`` allows, written conditionally."""
    jobs = JobsRepository()
    item = jobs.get_item(job_id)
    new_status = rules.check_patch(job_id, JobStatus(item.status), changes)
    return jobs.apply_patch(item, new_status, changes)
