"""Keys and shared constants of the jobs table (single-table: job, outcome, lock, ref chunk, hand-off,
epoch items), and how a cancelled transaction names what failed."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import TransactWriteError

from apihub.dal.sizes import SORT_KEY_MAX, utf8_len
from apihub.modes.table import mode_spec

META = "META"
EPOCH_PK = "META#JOBS"
EPOCH_SK = "EPOCH"
# DynamoDB allows 100 items per transaction: a product's outcome, its write when its content
# changed, and the job and supplier updates (2) share them. The bytes are budgeted too
# (``writes.chunked``).
ITEMS_PER_TRANSACTION = 100
# What is left of them for the outcomes and the products they write (``writes.chunked`` cuts by it).
OUTCOME_ITEMS_PER_TRANSACTION = ITEMS_PER_TRANSACTION - 2
# How many outcomes make a commit due is the job's fetch kind's (``FetchKind.outcomes_per_commit``).
ERROR_TEXT_MAX = 1000  # UTF-8 bytes of an error text, on the outcome item and the job item
OUTCOME_PREFIX = "PRODUCT#"
# The longest SKU stored under its own name: the outcome key ``PRODUCT#<sku>`` must fit a sort key
# (1,024 bytes). The products table's key (the SKU alone) then fits as well.
SKU_MAX_BYTES = SORT_KEY_MAX - len(OUTCOME_PREFIX)


# Outcome groups (``OutcomeGroupItem``, ``PK=JOB#<id>, SK=OUTCOMES#<n>``): a job's SKUs are spread
# over groups by a hash, as many groups as keep each one near ``GROUP_TARGET_BYTES`` of SKUs. A
# write costs 1 WRU per KB of the item (the larger of before and after), so an item under 1 KB
# costs the least a write can; 500 bytes leaves room for the spread of a hash (a group twice the
# mean is still under 1 KB).
GROUP_PREFIX = "OUTCOMES#"
GROUP_TARGET_BYTES = 500


# The discontinuation pass of a complete full_sellable job (apihub.pipeline.discontinue): its marker
# item, and the ByStatus key it carries while pending (the index is sparse; jobs never have it).
DISCONTINUE_SK = "DISCONTINUE"
DISCONTINUE_PENDING = "discontinue"


def job_pk(job_id: str) -> str:
    return f"JOB#{job_id}"


def lock_pk(supplier_id: str, mode: str) -> str:
    """The import lock of a supplier and mode: the mode's ``lock_key`` (``modes.table``)."""
    return f"LOCK#{supplier_id}#{mode_spec(mode).lock_key}"


def sku_fits(sku: str) -> bool:
    """Whether this SKU can be a key (outcome and product); longer ones fail (``writes.prepare``)."""
    return 0 < utf8_len(sku) <= SKU_MAX_BYTES


def sku_label(sku: str) -> str:
    """How an outcome names its SKU: the SKU itself, or ``sha256:<hex>`` when it is too long to be
    a key (a collision would need a supplier SKU equal to the SHA-256 of another SKU of the job)."""
    if utf8_len(sku) <= SKU_MAX_BYTES:
        return sku
    return "sha256:" + hashlib.sha256(sku.encode("utf-8")).hexdigest()


def outcome_sk(sku: str) -> str:
    """``PRODUCT#<sku>``; a SKU too long for a key gets its outcome (exactly once, like any other)
    under its ``sku_label``."""
    return OUTCOME_PREFIX + sku_label(sku)


def group_member(sku: str) -> str:
    """How a SKU is held in its group's string sets: its ``sku_label`` (a set cannot hold an
    empty string, so an empty SKU is held as the SHA-256 of nothing, like an over-long one)."""
    return sku_label(sku) if sku else "sha256:" + hashlib.sha256(b"").hexdigest()


def outcome_group(sku: str, groups: int) -> int:
    """The group (0 .. groups-1) a SKU's outcome is recorded in: a function of the SKU alone, so
    every copy of every message carrying it (duplicates, re-sent fan-outs, hand-ons) and every
    reader agree on it, whatever message brought it."""
    digest = hashlib.sha256(group_member(sku).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % max(1, groups)


def groups_for(skus: Iterable[str]) -> int:
    """How many outcome groups a job of these SKUs gets (``GROUP_TARGET_BYTES`` of SKUs each)."""
    total = sum(utf8_len(group_member(s)) + 1 for s in skus)
    return max(1, math.ceil(total / GROUP_TARGET_BYTES))


def outcome_groups_of(job: Any) -> int | None:
    """A job item's ``outcome_groups``; None for a job listed before groups existed (its outcomes
    are one ``OutcomeItem`` each)."""
    return int(job.outcome_groups) if job.outcome_groups else None


def group_sk(number: int) -> str:
    return f"{GROUP_PREFIX}{number:06d}"


def ref_chunk_sk(number: int) -> str:
    return f"REFS#{number:06d}"


def month_bucket(started_at: str) -> str:
    return f"JOBS#{started_at[:7]}"


def status_keys(supplier_id: str, job_type: str, status: str) -> dict[str, str]:
    """The GSI keys that depend on a job's status (they move with every status change)."""
    return {
        "gsi_status": status,
        "gsi_status_type": f"{status}#{job_type}",
        "gsi_supplier_status": f"{supplier_id}#{status}",
        "gsi_supplier_status_type": f"{supplier_id}#{status}#{job_type}",
    }


def index_values(filters: dict[str, str]) -> str:
    """The hash-key value of the index serving this filter combination (see JOB_LIST_INDEXES)."""
    parts = [filters[k] for k in ("supplier_id", "status", "job_type") if k in filters]
    return "#".join(parts)


def cancel_codes(exc: TransactWriteError) -> list[str | None]:
    """The cancellation reason code of each item of a cancelled transaction, in request order."""
    return [r.code if r else None for r in (exc.cancellation_reasons or [])]


def cancel_messages(exc: TransactWriteError) -> list[str]:
    """The cancellation reason message of each item (empty where none), in request order."""
    return [(r.message or "") if r else "" for r in (exc.cancellation_reasons or [])]


def is_condition_failure(exc: Exception) -> bool:
    cause: object = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"
