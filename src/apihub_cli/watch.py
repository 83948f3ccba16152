"""``--watch``: a live progress bar for a sync job, polled from ``GET /api/sync-jobs/{id}``."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from apihub_cli.client import ApiClient, CliError

TERMINAL = ("success", "partial_success", "failed")
# Exit codes of a watched job (1 and 2 are taken by errors and usage mistakes).
EXIT_CODES = {"success": 0, "partial_success": 3, "failed": 4}
EXIT_TIMEOUT = 5
POLL_S = 0.5


def watch_job(
    client: ApiClient, job_id: str, *, timeout_s: float | None = None, console: Console | None = None
) -> dict[str, Any]:
    """Poll the job until it is terminal, showing done/total, failed, rate and ETA. Returns the job.
    Raises ``CliError`` (exit code 5) when ``timeout_s`` passes first."""
    deadline = time.monotonic() + timeout_s if timeout_s else None
    first_done: tuple[float, int] | None = None
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[status]:<15}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    with progress:
        task = progress.add_task("job", total=None, status="pending", failed=0, rate="")
        while True:
            job = client.get(f"/api/sync-jobs/{job_id}")
            status = job.get("status", "?")
            total = int(job.get("total_products") or 0)
            done = int(job.get("success_count") or 0) + int(job.get("failed_count") or 0)
            now = time.monotonic()
            if first_done is None:
                first_done = (now, done)  # the rate counts what happened while watching
            base_t, base_done = first_done
            rate = (done - base_done) / (now - base_t) if now > base_t and done > base_done else 0.0
            progress.update(
                task,
                total=total or None,
                completed=done,
                status=status,
                failed=int(job.get("failed_count") or 0),
                rate=f"{rate:.1f}/s" if rate else "",
            )
            if status in TERMINAL:
                if total == 0:
                    progress.update(task, total=1, completed=1)
                return dict(job)
            if deadline is not None and now >= deadline:
                raise CliError(f"job {job_id} is still {status} after {timeout_s:g}s", EXIT_TIMEOUT)
            time.sleep(POLL_S)
