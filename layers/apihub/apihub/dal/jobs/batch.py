"""A batch of outcomes on its way into the jobs table: the outcomes, what recording them achieved,
and the plan of each transaction (``plan``), built again after every cancellation from what the
cancellations taught (``Attempt``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apihub.dal.jobs.keys import outcome_group, sku_label
from apihub.dal.jobs.writes import StoredState, error_text
from apihub.dal.tables import JobItem
from apihub.models import iso, utcnow


@dataclass
class Outcome:
    """One product's result within a hydrate batch."""

    sku: str
    error: str | None = None  # None: success
    product: Any = None  # apihub.models.Product (or Inventory, for a mode that fetches stock) on success
    message_id: str = ""
    # When the outcome was made: right after the supplier answered (``Outcome(product=fetch())``).
    # An inventory write keeps it as ``as_of``, the time its stock was read.
    fetched_at: str | None = field(default_factory=lambda: iso(utcnow()))

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class RecordResult:
    recorded: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    job_terminal: bool = False
    products_written: int = 0
    unstorable: list[str] = field(default_factory=list)  # successes recorded as failed: could not be stored


@dataclass
class Batch:
    """What one ``record_outcomes`` call knows across its transactions."""

    job: JobItem
    stored: dict[str, StoredState]  # as read; re-read for products a transaction found changed
    writes: dict[str, Any]  # ProductWrite or InventoryWrite, by SKU
    now: str
    counts_products: bool = True  # False for stock: an inventory item is not a new product
    # The job's outcome groups (``JobItem.outcome_groups``); None: a job listed before groups
    # existed, whose outcomes are one conditional ``OutcomeItem`` each.
    groups: int | None = None
    result: RecordResult = field(default_factory=RecordResult)
    committed: set[str] = field(default_factory=set)  # S3 bodies now pointed at
    replaced: set[str] = field(default_factory=set)  # S3 bodies no longer pointed at


@dataclass
class Attempt:
    """One chunk's pending outcomes, and what earlier cancellations taught about them."""

    pending: list[Outcome]
    count_products: bool = True  # False once the supplier item is gone (or cannot take the ADD)
    keep_errors: bool = True  # False once the job item cannot take more errors (400 KB)


@dataclass
class Plan:
    """One transaction, and what each of its items stands for (in request order, so a
    cancellation's reasons can be matched to them)."""

    pending: list[Outcome]
    writes: list[tuple[Outcome, Any]]  # items (ProductWrite, InventoryWrite) whose content changed
    # (kind, what): ("group", its number), ("detail" | "outcome" | "product", the Outcome),
    # ("job" | "supplier", None)
    ops: list[tuple[str, Any]]
    new_errors: list[dict[str, str]]
    new_products: int
    stored: dict[str, StoredState]  # the product writes' conditions
    keep_errors: bool
    groups: dict[int, list[Outcome]] = field(default_factory=dict)  # the outcome groups it adds to


def plan(batch: Batch, attempt: Attempt) -> Plan:
    """The next transaction for ``attempt``: its outcome items, the product writes still needed
    (the stored content may have changed since the batch read it), the job and supplier updates."""
    pending, stored = attempt.pending, batch.stored
    writes = []
    for o in pending:
        write = batch.writes.get(o.sku) if o.ok else None
        known = stored.get(o.sku)
        if write is not None and write.needed(known):  # e.g. stock: not over a newer read
            writes.append((o, write))
    # In the order PynamoDB sends them (``TransactWrite``: puts, then updates), which is the
    # order of the cancellation's reasons.
    groups: dict[int, list[Outcome]] = {}
    if batch.groups is None:  # a job from before groups: one conditional outcome item each
        ops: list[tuple[str, Any]] = [("outcome", o) for o in pending]
    else:  # the detail of each failure (for /errors), and one conditional update per group
        for o in pending:
            groups.setdefault(outcome_group(o.sku, batch.groups), []).append(o)
        ops = [("detail", o) for o in pending if not o.ok]
    ops += [("product", o) for o, _ in writes]
    ops += [("group", number) for number in groups]
    ops.append(("job", None))
    new_products = sum(1 for o, _ in writes if o.sku not in stored) if attempt.count_products else 0
    if new_products:
        ops.append(("supplier", None))
    new_errors = [{"sku": sku_label(o.sku), "error": error_text(o)} for o in pending if not o.ok]
    return Plan(pending, writes, ops, new_errors, new_products, dict(stored), attempt.keep_errors, groups)


def note_committed(batch: Batch, plan: Plan) -> None:
    """Account for a committed transaction: what it recorded, and which S3 bodies it pointed at or
    left behind."""
    batch.result.recorded += [o.sku for o in plan.pending]
    batch.result.products_written += len(plan.writes)
    for o, write in plan.writes:
        if write.body_ref:
            batch.committed.add(write.body_ref)
        old = plan.stored.get(o.sku)
        if old is not None and old.body_ref and old.body_ref != write.body_ref:
            batch.replaced.add(old.body_ref)
    if plan.new_errors and plan.keep_errors:
        batch.job.errors = (batch.job.errors or []) + plan.new_errors
