"""Operations (issue 6): scheduled imports over a simulated week, the stalled-job sweeper, the health
summary, the jobs page, and the log keys and metrics of the pipeline. Against moto via ``hub``."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apihub.dal.jobs import JobsRepository
from apihub.jobs.sweeper import QueuedWork, stall_message, sweep_stalled
from apihub.models import DiscoveryMode, DiscoveryParams, JobStatus, SyncJob, iso
from apihub.modes.table import MODES

from apihub_local.template import Template
from tests.domain_clock import Clock, controlled_clock

# ----------------------------------------------------------------------------- helpers

DOW = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


def _field_matches(spec: str, value: int) -> bool:
    if spec in ("*", "?"):
        return True
    for part in spec.split(","):
        part = DOW.get(part, part) if part in DOW else part
        lo, _, hi = str(part).partition("-")
        lo_v, hi_v = int(DOW.get(lo, lo)), int(DOW.get(hi, hi)) if hi else None
        if value == lo_v if hi_v is None else lo_v <= value <= hi_v:
            return True
    return False


def cron_fires(expression: str, at: datetime) -> bool:
    """EventBridge ``cron(min hour day-of-month month day-of-week year)`` at a whole minute (UTC)."""
    fields = re.fullmatch(r"cron\((.+)\)", expression).group(1).split()  # type: ignore[union-attr]
    minute, hour, dom, month, dow, year = fields
    weekday = (at.isoweekday() % 7) + 1  # EventBridge: 1 = Sunday ... 7 = Saturday
    return all(
        (
            _field_matches(minute, at.minute),
            _field_matches(hour, at.hour),
            _field_matches(dom, at.day),
            _field_matches(month, at.month),
            _field_matches(dow, weekday),
            _field_matches(year, at.year),
        )
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return controlled_clock(monkeypatch, datetime.now(UTC))


def _seed_job(supplier: dict[str, Any], status: JobStatus, started: datetime, updated: datetime | None = None) -> str:
    import uuid

    job = SyncJob(
        id=str(uuid.uuid4()),
        supplier_id=supplier["id"],
        supplier_name=supplier["name"],
        job_type="import:delta",
        status=status,
        discovery_mode=DiscoveryMode.delta,
        started_at=iso(started) or "",
        updated_at=iso(updated or started) or "",
        completed_at=iso(updated or started) if status.terminal else None,
        params=DiscoveryParams(),
    )
    JobsRepository().store_without_lock(job)
    return job.id


def _jobs_of(hub, supplier_id: str) -> list[dict[str, Any]]:
    res = hub.api("GET", "/api/sync-jobs", query={"supplier_id": supplier_id, "limit": "100"})
    assert res.status == 200, res.json
    return res.json  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- scheduler


def test_a_simulated_week_of_schedules_starts_exactly_the_enabled_imports(hub, clock: Clock) -> None:
    # Given suppliers with different schedules settings, one inactive, and one whose delta import
    # is already running (its lock is held by a pending job nothing will run)
    small = {"protocol_config": {"products": 3}}
    weekly = hub.add_supplier("weekly", schedules={"full_sellable": True}, **small)
    daily = hub.add_supplier("daily", schedules={"full_sellable": True, "delta": True}, **small)
    closeouts = hub.add_supplier("closeouts", schedules={"closeouts": True, "delta": False}, **small)
    inactive = hub.add_supplier(
        "inactive", schedules={"full_sellable": True, "delta": True, "closeouts": True}, is_active=False, **small
    )
    unscheduled = hub.add_supplier("unscheduled", **small)
    busy = hub.add_supplier("busy", schedules={"full_sellable": True, "delta": True}, **small)
    week_start = datetime(2026, 2, 1, tzinfo=UTC)  # a Sunday, and the 1st of a month
    from apihub.dal.suppliers import SuppliersRepository
    from apihub.jobs.service import new_job

    clock.now = week_start - timedelta(hours=1)
    running = new_job(SuppliersRepository().get("busy"), DiscoveryMode.delta, DiscoveryParams())
    JobsRepository().create_with_lock(running)

    # When the week passes, minute by minute where any of the template's schedules could fire
    params = Template().parameter_defaults()
    # The catalog modes' cron schedules (inventory's rate tick has its own tests: test_inventory.py).
    schedules = {
        spec.mode.value: params[spec.schedule.parameter]
        for spec in MODES.values()
        if spec.schedule and params[spec.schedule.parameter].startswith("cron(")
    }
    ticks: list[tuple[datetime, str]] = []
    at = week_start
    while at < week_start + timedelta(days=7):
        ticks += [(at, mode) for mode, expr in schedules.items() if cron_fires(expr, at)]
        at += timedelta(minutes=15)
    skipped: list[tuple[str, str]] = []
    for at, mode in ticks:
        clock.now = at
        summary = hub.functions.invoke("SchedulerFunction", {"mode": mode})
        skipped += summary["already_running"].items()
        hub.drain()  # the day's imports finish before the next tick

    # Then the ticks are the weekly full sync (Sunday 01:00), seven daily deltas and the monthly closeouts
    assert Counter(mode for _, mode in ticks) == {"full_sellable": 1, "delta": 7, "closeouts": 1}
    assert (week_start + timedelta(hours=1), "full_sellable") in ticks
    # And exactly the enabled imports of active suppliers started, each at its tick's time
    started = {
        s["slug"]: Counter(j["job_type"] for j in _jobs_of(hub, s["id"]) if j["id"] != running.id)
        for s in (weekly, daily, closeouts, inactive, unscheduled, busy)
    }
    assert started == {
        "weekly": {"import:full_sellable": 1},
        "daily": {"import:full_sellable": 1, "import:delta": 7},
        "closeouts": {"import:closeouts": 1},
        "inactive": {},
        "unscheduled": {},
        "busy": {"import:full_sellable": 1},
    }
    daily_deltas = sorted(j["started_at"] for j in _jobs_of(hub, daily["id"]) if j["job_type"] == "import:delta")
    assert daily_deltas == [iso(week_start + timedelta(days=d, hours=2)) for d in range(7)]
    assert all(j["status"] == "success" for j in _jobs_of(hub, daily["id"]))
    # And the running import was skipped (logged, not an error) on every delta tick, and left alone
    assert skipped == [("busy", running.id)] * 7
    assert hub.job(running.id)["status"] == "pending"


def test_scheduler_rejects_an_unknown_mode(hub) -> None:
    with pytest.raises(ValueError):
        hub.functions.invoke("SchedulerFunction", {"mode": "first_n"})


# ----------------------------------------------------------------------------- sweeper


def test_sweeper_fails_idle_jobs_with_the_exact_text_releases_locks_and_leaves_the_rest(hub, clock: Clock) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 3})
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    # Given an import whose worker never picked it up (pending, holding the lock), 31 minutes ago
    clock.now = now - timedelta(minutes=31)
    accepted = hub.start_import("demo", mode="full_sellable")
    assert accepted.status == 202
    stalled_id = accepted.json["sync_job_id"]
    clock.now = now
    assert hub.start_import("demo", mode="full_sellable").status == 409  # the lock is held
    # And a running job idle for 40 minutes, one that progressed 5 minutes ago, and finished ones
    idle_running = _seed_job(supplier, JobStatus.running, now - timedelta(hours=3), now - timedelta(minutes=40))
    busy_running = _seed_job(supplier, JobStatus.running, now - timedelta(hours=3), now - timedelta(minutes=5))
    young_pending = _seed_job(supplier, JobStatus.pending, now - timedelta(minutes=10))
    old_success = _seed_job(supplier, JobStatus.success, now - timedelta(days=2))
    old_failed = _seed_job(supplier, JobStatus.failed, now - timedelta(days=2))
    before = {j: hub.job(j) for j in (busy_running, young_pending, old_success, old_failed)}

    # When the sweeper runs with a 30-minute limit, the queues holding nothing for them (the pending
    # job's discovery message stays queued here only to show that late messages change nothing;
    # tests/integration/test_stall.py has the queued work that does keep a job alive)
    nothing_queued = QueuedWork(held=lambda url: 0)
    swept = sweep_stalled(now, stall_minutes=30, queued=nothing_queued)

    # Then exactly the idle jobs failed, with the exact error text naming their last progress
    assert {s.job_id for s in swept} == {stalled_id, idle_running}
    idle_since = {stalled_id: now - timedelta(minutes=31), idle_running: now - timedelta(minutes=40)}
    for job_id, since in idle_since.items():
        job = hub.job(job_id)
        assert job["status"] == "failed" and job["completed_at"] == iso(now)
        assert job["error_log"] == f"Stalled: no progress since {iso(since)}"
    # And the others are untouched
    assert {j: hub.job(j) for j in before} == before
    # And the stalled import's lock is released: the same import can start again
    assert hub.start_import("demo", mode="full_sellable").status == 202
    # And the stalled job's late discovery message changes nothing
    hub.drain()
    assert hub.job(stalled_id)["status"] == "failed"
    assert sweep_stalled(now, stall_minutes=30, queued=nothing_queued) == []  # a second sweep finds nothing


def test_sweeper_spares_a_job_that_progressed_after_it_was_read(hub) -> None:
    supplier = hub.add_supplier("demo")
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    job_id = _seed_job(supplier, JobStatus.running, now - timedelta(hours=2), now - timedelta(hours=1))
    jobs = JobsRepository()
    stale_view = jobs.get_item(job_id)
    # Given a batch recorded after the sweeper read the job (its updated_at moved)
    fresh = jobs.get_item(job_id)
    fresh.update(actions=[type(fresh).updated_at.set(iso(now))])
    # Then failing it from the stale read does nothing
    assert jobs.fail_if_idle(stale_view, stall_message(stale_view.updated_at)) is False
    assert hub.job(job_id)["status"] == "running"


def test_sweeper_function_uses_the_stall_setting_and_emits_its_metrics(hub, capsys, monkeypatch) -> None:
    supplier = hub.add_supplier("demo")
    monkeypatch.setenv("APIHUB_STALL_MINUTES", "45")
    from apihub.settings import reset_settings

    reset_settings()
    real_now = datetime.now(UTC)
    idle_50 = _seed_job(supplier, JobStatus.running, real_now - timedelta(hours=1), real_now - timedelta(minutes=50))
    idle_40 = _seed_job(supplier, JobStatus.running, real_now - timedelta(hours=1), real_now - timedelta(minutes=40))
    capsys.readouterr()
    result = hub.functions.invoke("SweeperFunction", {"action": "sweep"})
    assert result["swept"] == [idle_50]
    assert hub.job(idle_40)["status"] == "running"
    emitted = _emf(capsys.readouterr().out)
    assert ("JobsSwept", {"service": "apihub"}, 1.0) in emitted
    assert ("JobsFinished", {"service": "apihub", "status": "failed"}, 1.0) in emitted


# ----------------------------------------------------------------------------- health + page


def test_health_summarises_each_supplier_from_its_last_ten_jobs(hub) -> None:
    # Given a supplier with a finished full sync, then (newer) failed, failed, running jobs
    synced = hub.add_supplier("synced", protocol_config={"products": 3})
    full = hub.run_import("synced", mode="full_sellable")
    assert full["status"] == "success"
    later = datetime.now(UTC) + timedelta(hours=1)
    _seed_job(synced, JobStatus.failed, later)
    _seed_job(synced, JobStatus.failed, later + timedelta(minutes=1))
    newest = _seed_job(synced, JobStatus.running, later + timedelta(minutes=2))
    # And one whose last 12 jobs all failed, and one that never ran
    flaky = hub.add_supplier("flaky")
    for i in range(12):
        _seed_job(flaky, JobStatus.failed, later + timedelta(minutes=i))
    hub.add_supplier("idle")

    # When a viewer asks for the health summary (a literal route beside /api/sync-jobs/{job_id})
    res = hub.api("GET", "/api/sync-jobs/health", token=hub.token("viewer"))

    # Then each supplier has its last syncs, its last job and its run of failures
    assert res.status == 200, res.json
    by_slug = {h["slug"]: h for h in res.json}
    assert set(by_slug) == {"synced", "flaky", "idle"}
    s = by_slug["synced"]
    assert (s["supplier_id"], s["name"], s["last_full_sync"]) == (synced["id"], synced["name"], full["started_at"])
    assert s["last_delta_sync"] is None
    assert (s["status"], s["last_job"]["id"]) == ("running", newest)
    assert s["consecutive_failures"] == 2  # the running job neither breaks nor extends the run
    assert by_slug["flaky"]["consecutive_failures"] == 10  # counted among the last 10 jobs only
    assert by_slug["idle"]["status"] is None and by_slug["idle"]["last_job"] is None
    assert by_slug["idle"]["consecutive_failures"] == 0
    # And it needs a token
    assert hub.api("GET", "/api/sync-jobs/health", token=None).status == 401


def test_the_gateway_routes_the_literal_health_path_before_the_job_id_parameter(hub) -> None:
    _route, fn, params = hub.gateway.match("GET", "/api/sync-jobs/health")
    assert (fn.logical_id, params) == ("SyncJobsHealthFunction", {})
    _route, fn, params = hub.gateway.match("GET", "/api/sync-jobs/0b8e5c1e-1d59-4c3e-9a55-6c1d5e4f3a21")
    assert fn.logical_id == "GetSyncJobFunction"


def test_jobs_page_is_public_html_that_uses_the_api_with_the_cookie(hub) -> None:
    res = hub.api("GET", "/", token=None)
    assert res.status == 200
    assert res.headers["content-type"].startswith("text/html")
    policy = dict(d.strip().split(" ", 1) for d in res.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    assert policy["script-src"] == "'unsafe-inline'"  # its own inline code, nothing fetched
    assert policy["img-src"] == "'self' data: https:"  # product pictures are on the suppliers' hosts
    page = res.raw.decode()
    paths = ('"api/sync-jobs"', '"api/sync-jobs/health"', '"/errors"', '"/retry"', '"api/suppliers"', '"/import"')
    for path in (*paths, '"/pricing"', '"/quote"', '"api/changes?"'):
        assert path in page, path
    assert "auth_token=" in page and "innerHTML" not in page and "<script src" not in page


# ----------------------------------------------------------------------------- logs + metrics


def _emf(out: str) -> list[tuple[str, dict[str, str], float]]:
    """(metric, dimensions, value) of every EMF line printed."""
    found = []
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        doc = json.loads(line)
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            dims = {d: doc[d] for group in directive["Dimensions"] for d in group}
            for metric in directive["Metrics"]:
                values = doc[metric["Name"]]
                for v in values if isinstance(values, list) else [values]:
                    found.append((metric["Name"], dims, float(v)))
    return found


def test_pipeline_log_lines_carry_job_and_supplier_and_metrics_count_each_product_once(hub, capsys) -> None:
    from apihub.observability import logger

    supplier = hub.add_supplier("demo", protocol_config={"products": 12, "fail_skus": ["DEMO-00003", "DEMO-00007"]})
    lines: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(logger.registered_formatter.format(record)))

    collector = Collect(level=logging.INFO)
    base = logging.getLogger("apihub")
    old_level = base.level
    base.addHandler(collector)
    base.setLevel(logging.INFO)
    try:
        capsys.readouterr()
        job = hub.run_import("demo", mode="full_sellable")
        out = capsys.readouterr().out
    finally:
        base.removeHandler(collector)
        base.setLevel(old_level)

    assert (job["status"], job["success_count"], job["failed_count"]) == ("partial_success", 10, 2)
    pipeline = [ln for ln in lines if ln.get("function_name") in ("DiscoverFunction", "HydrateFunction")]
    assert {ln["function_name"] for ln in pipeline} == {"DiscoverFunction", "HydrateFunction"}
    assert {"discovery step finished", "recorded outcomes", "job finished"} <= {ln["message"] for ln in pipeline}
    for ln in pipeline:
        assert (ln.get("job_id"), ln.get("supplier_id")) == (job["id"], supplier["id"]), ln
    metrics = _emf(out)
    sums: Counter[str] = Counter()
    for name, _, value in metrics:
        sums[name] += value
    assert sums["ProductsHydrated"] == 10 and sums["ProductsFailed"] == 2
    assert [(n, d) for n, d, _ in metrics if n == "JobsFinished"] == [
        ("JobsFinished", {"service": "apihub", "status": "partial_success"})
    ]
    assert sums["DiscoveryDuration"] > 0 and sums["HydrateLatency"] > 0
