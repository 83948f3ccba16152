"""What a cancelled outcomes transaction says, and how the next attempt changes because of it.

DynamoDB reports an item it cannot store in one of two ways. An Update that would grow an item
past 400 KB cancels the transaction with a ``ValidationError`` reason on that item. What the
request itself shows (a Put over 400 KB, a key over 1,024 bytes, a transaction over 4 MB) is a
``ValidationException`` for the whole request, with no reasons: then the chunk is split in halves
until the one product at fault is alone (``whole_request_invalid``, ``isolate``). Either way that
product is recorded as failed with the reason and the others are committed (invariant 8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import TransactWriteError

from apihub.dal.jobs.batch import Attempt, Plan
from apihub.dal.jobs.keys import cancel_codes, cancel_messages
from apihub.dal.jobs.writes import fail

VALIDATION_REASON = "ValidationError"
VALIDATION_ERROR = "ValidationException"


@dataclass
class Lesson:
    job_ended: bool = False
    duplicates: list[str] = field(default_factory=list)  # SKUs whose outcome already existed
    stale: list[str] = field(default_factory=list)  # SKUs whose stored content changed since read
    # Outcome groups whose condition failed: some of the SKUs added to each were recorded already.
    # Which ones the cancellation does not say; a consistent read of the group does (``outcomes``).
    recheck: list[int] = field(default_factory=list)


def whole_request_invalid(exc: TransactWriteError) -> bool:
    return exc.cause_response_code == VALIDATION_ERROR and not cancel_codes(exc)


def learn(attempt: Attempt, plan: Plan, exc: TransactWriteError) -> Lesson:
    """Adjust ``attempt`` to what cancelled ``plan``; re-raises what it cannot act on."""
    if whole_request_invalid(exc):
        isolate(attempt, plan, exc)
        return Lesson()
    failed, invalid = _reasons(plan, exc)
    kinds = {kind for kind, _ in failed}
    if "job" in kinds:
        return Lesson(job_ended=True)  # the job ended (PATCH to failed, sweeper)
    if "supplier" in kinds:
        attempt.count_products = False  # supplier deleted mid-import: outcomes still count
    lesson = _lesson(failed)
    attempt.pending = [o for o in attempt.pending if o.sku not in lesson.duplicates]
    _refused(attempt, invalid, exc)
    return lesson


Op = tuple[str, Any]


def _reasons(plan: Plan, exc: TransactWriteError) -> tuple[list[Op], list[tuple[Op, str]]]:
    """The operations whose condition failed, and those DynamoDB refused with their messages.
    Re-raises ``exc`` when it names neither, nor a conflict to retry."""
    codes, messages = cancel_codes(exc), cancel_messages(exc)
    reasons = list(zip(plan.ops, codes, messages, strict=False))
    failed = [op for op, code, _ in reasons if code == "ConditionalCheckFailed"]
    invalid = [(op, message) for op, code, message in reasons if code == VALIDATION_REASON]
    if not codes or (not failed and not invalid and "TransactionConflict" not in codes):
        raise exc
    return failed, invalid


def _lesson(failed: list[Op]) -> Lesson:
    """What the failed conditions say: outcomes recorded already, products changed since read,
    outcome groups to read again."""
    return Lesson(
        duplicates=sorted({o.sku for kind, o in failed if kind == "outcome" and o is not None}),
        stale=[o.sku for kind, o in failed if kind == "product" and o is not None],
        recheck=[number for kind, number in failed if kind == "group"],
    )


def _refused(attempt: Attempt, invalid: list[tuple[Op, str]], exc: TransactWriteError) -> None:
    """Act on the items DynamoDB refused to store (``ValidationError`` reasons): a product's fails
    that product; the job item full keeps later errors behind /errors; the supplier's stops counting."""
    for (kind, o), message in invalid:
        if kind == "group":
            raise exc  # a group holds tens of short SKUs: nothing about one product to fail
        if kind == "job":
            attempt.keep_errors = False  # the job item is full: its errors stay behind /errors
        elif kind == "supplier":
            attempt.count_products = False
        elif o is not None:
            fail(o, f"ProductError: could not be stored ({message or 'invalid item'})")


def isolate(attempt: Attempt, plan: Plan, exc: TransactWriteError) -> None:
    """A one-product transaction DynamoDB refused as a whole: that product cannot be stored. Fail
    it (its outcome item is small and always fits); if it already was a failure, stop adding errors
    to the job item; past that, nothing is left to try."""
    (o,) = attempt.pending
    if o.ok:
        fail(o, f"ProductError: could not be stored ({exc.cause_response_message or 'invalid item'})")
    elif attempt.keep_errors and plan.new_errors:
        attempt.keep_errors = False
    else:
        raise exc
