"""Scheduled imports: on each tick of a schedule (the modes whose row in ``apihub.modes.table`` has one:
weekly ``full_sellable``, daily ``delta``, monthly ``closeouts``; the expressions are template.yaml
parameters), start that mode's import for every active supplier that enables it in its ``schedules``
setting (e.g. ``{"full_sellable": true, "delta": true}``).

``inventory`` ticks every 15 minutes (``InventorySchedule``) and each supplier names its own period
(``{"inventory": {"every": "1h"}}``): a tick starts the suppliers whose period has begun a new slot
(epoch seconds // period) since their last run, claimed with a conditional write so a retried or
overlapping tick starts nothing twice. A run still going when the next slot begins is skipped and
counted on the supplier (``inventory_runs_skipped``), never queued.

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
from apihub.models import DiscoveryMode, ImportRequest, iso, utcnow
from apihub.modes.table import MODES, schedule_period_s, scheduled_modes
from apihub.observability import logger
from apihub.supplier_models import Supplier


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
    """Start ``mode``'s import for each active supplier whose ``schedules[mode]`` is on (for a mode
    with periods of its own, such as ``inventory``: whose own period has a slot not yet acted on)."""
    scheduled = scheduled_modes()
    if mode not in scheduled:
        raise ValueError(f"mode: {mode.value} is not a scheduled mode ({', '.join(m.value for m in scheduled)})")
    run = ScheduleRun(mode)
    repo = SuppliersRepository()
    tick = now or utcnow()
    for supplier in repo.list():  # a Query on the AllSuppliers index
        if not supplier.is_active or not supplier.schedules.get(mode.value):
            continue
        due, slot = _claim_slot(repo, supplier, mode, tick)
        if due:
            _start(run, repo, supplier, slot, tick, now)
    return run


def _claim_slot(
    repo: SuppliersRepository, supplier: Supplier, mode: DiscoveryMode, tick: datetime
) -> tuple[bool, int | None]:
    """Whether ``supplier``'s ``mode`` import is due at ``tick``, and the period slot this tick
    claimed for it (None: the mode has no period of its own, so every tick is due)."""
    schedule = MODES[mode].schedule
    if schedule is None or schedule.periods is None or schedule.slot_field is None:
        return True, None
    period = schedule_period_s(mode, supplier.schedules)
    slot = int(tick.timestamp()) // period if period else None
    # Not due: this period's run was started (or skipped) by an earlier tick.
    if slot is None or not repo.claim_schedule_slot(supplier.id, schedule.slot_field, slot):
        return False, None
    return True, slot


def _start(
    run: ScheduleRun,
    repo: SuppliersRepository,
    supplier: Supplier,
    slot: int | None,
    tick: datetime,
    now: datetime | None,
) -> None:
    """Start one supplier's scheduled import and note what happened on ``run``. An import that did
    not start hands its claimed slot back, so the next tick tries again; one already running keeps
    it (this period's run is skipped, and counted where the mode counts skips)."""
    mode = run.mode
    schedule = MODES[mode].schedule
    slot_field = schedule.slot_field if schedule is not None else None

    def release() -> None:
        if slot is not None and slot_field is not None:
            repo.release_schedule_slot(supplier.id, slot_field, slot)

    try:
        accepted = service.start_import(supplier.id, ImportRequest(mode=mode), now=now)
    except ImportAlreadyRunning as exc:
        run.already_running[supplier.slug] = exc.job_id
        if slot is not None and schedule is not None and schedule.counts_skips:  # skipped: counted
            repo.count_inventory_skip(supplier.id, iso(tick) or "")
        logger.info(
            "scheduled import skipped: one is already running",
            extra={"supplier_id": supplier.id, "job_id": exc.job_id, "mode": mode.value},
        )
        return
    except ApihubError as exc:  # e.g. no adapter configured, ServiceBusy: the others still run
        release()
        run.failed[supplier.slug] = exc.detail
        logger.warning(
            "scheduled import not started", extra={"supplier_id": supplier.id, "mode": mode.value, "reason": exc.detail}
        )
        return
    except Exception as exc:  # a bug or an unclassified AWS error: still only this supplier's
        release()
        reason = f"{type(exc).__name__}: {exc}"[:500]
        run.failed[supplier.slug] = reason
        logger.exception(
            "scheduled import failed unexpectedly",
            extra={"supplier_id": supplier.id, "mode": mode.value, "reason": reason},
        )
        return
    run.started[supplier.slug] = accepted.sync_job_id
    logger.info(
        "scheduled import started",
        extra={"supplier_id": supplier.id, "job_id": accepted.sync_job_id, "mode": mode.value},
    )
