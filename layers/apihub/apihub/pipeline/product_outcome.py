"""What fetching one product means for its job: an outcome to record, a retry, or a failed job.

The adapter error classes of docs/architecture.md (Invariants: the adapter error classes) decide: ``ProductError`` fails the product,
``AuthError`` fails the job, ``TransientError`` retries by redelivery (and fails the product on the
message's last receive). ``Throttled`` and ``OutOfTime`` are not the product's fault: they leave
here unchanged and the batch hands the work on unspent, except that a first product which ran out
of a whole invocation's time is retried as transient (it costs a receive, so it ends).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apihub.dal.jobs import Outcome
from apihub.errors import (
    AdapterError,
    AuthError,
    NotFound,
    OutOfTime,
    ProductError,
    SupplierNotImportable,
    Throttled,
    TransientError,
)
from apihub.observability import logger


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome | None = None  # record this
    retry_hint: float | None = None  # no outcome and no failed job: retry (a Retry-After, if any)
    fail_job: str | None = None  # the whole job fails with this text


def product_outcome(fetch: Callable[[], Any], sku: str, receive_count: int, last_attempt: bool, first: bool) -> Verdict:
    """Fetch product ``sku`` (``fetch()``) and judge the result. ``first``: no other product was
    attempted in this invocation before it."""
    gave_up = f"gave up after {receive_count} attempts"
    try:
        try:
            return Verdict(outcome=Outcome(sku=sku, product=fetch()))
        except OutOfTime as exc:
            if not first:
                raise
            raise TransientError(f"supplier too slow for one invocation: {exc}") from None
    except ProductError as exc:
        return Verdict(outcome=Outcome(sku=sku, error=exc.describe()))
    except AuthError as exc:
        return Verdict(fail_job=f"{exc.describe()} (credentials rejected while hydrating {sku})")
    except (SupplierNotImportable, NotFound) as exc:
        return Verdict(fail_job=f"{type(exc).__name__}: {exc}")
    except TransientError as exc:
        if last_attempt:
            return Verdict(outcome=Outcome(sku=sku, error=f"{exc.describe()} ({gave_up})"))
        return Verdict(retry_hint=exc.retry_after)
    except AdapterError as exc:
        return Verdict(outcome=Outcome(sku=sku, error=exc.describe()))
    except (Throttled, OutOfTime):
        raise
    except Exception as exc:  # an adapter bug must not lose the product (invariant 2)
        logger.exception("unexpected error hydrating", extra={"sku": sku})
        if last_attempt:
            return Verdict(outcome=Outcome(sku=sku, error=f"InternalError: {type(exc).__name__} ({gave_up})"))
        return Verdict()
