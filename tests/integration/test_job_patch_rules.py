"""PATCH /api/sync-jobs/{id}: the transitions of the status rules (docs/architecture.md, Invariants) (``apihub.jobs.rules``)."""

from __future__ import annotations


def _running_job(hub) -> str:
    hub.add_supplier("demo", protocol_config={"products": 3})
    accepted = hub.start_import("demo", mode="full_sellable")
    assert accepted.status == 202, accepted.json
    job_id = accepted.json["sync_job_id"]
    discover = next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction")
    discover.poll_once()
    assert hub.job(job_id)["status"] == "running"
    return job_id


def test_completed_at_without_a_terminal_status_is_422_and_changes_nothing(hub) -> None:
    # Given a running job
    job_id = _running_job(hub)
    # When a client gives it a completion time while it keeps running
    res = hub.api("PATCH", f"/api/sync-jobs/{job_id}", query={"completed_at": "2026-01-01T00:00:00Z"})
    # Then 422 names the field and the rule, and the job still has no completion time
    assert res.status == 422, res.json
    assert res.json["detail"].startswith("completed_at: only allowed together with a terminal status")
    job = hub.job(job_id)
    assert (job["status"], job["completed_at"]) == ("running", None)


def test_completed_at_with_a_terminal_status_is_kept(hub) -> None:
    job_id = _running_job(hub)
    res = hub.api(
        "PATCH", f"/api/sync-jobs/{job_id}", query={"status": "failed", "completed_at": "2026-01-01T00:00:00Z"}
    )
    assert res.status == 200, res.json
    assert (res.json["status"], res.json["completed_at"]) == ("failed", "2026-01-01T00:00:00.000Z")


def test_a_finished_job_never_changes(hub) -> None:
    # Given a job a client failed
    job_id = _running_job(hub)
    assert hub.api("PATCH", f"/api/sync-jobs/{job_id}", query={"status": "failed"}).status == 200
    # When anything is patched on it again
    for query in ({"status": "running"}, {"error_log": "late"}, {"records_processed": "3"}):
        res = hub.api("PATCH", f"/api/sync-jobs/{job_id}", query=query)
        # Then 409 names the rule, and the job is as it was
        assert res.status == 409, (query, res.json)
        assert "a finished job cannot change" in res.json["detail"]
    job = hub.job(job_id)
    assert (job["status"], job["error_log"]) == ("failed", None)


def test_a_running_job_cannot_go_back_to_pending(hub) -> None:
    job_id = _running_job(hub)
    res = hub.api("PATCH", f"/api/sync-jobs/{job_id}", query={"status": "pending"})
    assert res.status == 409 and res.json["detail"] == "status: cannot go from running to pending"
