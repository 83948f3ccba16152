"""Retrying DynamoDB (and SQS) calls that failed for contention, with a bound.

What botocore already does, and what this adds:

* Every client (boto3's in ``dal.clients``: standard mode, `max_attempts: 5`, which botocore counts as retries: 6 attempts; PynamoDB's: standard mode,
  4 attempts, PynamoDB's ``LEGACY`` retry setting) retries **each HTTP call** on its own: throttling
  codes (``ThrottlingException``, ``ProvisionedThroughputExceededException``, ``RequestLimitExceeded``,
  ...), HTTP 500/502/503/504 and connection errors, with jittered exponential backoff (up to 20 s)
  and a per-client retry quota. It does that for ``TransactWriteItems`` too.
* botocore never retries ``TransactionCanceledException``: a transaction cancelled because another
  transaction held one of its items (cancellation reason ``TransactionConflict``) reaches the caller
  at once, as does ``TransactionConflictException`` (a plain write that met a transaction). Both mean
  "nothing was written, try again", so :func:`call_with_retries` retries them, and it retries the
  throttling and 5xx errors again when botocore's own attempts ran out.
* A conditional failure (``ConditionalCheckFailedException``, or a cancellation with a
  ``ConditionalCheckFailed`` reason) is never retried here: it is an answer, and the caller decides
  what it means (already counted, lock taken, ...). The same holds for validation errors.
* At the bound (``aws_retry_max_attempts`` calls, or no time left in ``aws_retry_budget_ms``) it
  raises :class:`~apihub.errors.ServiceBusy`, which the API answers with 503 and ``Retry-After``.
  Between calls it sleeps with full jitter: ``uniform(0, min(cap, base * 2**n))`` (the AWS
  architecture blog's "Exponential Backoff And Jitter"), which spreads retrying contenders apart.

A 5xx leaves the outcome of a write unknown (it may have landed). Every write this service retries
is conditional or idempotent, so a repeat that finds its own first write answers with a conditional
failure, which the caller already reads as "done".
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException

from apihub.errors import ServiceBusy
from apihub.observability import logger
from apihub.settings import Settings, get_settings

T = TypeVar("T")

# The errors AWS calls raise: botocore's (boto3 clients) and PynamoDB's (which wrap botocore's).
AWS_ERRORS: tuple[type[Exception], ...] = (PynamoDBException, ClientError)

# Error codes worth another try: the service was contended or had a transient fault.
RETRYABLE_CODES = frozenset(
    {
        "TransactionConflictException",  # a plain write met a transaction on the same item
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",  # DynamoDB's 500
        "InternalFailure",
        "InternalError",  # SQS's 500
        "ServiceUnavailable",
        "RequestThrottled",  # SQS
    }
)
# Cancellation reasons of a transaction that mean "contended, nothing written" ...
RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
# ... and those that are answers for the caller, which win when both kinds are present.
FINAL_REASONS = frozenset({"ConditionalCheckFailed", "ItemCollectionSizeLimitExceeded", "ValidationError"})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry: ``base_s * 2**n`` capped at ``cap_s`` (full jitter), at most ``max_attempts``
    calls, and no new call once ``budget_s`` has passed since the first."""

    base_s: float = 0.025
    cap_s: float = 1.0
    max_attempts: int = 8
    budget_s: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> RetryPolicy:
        s = settings or get_settings()
        return cls(
            base_s=max(0, s.aws_retry_base_ms) / 1000,
            cap_s=max(0, s.aws_retry_cap_ms) / 1000,
            max_attempts=max(1, s.aws_retry_max_attempts),
            budget_s=max(0, s.aws_retry_budget_ms) / 1000,
        )

    def backoff(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """The pause before retry number ``retry`` (1 for the first): ``uniform(0, min(cap, base * 2**(retry-1)))``."""
        return rng() * min(self.cap_s, self.base_s * 2.0 ** (retry - 1))

    @property
    def retry_after_s(self) -> int:
        """What a caller is told to wait (whole seconds, at least one)."""
        return max(1, math.ceil(self.cap_s))


def _error_code_and_status(exc: BaseException) -> tuple[str | None, int | None]:
    """The AWS error code and HTTP status behind ``exc``: a botocore ``ClientError``, or a PynamoDB
    exception wrapping one (PynamoDB keeps the code on ``cause``, and the original botocore error,
    with its HTTP status, on the cause's ``__cause__``)."""
    code = getattr(exc, "cause_response_code", None)  # PynamoDB
    status: int | None = None
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 4:
        seen.append(current)
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            code = code or response.get("Error", {}).get("Code")
            status = status or response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        current = getattr(current, "cause", None) or current.__cause__
    return code, status


def retryable_reason(exc: BaseException) -> str | None:
    """Why ``exc`` is worth retrying (an AWS error code or cancellation reason), or ``None`` if it is not
    contention: conditional failures, validation errors and anything that is not an AWS error."""
    code, status = _error_code_and_status(exc)
    if code == "TransactionCanceledException":
        reasons = {r.code for r in getattr(exc, "cancellation_reasons", None) or [] if r is not None}
        if not reasons:  # a botocore ClientError (not PynamoDB): the reasons are in the response
            raw = getattr(exc, "response", {}).get("CancellationReasons") or []
            reasons = {r.get("Code") for r in raw if r.get("Code") not in (None, "None")}
        if reasons & FINAL_REASONS:
            return None
        hit = sorted(reasons & RETRYABLE_REASONS)
        return hit[0] if hit else None
    if code in RETRYABLE_CODES:
        return code
    if status is not None and status >= 500:
        return f"HTTP {status}"
    return None


def call_with_retries(
    fn: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
) -> T:
    """``fn()``, called again while it fails with contention (:func:`retryable_reason`), with jittered
    exponential pauses; any other error is raised at once, unchanged. ``what`` names the operation in
    logs and in the :class:`ServiceBusy` raised at the bound. ``sleep``, ``clock`` and ``rng`` are for
    tests (a fake clock)."""
    policy = policy or RetryPolicy.from_settings()
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:
            reason = retryable_reason(exc)
            if reason is None:
                raise
            pause = policy.backoff(attempt, rng)
            if attempt >= policy.max_attempts or clock() - started + pause > policy.budget_s:
                logger.warning(
                    "AWS stayed busy: giving up",
                    extra={"operation": what, "attempts": attempt, "reason": reason},
                )
                raise ServiceBusy(
                    f"{what}: AWS is busy ({reason} on {attempt} attempt(s)); try again",
                    retry_after_s=policy.retry_after_s,
                ) from exc
            logger.debug("AWS busy: retrying", extra={"operation": what, "attempt": attempt, "reason": reason})
            sleep(pause)
