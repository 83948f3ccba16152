"""Load through the local stack: concurrent clients hammer ``GET /api/sync-jobs`` and
``POST /api/suppliers/{id}/import`` (two suppliers, two modes) for a fixed time. No 5xx, only the
documented answers (200, 202, 409), and never two active jobs for one supplier and mode: sampled
during the run (running and pending lists) and proved afterwards from every job's start and finish
times. ``make test``: 10 clients for 5 s; ``make verify``: 50 clients for 30 s, figures recorded."""

from __future__ import annotations

import itertools
import random
import statistics
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import requests
from apihub.models import iso

from apihub_verify import record

pytestmark = pytest.mark.e2e

SUPPLIERS = ("demo", "demo-rest")
IMPORTS = ({"mode": "first_n", "limit": 3}, {"mode": "full_sellable"})
ACTIVE = ("pending", "running")


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    accepted: dict[str, str] = field(default_factory=dict)  # job id -> when its 202 arrived (ISO, this clock)
    samples: int = 0
    max_active: int = 0  # most jobs seen in one listing for one supplier + mode (pending or running)
    violations: list[str] = field(default_factory=list)

    def add(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[(kind, status)] += 1


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _client(stack, supplier_ids: dict[str, str], stop: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {stack.token}"
    while time.monotonic() < stop:
        started = time.monotonic()
        try:
            if rng.random() < 0.5:
                kind = "GET /api/sync-jobs"
                res = session.get(f"{stack.url}/api/sync-jobs", params={"limit": 20}, timeout=30)
            else:
                kind = "POST /api/suppliers/{id}/import"
                supplier = supplier_ids[rng.choice(SUPPLIERS)]
                body = rng.choice(IMPORTS)
                res = session.post(f"{stack.url}/api/suppliers/{supplier}/import", json=body, timeout=30)
                if res.status_code == 202:
                    with tally.lock:
                        tally.accepted[res.json()["sync_job_id"]] = iso(datetime.now(UTC)) or ""
        except requests.RequestException as exc:
            with tally.lock:
                tally.errors.append(f"{type(exc).__name__}: {exc}")
            continue
        tally.add(kind, res.status_code, time.monotonic() - started)


def _sampler(stack, stop: float, tally: Tally) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {stack.token}"
    while time.monotonic() < stop:
        for status in ACTIVE:
            res = session.get(f"{stack.url}/api/sync-jobs", params={"status": status, "limit": 1000}, timeout=30)
            if res.status_code != 200:
                with tally.lock:
                    tally.errors.append(f"sampler {status}: {res.status_code}")
                continue
            per_key = Counter((j["supplier_id"], j["job_type"]) for j in res.json())
            with tally.lock:
                tally.samples += 1
                tally.max_active = max([tally.max_active, *per_key.values()])
                tally.violations += [f"{n} {status} jobs for {key}" for key, n in per_key.items() if n > 1]
        time.sleep(0.05)


def _overlaps(jobs: list[dict], accepted: dict[str, str]) -> tuple[list[str], int]:
    """Pairs of jobs for one supplier and mode that were active at the same time, and how many pairs
    only touch inside the second job's own request.

    A job's ``started_at`` is taken just before its conditional lock write, ``completed_at`` just before
    the finishing write that releases the lock; under load the gap between taking a time and the write
    landing can be long. So a job that "starts" before the previous one's ``completed_at`` is still
    sequential if that ``completed_at`` is no later than the moment its 202 reached the client (the lock
    was taken in between); anything later is a real overlap."""
    by_key: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for job in jobs:
        by_key[(job["supplier_id"], job["job_type"])].append(job)
    found, within_request = [], 0
    for key, group in by_key.items():
        group.sort(key=lambda j: j["started_at"])
        for before, after in itertools.pairwise(group):
            if before["completed_at"] is not None and before["completed_at"] <= after["started_at"]:
                continue
            if before["completed_at"] is not None and before["completed_at"] <= accepted.get(after["id"], ""):
                within_request += 1
            else:
                found.append(
                    f"{key}: {before['id']} ({before['started_at']}..{before['completed_at']}) overlaps {after['id']} ({after['started_at']})"
                )
    return found, within_request


def _warm_up(stack, clients: int) -> float:
    """One request of each kind per client at once, untimed: every execution environment the run needs
    starts cold here (the local stack creates them one at a time), as a deployed API would be warm."""
    began = time.monotonic()
    paths = ["/api/sync-jobs", "/api/suppliers/missing-supplier"]  # the list function, and the authorizer

    def one(_: int) -> None:
        for path in paths:
            res = requests.get(f"{stack.url}{path}", headers={"Authorization": f"Bearer {stack.token}"}, timeout=120)
            assert res.status_code < 500, res.text
        res = requests.post(
            f"{stack.url}/api/suppliers/missing-supplier/import",
            json={"mode": "first_n"},
            headers={"Authorization": f"Bearer {stack.token}"},
            timeout=120,
        )
        assert res.status_code == 404, res.text  # warms the import function without starting a job

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return time.monotonic() - began


def _load(stack, part: str, clients: int, seconds: float) -> None:
    supplier_ids = {slug: stack.api("GET", f"/api/suppliers/{slug}").json()["id"] for slug in SUPPLIERS}
    warm_up_s = _warm_up(stack, clients)
    tally = Tally()
    # When `clients` clients list jobs and start imports for `seconds`, while a sampler watches
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_client, args=(stack, supplier_ids, stop, tally, i), daemon=True)
        for i in range(clients)
    ]
    threads.append(threading.Thread(target=_sampler, args=(stack, stop, tally), daemon=True))
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    elapsed = time.monotonic() - began
    assert not any(t.is_alive() for t in threads), "a client did not stop"
    # Then every job ends (the imports are small), and no two jobs of one supplier and mode overlapped
    deadline = time.monotonic() + 120
    while True:
        jobs = stack.all_pages("/api/sync-jobs")
        if all(j["completed_at"] for j in jobs):
            break
        assert time.monotonic() < deadline, [j for j in jobs if not j["completed_at"]]
        time.sleep(0.5)
    overlaps, within_request = _overlaps(jobs, dict(tally.accepted))
    statuses = Counter(status for (_, status) in tally.statuses.elements())
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    requests_sent = sum(statuses.values())
    latencies = [s for values in tally.latencies.values() for s in values]
    p50, p95 = _percentile(latencies, 50) * 1000, _percentile(latencies, 95) * 1000
    per_kind = {
        kind: f"{len(v)} requests, p50 {_percentile(v, 50) * 1000:.0f} ms, p95 {_percentile(v, 95) * 1000:.0f} ms"
        for kind, v in sorted(tally.latencies.items())
    }
    record(
        "load",
        part,
        title="Load: concurrent clients on GET /api/sync-jobs and POST .../import (local stack)",
        examples=len(jobs),
        requests=requests_sent,
        failures=server_errors + len(overlaps) + len(tally.violations) + len(tally.errors),
        notes=[
            f"{clients} clients for {seconds:.0f} s: {requests_sent} requests, {requests_sent / elapsed:.0f} rps, "
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, {server_errors} 5xx",
            *[f"{k}: {v}" for k, v in per_kind.items()],
            f"statuses {dict(sorted(statuses.items()))}; {len(jobs)} jobs started and finished",
            f"warm-up (every execution environment started cold, untimed): {warm_up_s:.1f} s",
            f"most active jobs per supplier+mode in {tally.samples} samples: {tally.max_active}; "
            f"overlapping jobs afterwards: {len(overlaps)} ({within_request} pairs met inside the next import's "
            "own request, between its start time and its lock write)",
        ],
        clients=clients,
        seconds=seconds,
        rps=round(requests_sent / elapsed, 1),
        p50_ms=round(p50, 1),
        p95_ms=round(p95, 1),
        server_errors=server_errors,
        max_active_per_supplier_mode=tally.max_active,
    )
    assert not tally.errors, tally.errors[:5]
    assert server_errors == 0 and set(statuses) <= {200, 202, 409}, statuses
    assert statuses[202] >= 2 and statuses[409] >= 1, statuses  # imports both started and were refused
    assert tally.samples >= 2 and tally.max_active <= 1 and not tally.violations, tally.violations[:5]
    assert not overlaps, overlaps[:5]


def test_concurrent_clients_get_no_5xx_and_one_active_import_per_supplier_and_mode(stack_factory) -> None:
    # Given the local stack with two small demo suppliers
    stack = stack_factory(APIHUB_DEMO_PRODUCTS="10")
    _load(stack, "make-test", clients=10, seconds=5)


@pytest.mark.verify
def test_50_clients_for_30_seconds(stack_factory) -> None:
    stack = stack_factory(APIHUB_DEMO_PRODUCTS="10")
    _load(stack, "make-verify", clients=50, seconds=30)
