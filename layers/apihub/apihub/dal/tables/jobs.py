"""The jobs table (single-table, ``template.yaml`` JobsTable): job items, per-product outcome items,
import locks, discovery ref chunks, the rate limiter's slots and the live read's lease."""

from __future__ import annotations

from typing import cast

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

# --------------------------------------------------------------------------------------------------
# Jobs table (single-table: job items, per-product outcome items, import locks, discovery ref chunks)
# --------------------------------------------------------------------------------------------------

# Job list indexes: one per filter combination so that every combination is a plain Query that
# returns exactly ``limit`` items (no FilterExpression, whose Limit counts items before filtering).
# Keys only: counter updates on the job item do not touch any index; the list path BatchGets items.
JOB_LIST_INDEXES: dict[frozenset[str], tuple[str, str]] = {
    frozenset(): ("ByAll", "gsi_all"),
    frozenset({"status"}): ("ByStatus", "gsi_status"),
    frozenset({"job_type"}): ("ByType", "gsi_type"),
    frozenset({"supplier_id"}): ("BySupplier", "gsi_supplier"),
    frozenset({"status", "job_type"}): ("ByStatusType", "gsi_status_type"),
    frozenset({"supplier_id", "status"}): ("BySupplierStatus", "gsi_supplier_status"),
    frozenset({"supplier_id", "job_type"}): ("BySupplierType", "gsi_supplier_type"),
    frozenset({"supplier_id", "status", "job_type"}): ("BySupplierStatusType", "gsi_supplier_status_type"),
}
JOB_SORT_KEY = "gsi_sort"

# The casts on ListAttribute below: PynamoDB types a list's elements as the attribute class named by
# `of` (UnicodeAttribute), not the value it holds (str); a raw MapAttribute element reads as a dict
# (pynamodb/PynamoDB#1246).


def _job_index(index_name: str, hash_attr: str) -> GlobalSecondaryIndex[JobItem]:
    meta = type("Meta", (), {"index_name": index_name, "projection": KeysOnlyProjection()})
    attrs = {
        "Meta": meta,
        hash_attr: UnicodeAttribute(hash_key=True),
        JOB_SORT_KEY: UnicodeAttribute(range_key=True),
    }
    # The attribute names are data (JOB_LIST_INDEXES), so the class is built with type(), which mypy
    # types as a bare `type`: the cast names the class it builds.
    index_class = cast(
        "type[GlobalSecondaryIndex[JobItem]]", type(f"{index_name}Index", (GlobalSecondaryIndex,), attrs)
    )
    return index_class()


class JobErrorsIndex(GlobalSecondaryIndex["OutcomeItem"]):
    """Sparse: only failed outcome items carry ``err_job``."""

    class Meta:
        index_name = "JobErrors"
        projection = IncludeProjection(["error"])

    err_job = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class _JobsBase(Model):
    class Meta:
        table_name = "apihub-jobs"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class JobItem(_JobsBase):
    """``PK=JOB#<id>, SK=META``: the sync job itself."""

    id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    supplier_name = UnicodeAttribute()
    job_type = UnicodeAttribute()
    status = UnicodeAttribute()
    discovery_mode = UnicodeAttribute()
    total_products = NumberAttribute(null=True)
    success_count = NumberAttribute(default=0)
    failed_count = NumberAttribute(default=0)
    records_processed = NumberAttribute(null=True)
    errors = cast("ListAttribute[dict[str, str]]", ListAttribute(of=MapAttribute, default=list))  # {sku, error}
    errors_truncated = BooleanAttribute(default=False)
    error_log = UnicodeAttribute(null=True)
    started_at = UnicodeAttribute()
    completed_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    retry_of = UnicodeAttribute(null=True)
    params = JSONAttribute(default=dict)
    # Discovery progress: phase ("listing" | "fanout" | "done"), cursors, chunk counts.
    discovery = JSONAttribute(default=dict)
    discovery_version = NumberAttribute(default=0)
    discovery_complete = BooleanAttribute(default=False)
    throttled_until = UnicodeAttribute(null=True)
    # When work already scheduled for the job is next attempted (a redelivery's backoff, a
    # Retry-After, a delayed hand-on): the sweeper counts idleness from it (only ever moves later).
    next_attempt_at = UnicodeAttribute(null=True)
    # How many outcome groups (``OutcomeGroupItem``) the job's SKUs are spread over, set with
    # ``total_products`` when listing ends. Unset on a job listed before groups existed: its
    # outcomes stay one ``OutcomeItem`` each (``apihub.dal.jobs.outcomes``).
    outcome_groups = NumberAttribute(null=True)
    # Index keys (sparse: only job items carry them).
    gsi_sort = UnicodeAttribute()
    gsi_all = UnicodeAttribute()
    gsi_status = UnicodeAttribute()
    gsi_type = UnicodeAttribute()
    gsi_supplier = UnicodeAttribute()
    gsi_status_type = UnicodeAttribute()
    gsi_supplier_status = UnicodeAttribute()
    gsi_supplier_type = UnicodeAttribute()
    gsi_supplier_status_type = UnicodeAttribute()
    # One keys-only index per filter combination (see JOB_LIST_INDEXES).
    idx_all = _job_index("ByAll", "gsi_all")
    idx_status = _job_index("ByStatus", "gsi_status")
    idx_type = _job_index("ByType", "gsi_type")
    idx_supplier = _job_index("BySupplier", "gsi_supplier")
    idx_status_type = _job_index("ByStatusType", "gsi_status_type")
    idx_supplier_status = _job_index("BySupplierStatus", "gsi_supplier_status")
    idx_supplier_type = _job_index("BySupplierType", "gsi_supplier_type")
    idx_supplier_status_type = _job_index("BySupplierStatusType", "gsi_supplier_status_type")


