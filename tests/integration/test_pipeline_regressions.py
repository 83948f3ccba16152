"""Regressions found by the property-based test (tests/integration/test_pipeline_properties.py)."""

from __future__ import annotations

from apihub.pipeline import finalise


class Died(RuntimeError):
    """The invocation ends here (its batch is not acknowledged), as a Lambda timing out would."""


def test_redelivered_batch_finalises_a_job_whose_last_commit_died_before_finalising(hub, monkeypatch) -> None:
    # Given a job whose every product was recorded by a batch that died before finalising
    hub.add_supplier("demo", protocol_config={"products": 3})
    job_id = hub.start_import("demo", mode="full_sellable").json["sync_job_id"]
    discover = next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction")
    hydrate = next(m for m in hub.mappings if m.fn.logical_id == "HydrateFunction")
    discover.poll_once()
    real = finalise.if_complete
    calls = {"n": 0}

    def dies_once(jobs, jid):
        calls["n"] += 1
        if calls["n"] == 1:
            raise Died
        return real(jobs, jid)

    monkeypatch.setattr(finalise, "if_complete", dies_once)
    hydrate.poll_once()  # the handler raised: nothing acknowledged, the message comes back
    assert calls["n"] == 1
    job = hub.job(job_id)
    assert (job["status"], job["success_count"]) == ("running", 3)
    # When the batch is redelivered (every SKU already has its outcome)
    hub.drain()
    # Then the redelivery finalises the job (not the sweeper, half an hour later, as failed)
    job = hub.job(job_id)
    assert (job["status"], job["success_count"], job["failed_count"]) == ("success", 3, 0)
    assert job["completed_at"]
