"""Real timing, simulated (issue 12): the template's queues, function timeouts and sweeper schedule in
virtual time (``apihub_sim``), running the real handlers on moto, with suppliers that take their
time. Each scenario must end in its true state: exact counts, nothing lost, nothing dead-lettered,
no job swept while work for it was due.

``fast`` sizes run in ``make test``; the ``verify`` sizes (the issue's: a 50,000-product import)
run in ``make verify`` and record their figures for docs/reliability.md.
"""

from __future__ import annotations

import pytest

from apihub_sim import SimFigures
from apihub_sim.scenarios import (
    aws_faults,
    discovery_fails_twice,
    queued_behind_big_import,
    retry_after_900,
    slow_supplier,
)
from apihub_verify import record

SUITE = "simulation"
TITLE = "Virtual-clock simulation: the template's timing, real handlers (apihub_sim, moto)"


def _violations(figures: SimFigures, *, want: str = "success") -> list[str]:
    """What is wrong with a run whose every job should end ``want`` with exact counts."""
    wrong = []
    for job in figures.jobs:
        if job.status != want:
            wrong.append(f"{job.label} ended {job.status}" + (f": {job.error_log}" if job.error_log else ""))
        if job.total != job.discovered or job.success + job.failed != job.total:
            wrong.append(f"{job.label}: counts {job.success}+{job.failed} of {job.total} ({job.discovered} discovered)")
    if figures.lost:
        wrong.append(f"{figures.lost} product(s) lost")
    if figures.double_counted:
        wrong.append(f"{figures.double_counted} product(s) double-counted")
    if figures.swept_while_due:
        wrong.append(f"{figures.swept_while_due} job(s) swept while work was due")
    if figures.swept > figures.swept_while_due:
        wrong.append(f"{figures.swept - figures.swept_while_due} job(s) swept with no work due")
    if figures.dead_lettered:
        wrong.append(f"{figures.dead_lettered} message(s) dead-lettered")
    if figures.api_5xx:
        wrong.append(f"{figures.api_5xx} API 5xx answer(s) (503 with Retry-After aside)")
    return wrong


def _record(part: str, figures: SimFigures, wrong: list[str]) -> None:
    """The run's figures for make verify's report (docs/reliability.md), whatever its outcome."""
    params = figures.parameters
    counts = figures.figures()
    record(
        SUITE,
        part,
        title=TITLE,
        examples=1,
        requests=sum(figures.api_statuses.values()),
        faults=figures.faults,
        failures=1 if wrong else 0,  # this run did not end in its true state
        notes=[
            f"lost {counts['products lost']}, double-counted {counts['products double-counted']}, "
            f"swept while work was due {counts['jobs swept while work was due']}, "
            f"dead-lettered {counts['messages dead-lettered']}, API 5xx {counts['API 5xx answers']} "
            f"(503 with Retry-After, tried again: {counts['API 503 with Retry-After (tried again)']}), "
            f"Lambda timeouts {counts['Lambda timeouts']}",
            f"{figures.scenario}, {counts['virtual minutes']} virtual minutes",
            *[f"{j.label}: {j.status} {j.success}+{j.failed} of {j.total}" for j in figures.jobs],
            f"hydrate Timeout {params['hydrate_timeout_s']} s, BatchSize {params['hydrate_batch_size']}, "
            f"MaximumConcurrency {params['hydrate_max_concurrency']}, visibility {params['hydrate_visibility_s']} s, "
            f"stall limit {params['stall_minutes']} min, sweeper every {params['sweeper_period_s']} s",
            *wrong,
        ],
        figures=counts,
    )


def _check(part: str, figures: SimFigures) -> None:
    wrong = _violations(figures)
    _record(part, figures, wrong)
    assert not wrong, f"{wrong}\n{figures.summary()}"


# ------------------------------------------------------------------ make test sizes


def test_a_slow_supplier_near_the_read_timeout_ends_in_success() -> None:
    _check("slow-supplier-fast", slow_supplier("fast"))


def test_a_supplier_answering_429_retry_after_900_for_a_while_ends_in_success() -> None:
    _check("retry-after-900-fast", retry_after_900("fast"))


def test_an_import_queued_behind_a_big_one_is_not_swept() -> None:
    _check("queued-behind-fast", queued_behind_big_import("fast"))


def test_a_discovery_that_fails_twice_then_succeeds_is_not_swept() -> None:
    _check("discovery-fails-twice-fast", discovery_fails_twice("fast"))


def test_an_import_under_aws_faults_loses_and_double_counts_nothing() -> None:
    figures = aws_faults("fast")
    assert sum(figures.faults.values()) > 0, "no fault was injected"
    _check("aws-faults-fast", figures)


# ------------------------------------------------------------------ make verify sizes


@pytest.mark.verify
def test_verify_a_slow_supplier_near_the_read_timeout() -> None:
    _check("slow-supplier", slow_supplier("verify"))


@pytest.mark.verify
def test_verify_a_supplier_answering_429_retry_after_900() -> None:
    _check("retry-after-900", retry_after_900("verify"))


@pytest.mark.verify
def test_verify_an_import_queued_behind_a_50000_product_import() -> None:
    _check("queued-behind-50000", queued_behind_big_import("verify"))


@pytest.mark.verify
def test_verify_a_discovery_that_fails_twice_then_succeeds() -> None:
    _check("discovery-fails-twice", discovery_fails_twice("verify"))


@pytest.mark.verify
def test_verify_an_import_under_aws_faults() -> None:
    figures = aws_faults("verify")
    assert sum(figures.faults.values()) > 0, "no fault was injected"
    _check("aws-faults", figures)
