"""apihub.dal.retries: contention is retried with full-jitter backoff up to a bound, then ServiceBusy;
answers (conditional failures) are raised at once. A fake clock: no test sleeps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from apihub.dal.retries import RetryPolicy, call_with_retries, retryable_reason
from apihub.errors import ServiceBusy
from botocore.exceptions import ClientError
from pynamodb.exceptions import CancellationReason, PutError, TransactWriteError, UpdateError, VerboseClientError


def _client_error(code: str, status: int = 400, op: str = "PutItem", **extra: Any) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}, **extra}, op
    )


def _pynamodb(kind: type, code: str, status: int = 400, reasons: list[str] | None = None) -> Exception:
    """What PynamoDB raises: its own error, caused by a VerboseClientError, caused by botocore's."""
    original = _client_error(code, status)
    verbose = VerboseClientError(
        {"Error": original.response["Error"]},
        "TransactWriteItems",
        cancellation_reasons=[None if r == "None" else CancellationReason(code=r) for r in reasons or []],
    )
    verbose.__cause__ = original
    return kind("failed", verbose)


def _conflict() -> Exception:
    return _pynamodb(TransactWriteError, "TransactionCanceledException", reasons=["None", "TransactionConflict"])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _failing(errors: list[Exception], result: str = "ok") -> tuple[Callable[[], str], list[int]]:
    calls = [0]

    def fn() -> str:
        calls[0] += 1
        if errors:
            raise errors.pop(0)
        return result

    return fn, calls


POLICY = RetryPolicy(base_s=0.1, cap_s=1.0, max_attempts=5, budget_s=60.0)


def test_a_conflict_then_success_returns_the_result() -> None:
    # Given a transaction cancelled once for a conflict, then accepted
    clock = FakeClock()
    fn, calls = _failing([_conflict()])
    # When it is called with retries
    result = call_with_retries(fn, what="record outcomes", policy=POLICY, sleep=clock.sleep, clock=clock)
    # Then the caller gets the result, after one pause
    assert result == "ok" and calls[0] == 2 and len(clock.sleeps) == 1


def test_a_conflict_that_never_ends_is_service_busy_after_max_attempts() -> None:
    clock = FakeClock()
    fn, calls = _failing([_conflict() for _ in range(100)])
    with pytest.raises(ServiceBusy) as info:
        call_with_retries(fn, what="record outcomes", policy=POLICY, sleep=clock.sleep, clock=clock)
    # Exactly max_attempts calls, a pause between each two, and a Retry-After for the caller
    assert calls[0] == POLICY.max_attempts and len(clock.sleeps) == POLICY.max_attempts - 1
    assert info.value.status_code == 503 and info.value.retry_after_s == 1
    assert "record outcomes" in info.value.detail and "TransactionConflict" in info.value.detail


def test_the_time_budget_bounds_the_retries_too() -> None:
    # Given each call taking 2 s of a 5 s budget
    clock = FakeClock()

    def slow_conflict() -> str:
        clock.now += 2.0
        raise _conflict()

    with pytest.raises(ServiceBusy):
        call_with_retries(
            slow_conflict,
            what="x",
            policy=RetryPolicy(base_s=0.1, cap_s=1.0, max_attempts=100, budget_s=5.0),
            sleep=clock.sleep,
            clock=clock,
        )
    # Then no call starts once the budget is spent (at most 3 calls of 2 s fit in 5 s plus pauses)
    assert clock.now <= 5.0 + 2.0


@pytest.mark.parametrize(
    "error",
    [
        _pynamodb(UpdateError, "ConditionalCheckFailedException"),
        _pynamodb(TransactWriteError, "TransactionCanceledException", reasons=["ConditionalCheckFailed", "None"]),
        # a conditional failure wins over a conflict on another item: the caller must see it
        _pynamodb(
            TransactWriteError,
            "TransactionCanceledException",
            reasons=["ConditionalCheckFailed", "TransactionConflict"],
        ),
        _pynamodb(PutError, "ValidationException"),
        _client_error("ConditionalCheckFailedException"),
        ValueError("not AWS"),
    ],
    ids=["update-condition", "tx-condition", "tx-condition-and-conflict", "validation", "boto3-condition", "other"],
)
def test_answers_and_other_errors_are_raised_at_once(error: Exception) -> None:
    clock = FakeClock()
    fn, calls = _failing([error])
    with pytest.raises(type(error)) as info:
        call_with_retries(fn, what="x", policy=POLICY, sleep=clock.sleep, clock=clock)
    assert info.value is error and calls[0] == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (_conflict(), "TransactionConflict"),
        (_pynamodb(UpdateError, "TransactionConflictException"), "TransactionConflictException"),
        (_pynamodb(PutError, "ThrottlingException"), "ThrottlingException"),
        (_pynamodb(UpdateError, "ProvisionedThroughputExceededException"), "ProvisionedThroughputExceededException"),
        (_pynamodb(PutError, "InternalServerError", 500), "InternalServerError"),
        (_pynamodb(PutError, "SomethingNew", 503), "HTTP 503"),
        (_client_error("RequestLimitExceeded"), "RequestLimitExceeded"),
        (
            _client_error(
                "TransactionCanceledException",
                op="TransactWriteItems",
                CancellationReasons=[{"Code": "None"}, {"Code": "TransactionConflict"}],
            ),
            "TransactionConflict",
        ),
    ],
)
def test_contention_is_recognised_in_pynamodb_and_botocore_errors(error: Exception, reason: str) -> None:
    assert retryable_reason(error) == reason


def test_jitter_stays_within_zero_and_the_capped_exponential() -> None:
    policy = RetryPolicy(base_s=0.05, cap_s=0.3, max_attempts=10, budget_s=60)
    for retry in range(1, 10):
        ceiling = min(0.3, 0.05 * 2 ** (retry - 1))
        assert policy.backoff(retry, rng=lambda: 0.0) == 0.0
        assert policy.backoff(retry, rng=lambda: 0.999999) == pytest.approx(ceiling, rel=1e-5)
        assert 0.0 <= policy.backoff(retry) <= ceiling


def test_pauses_grow_then_stay_under_the_cap() -> None:
    clock = FakeClock()
    fn, _ = _failing([_conflict() for _ in range(7)])
    call_with_retries(
        fn,
        what="x",
        policy=RetryPolicy(base_s=0.1, cap_s=0.5, max_attempts=8, budget_s=60),
        sleep=clock.sleep,
        clock=clock,
        rng=lambda: 1.0,
    )
    assert clock.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5, 0.5, 0.5])


def test_the_policy_comes_from_settings() -> None:
    from apihub.settings import Settings

    policy = RetryPolicy.from_settings(
        Settings.from_env(
            {
                "APIHUB_AWS_RETRY_BASE_MS": "10",
                "APIHUB_AWS_RETRY_CAP_MS": "2500",
                "APIHUB_AWS_RETRY_MAX_ATTEMPTS": "3",
                "APIHUB_AWS_RETRY_BUDGET_MS": "4000",
            }
        )
    )
    assert policy == RetryPolicy(base_s=0.01, cap_s=2.5, max_attempts=3, budget_s=4.0)
    assert policy.retry_after_s == 3
