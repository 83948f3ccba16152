"""Logs, metrics and traces shared by the pipeline functions, the scheduler and the sweeper.

* ``logger``: one Powertools logger (service ``apihub``); ``bind_job`` adds ``job_id`` and
  ``supplier_id`` to every line that follows in this invocation.
* ``metrics``: Powertools EMF metrics (namespace from ``POWERTOOLS_METRICS_NAMESPACE``), flushed by
  ``@metrics.log_metrics`` on the handlers that emit them. Emitted once per batch or per job, never
  per product, so that the hot loop does no metric work.
* No X-Ray SDK: ``Tracing: Active`` (template Globals) gives every invocation its trace segment
  without it, and loading ``aws_xray_sdk`` (Powertools' ``Tracer``) would weigh on every cold
  start (docs/benchmarks.md, docs/decisions.md).

Metric names are the contract with the alarms in ``template.yaml`` (a template test pins them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

PRODUCTS_HYDRATED = "ProductsHydrated"
PRODUCTS_FAILED = "ProductsFailed"
JOBS_FINISHED = "JobsFinished"  # dimension: status
JOBS_SWEPT = "JobsSwept"
DISCOVERY_DURATION = "DiscoveryDuration"
HYDRATE_LATENCY = "HydrateLatency"
SCHEDULED_IMPORTS = "ScheduledImportsStarted"  # dimension: mode

logger = Logger(service="apihub")
metrics = Metrics()


def bind_job(job_id: str | None, supplier_id: str | None = None) -> None:
    """Put ``job_id`` / ``supplier_id`` on every following log line of this invocation.

    Thread-local keys: in Lambda one process runs one invocation at a time, but the local stack runs
    concurrent invocations on threads of one process, where plain ``append_keys`` would leak one
    job's ids into another's lines."""
    keys = {k: v for k, v in (("job_id", job_id), ("supplier_id", supplier_id)) if v}
    if keys:
        logger.thread_safe_append_keys(**keys)


def unbind_job() -> None:
    logger.thread_safe_remove_keys(["job_id", "supplier_id"])


def products_recorded(outcomes: Iterable[Any], recorded: Iterable[str]) -> None:
    """Count the products a hydrate batch recorded (duplicates of earlier deliveries excluded)."""
    done = set(recorded)
    ok = failed = 0
    for outcome in outcomes:
        if outcome.sku in done:
            if outcome.ok:
                ok += 1
            else:
                failed += 1
    # Both are always emitted (zeros too) so the error-rate alarm's metric math sees a value.
    metrics.add_metric(name=PRODUCTS_HYDRATED, unit=MetricUnit.Count, value=ok)
    metrics.add_metric(name=PRODUCTS_FAILED, unit=MetricUnit.Count, value=failed)


def job_finished(job_id: str, supplier_id: str, status: str) -> None:
    """One line and one ``JobsFinished`` datapoint per job that reaches a terminal status (called
    by the single winner of the terminating transaction, so never twice for a job)."""
    logger.info("job finished", extra={"job_id": job_id, "supplier_id": supplier_id, "status": status})
    # A metric of its own (printed at once): it carries a dimension the batch metrics do not, and
    # some callers (PATCH, start_import) do not flush a Metrics object.
    with single_metric(name=JOBS_FINISHED, unit=MetricUnit.Count, value=1, default_dimensions={"status": status}):
        pass


def duration_ms(name: str, milliseconds: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=round(milliseconds, 1))


def count(name: str, value: int, **dimensions: str) -> None:
    """A count with its own dimensions (printed at once, like ``JobsFinished``)."""
    with single_metric(name=name, unit=MetricUnit.Count, value=value, default_dimensions=dimensions or None):
        pass