class OutcomeItem(_JobsBase):
    """``PK=JOB#<id>, SK=PRODUCT#<sku>``: a failed product's detail (its error, for ``/errors``
    through the sparse ``JobErrors`` index), written in the transaction that records it in its
    ``OutcomeGroupItem``. On a job without ``outcome_groups``: one per product, success or
    failure, written only if absent (that job's exactly-once record)."""

    status = UnicodeAttribute()  # "success" | "failed"
    error = UnicodeAttribute(null=True)
    err_job = UnicodeAttribute(null=True)
    recorded_at = UnicodeAttribute()
    errors_index = JobErrorsIndex()


class OutcomeGroupItem(_JobsBase):
    """``PK=JOB#<id>, SK=OUTCOMES#<n>``: every SKU of group ``n`` (``keys.outcome_group``) the
    job has recorded, success or failure (``skus``), and the failed ones (``failed``). A SKU is
    added with ``ADD`` under the condition that it is not in ``skus`` yet, in the transaction that
    counts it: invariant 1's record (``apihub.dal.jobs.outcomes``). Tens of SKUs, well under 1 KB."""

    skus = UnicodeSetAttribute(default=set)
    failed = UnicodeSetAttribute(default=set)


class LockItem(_JobsBase):
    """``PK=LOCK#<supplier>#<mode>, SK=LOCK``: one import per supplier and mode."""

    job_id = UnicodeAttribute()
    acquired_at = UnicodeAttribute()


class EpochItem(_JobsBase):
    """``PK=META#JOBS, SK=EPOCH``: the first month holding jobs (the all-jobs listing stops there)."""

    first_month = UnicodeAttribute(null=True)


class RateSlotItem(_JobsBase):
    """``PK=RATE#<supplier>, SK=SLOT#<k>``: one of the supplier's ``max_concurrency`` call slots,
    leased by one worker at a time, carrying that slot's share of the token bucket."""

    holder = UnicodeAttribute(null=True)
    expires_ms = NumberAttribute(null=True)
    tokens = NumberAttribute(null=True)
    refilled_ms = NumberAttribute(null=True)


class RatePenaltyItem(_JobsBase):
    """``PK=RATE#<supplier>, SK=PENALTY``: the supplier said 429 — run slower until ``until_ms``."""

    until_ms = NumberAttribute(default=0)
    factor = NumberAttribute(default=1)


class DiscontinueItem(_JobsBase):
    """``PK=JOB#<id>, SK=DISCONTINUE``: the discontinuation pass of a complete full_sellable job,
    written in the transaction that ends it. ``cursor``: the last product id done (the pass pages
    through the supplier's products across invocations). While pending it carries
    ``gsi_status=discontinue`` (the sparse ByStatus index), so the sweeper finds a lost one."""

    job_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    job_started_at = UnicodeAttribute()
    discontinued_at = UnicodeAttribute()  # the job's completed_at: the time every product it discontinues gets
    cursor = UnicodeAttribute(null=True)
    discontinued = NumberAttribute(default=0)
    done_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    gsi_status = UnicodeAttribute(null=True)
    gsi_sort = UnicodeAttribute(null=True)


class HandoffItem(_JobsBase):
    """``PK=JOB#<id>, SK=HANDOFF#<SQS message id>``: the SKUs copies of that hydrate message have
    handed on as fresh messages (written after each send), so a duplicate copy hands on only the rest."""

    skus = UnicodeSetAttribute(default=set)


class LiveReadItem(_JobsBase):
    """``PK=INVREAD#<supplier>#<product>, SK=READ``: the live stock read's single-flight lease
    (``holder`` until ``expires_ms``) and the last read's result (apihub.dal.inventory)."""

    holder = UnicodeAttribute(null=True)
    expires_ms = NumberAttribute(null=True)
    confirmed_at = UnicodeAttribute(null=True)
    finished_ms = NumberAttribute(null=True)
    failure = UnicodeAttribute(null=True)
    retry_after = NumberAttribute(null=True)


class RefsChunkItem(_JobsBase):
    """``PK=JOB#<id>, SK=REFS#<n>``: discovered SKUs persisted so fan-out can resume after a restart."""

    skus = cast("ListAttribute[str]", ListAttribute(of=UnicodeAttribute))
