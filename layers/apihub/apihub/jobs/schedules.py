"""Scheduled imports: on each tick of a schedule (the modes whose row in ``apihub.jobs.modes`` has one:
weekly ``full_sellable``, daily ``delta``, monthly ``closeouts``; the expressions are template.yaml
parameters), start that mode's import for every active supplier that enables it in its ``schedules``
setting (e.g. ``{"full_sellable": true, "delta": true}``).

An import of the same supplier and mode that is still running is skipped with a log line: the next
tick picks the supplier up again. One supplier's problem of any kind (no adapter, DynamoDB or SQS
busy past the retry bound, a bug) never stops the others: it is logged and listed under ``failed``
in the run's summary, and the next tick tries that supplier again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import ApihubError, ImportAlreadyRunning
from apihub.jobs import service
from apihub.jobs.modes import SCHEDULED_MODES
from apihub.models import DiscoveryMode, ImportRequest
from apihub.observability import logger


@dataclass
class ScheduleRun:
    mode: DiscoveryMode
    started: dict[str, str] = field(default_factory=dict)  # supplier slug -> job id
    already_running: dict[str, str] = field(default_factory=dict)  # slug -> running job id
    failed: dict[str, str] = field(default_factory=dict)  # slug -> reason

    def summary(self) -> dict[str, object]:
        return {
            "mode": self.mode.value,
            "started": self.started,
            "already_running": self.already_running,
            "failed": self.failed,
        }


def run_scheduled_imports(mode: DiscoveryMode, *, now: datetime | None = None) -> ScheduleRun:
    """Start ``mode``'s import for each active supplier whose ``schedules[mode]`` is true."""
    if mode not in SCHEDULED_MODES:
        raise ValueError(f"mode: {mode.value} is not a scheduled mode ({', '.join(m.value for m in SCHEDULED_MODES)})")
    run = ScheduleRun(mode)
    for supplier in SuppliersRepository().list():  # a Query on the AllSuppliers index
        if not supplier.is_active or not supplier.schedules.get(mode.value):
            continue
        try:
            accepted = service.start_import(supplier.id, ImportRequest(mode=mode), now=now)
        except ImportAlreadyRunning as exc:
            run.already_running[supplier.slug] = exc.job_id
            logger.info(
                "scheduled import skipped: one is already running",
                extra={"supplier_id": supplier.id, "job_id": exc.job_id, "mode": mode.value},
            )
            continue
        except ApihubError as exc:  # e.g. no adapter configured, ServiceBusy: the others still run
            run.failed[supplier.slug] = exc.detail
            logger.warning(
                "scheduled import not started",
                extra={"supplier_id": supplier.id, "mode": mode.value, "reason": exc.detail},
            )
            continue
        except Exception as exc:  # a bug or an unclassified AWS error: still only this supplier's
            reason = f"{type(exc).__name__}: {exc}"[:500]
            run.failed[supplier.slug] = reason
            logger.exception(
                "scheduled import failed unexpectedly",
                extra={"supplier_id": supplier.id, "mode": mode.value, "reason": reason},
            )
            continue
        run.started[supplier.slug] = accepted.sync_job_id
        logger.info(
            "scheduled import started",
            extra={"supplier_id": supplier.id, "job_id": accepted.sync_job_id, "mode": mode.value},
        )
    return run
