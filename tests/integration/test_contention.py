"""Contention is normal (issue 12): transactions cancelled for TransactionConflict are retried with
backoff; a caller sees the result, or 503 with Retry-After at the bound, never a 500."""

from __future__ import annotations


def test_job_creation_retries_transaction_conflicts_and_every_import_is_accepted(hub, aws_faults) -> None:
    # Given half of all transactions cancelled with TransactionConflict (another transaction held an item)
    for n in range(6):
        hub.add_supplier(f"s{n}", protocol_config={"products": 2})
    with aws_faults(0.5, kinds={"transaction_conflict"}, operations={"TransactWriteItems"}, seed=3) as faults:
        # When six suppliers' imports start
        answers = [hub.start_import(f"s{n}", mode="full_sellable") for n in range(6)]
    # Then every one was accepted: the conflicts were retried, none reached the caller
    assert faults.counts.get("transaction_conflict", 0) >= 3, faults.counts
    assert [a.status for a in answers] == [202] * 6, [a.json for a in answers]


def test_job_creation_that_stays_contended_is_a_503_with_retry_after(hub, aws_faults, monkeypatch) -> None:
    # Given every transaction cancelled with TransactionConflict, and a short retry budget
    monkeypatch.setenv("APIHUB_AWS_RETRY_MAX_ATTEMPTS", "3")
    from apihub.settings import reset_settings

    reset_settings()
    hub.add_supplier("busy", protocol_config={"products": 2})
    with aws_faults(1.0, kinds={"transaction_conflict"}, operations={"TransactWriteItems"}):
        res = hub.start_import("busy", mode="full_sellable")
    # Then the caller gets 503 with Retry-After and a detail naming the cause, not a 500
    assert res.status == 503, res.json
    assert "TransactionConflict" in res.json["detail"]
    assert int(res.headers["retry-after"]) >= 1
    # And the supplier is not left locked: the next import goes through
    reset_settings()
    assert hub.start_import("busy", mode="full_sellable").status == 202
