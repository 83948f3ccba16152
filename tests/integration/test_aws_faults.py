"""Injected AWS faults (apihub_local.aws_faults) on moto: each kind answers what AWS answers (error
code, cancellation reasons), botocore retries what it would retry, the counts are exact, and rate 0
injects nothing. Then apihub's own code under the faults."""

from __future__ import annotations

from dataclasses import replace

import boto3
import pytest
from apihub.dal.tables import LockItem, RefsChunkItem, TokenItem, bind_tables
from apihub.settings import get_settings
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries import standard
from pynamodb.exceptions import GetError, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from apihub_local.aws_faults import AwsFaults, parse_summary


@pytest.fixture(autouse=True)
def no_botocore_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retries, without their pauses (up to seconds each): the attempts are what count."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


def _transact_two_puts(pk: str) -> None:
    with TransactWrite(connection=bind_tables(get_settings())) as tw:
        tw.save(RefsChunkItem(pk, "REFS#0", skus=["A"]))
        tw.save(RefsChunkItem(pk, "REFS#1", skus=["B"]))


def _exists(pk: str, sk: str) -> bool:
    return RefsChunkItem.count(pk, RefsChunkItem.sk == sk, consistent_read=True) > 0


# ------------------------------------------------------------------ each kind, as AWS answers it


def test_a_transaction_conflict_is_a_cancellation_with_one_reason_per_item_and_nothing_written(hub, aws_faults) -> None:
    with aws_faults(1.0, kinds={"transaction_conflict"}) as faults, pytest.raises(TransactWriteError) as info:
        _transact_two_puts("JOB#tx")
    # PynamoDB reports the cancellation with AWS's reasons: one per item, one of them the conflict
    assert info.value.cause_response_code == "TransactionCanceledException"
    codes = [r.code if r else None for r in info.value.cancellation_reasons]
    assert len(codes) == 2 and codes.count("TransactionConflict") == 1 and codes.count(None) == 1
    # botocore does not retry a cancelled transaction, and nothing was written
    assert faults.attempts["TransactWriteItems"] == 1 and faults.counts == {"transaction_conflict": 1}
    assert not _exists("JOB#tx", "REFS#0") and not _exists("JOB#tx", "REFS#1")


@pytest.mark.parametrize(
    ("kind", "code"),
    [("throttling", "ThrottlingException"), ("provisioned_throughput", "ProvisionedThroughputExceededException")],
)
def test_throttling_is_retried_by_botocore_then_raised_with_its_code(hub, aws_faults, kind: str, code: str) -> None:
    with aws_faults(1.0, kinds={kind}) as faults, pytest.raises(GetError) as info:
        TokenItem.get("nope", consistent_read=True)
    assert info.value.cause_response_code == code
    # PynamoDB's client makes 4 attempts (1 + max_retry_attempts 3, botocore standard mode): all faulted
    assert faults.attempts["GetItem"] == 4 and faults.counts == {kind: 4}


def test_an_internal_server_error_is_a_500_retried_by_botocore(hub, aws_faults) -> None:
    with aws_faults(1.0, kinds={"internal_error"}) as faults, pytest.raises(PutError) as info:
        LockItem("LOCK#x", "LOCK", job_id="j", acquired_at="t").save()
    assert info.value.cause_response_code == "InternalServerError"
    assert info.value.cause.__cause__.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert faults.attempts["PutItem"] == 4 and faults.counts == {"internal_error": 4}


def test_a_write_that_meets_a_transaction_is_not_retried_by_botocore(hub, aws_faults) -> None:
    with aws_faults(1.0, kinds={"write_conflict"}) as faults, pytest.raises(UpdateError) as info:
        TokenItem("t").update(actions=[TokenItem.revoked.set(True)])
    assert info.value.cause_response_code == "TransactionConflictException"
    assert faults.attempts["UpdateItem"] == 1 and faults.counts == {"write_conflict": 1}


def test_faults_hook_any_boto3_client_and_botocore_retries_up_to_its_setting(hub, aws_faults) -> None:
    # A boto3 client of its own (not apihub's), with 2 retries: 3 attempts, each one faulted
    ddb = boto3.client(
        "dynamodb", region_name="us-east-1", config=Config(retries={"mode": "standard", "max_attempts": 2})
    )
    faulted = aws_faults(1.0, kinds={"throttling"}, targets=[ddb], apihub=False)
    with faulted as faults, pytest.raises(ClientError) as info:
        ddb.get_item(TableName=get_settings().tokens_table, Key={"token_hash": {"S": "x"}})
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 2 and faults.counts == {"throttling": 3}


def test_sqs_send_failures_whole_calls_and_batch_entries(hub, aws_faults) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="aws-faults-test")["QueueUrl"]

    def queued() -> int:
        return int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"]
        )

    # A failed SendMessage is a 500 InternalError, retried by botocore, and sends nothing
    faulted = aws_faults(1.0, kinds={"sqs_send_error"}, targets=[sqs], apihub=False)
    with faulted as faults, pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert info.value.response["Error"]["Code"] == "InternalError"
    assert faults.counts["sqs_send_error"] == faults.attempts["SendMessage"] > 1
    assert queued() == 0
    # A partly failed SendMessageBatch succeeds as a call: the failed entries are listed and not sent
    entries = [{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)]
    with aws_faults(1.0, kinds={"sqs_batch_entries"}, seed=7, targets=[sqs], apihub=False) as faults:
        resp = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    failed = {f["Id"] for f in resp["Failed"]}
    sent = {s["Id"] for s in resp.get("Successful", [])}
    assert failed and failed | sent == {str(i) for i in range(10)} and not failed & sent
    assert all(f["SenderFault"] is False and f["Code"] == "InternalError" for f in resp["Failed"])
    assert faults.counts == {"sqs_batch_entries": len(failed)} and queued() == len(sent)


def test_at_rate_zero_nothing_is_injected(hub, aws_faults) -> None:
    with aws_faults(0.0) as faults:
        _transact_two_puts("JOB#zero")
        hub.token("viewer")
    assert faults.counts == {} and faults.attempts["TransactWriteItems"] == 1 and faults.attempts["PutItem"] >= 1
    assert _exists("JOB#zero", "REFS#0") and _exists("JOB#zero", "REFS#1")


def test_the_share_injected_follows_the_rate(hub, aws_faults) -> None:
    with aws_faults(0.3, kinds={"write_conflict"}, seed=1) as faults:
        for i in range(200):
            try:
                RefsChunkItem("JOB#share", f"REFS#{i}", skus=["A"]).save()
            except PutError:
                pass
    assert faults.attempts["PutItem"] == 200
    assert 40 <= faults.counts["write_conflict"] <= 80  # 60 expected; the seed makes it exact
    stored = RefsChunkItem.count("JOB#share", consistent_read=True)
    assert stored == 200 - faults.counts["write_conflict"]


def test_a_chooser_decides_each_attempt_instead_of_the_rate(hub, aws_faults) -> None:
    # Given a schedule: the first two PutItem attempts throttled, then one refused as a conflict
    schedule = iter(["throttling", "provisioned_throughput", None, "write_conflict"])
    asked: list[tuple[str, str]] = []

    def choose(service: str, operation: str) -> str | None:
        asked.append((service, operation))
        return next(schedule, None)

    kinds = {"throttling", "provisioned_throughput", "write_conflict"}
    with aws_faults(0.0, kinds=kinds, operations={"PutItem"}, chooser=choose) as faults:
        # When a write is made (botocore retries the throttled attempts), then another
        RefsChunkItem("JOB#chooser", "REFS#0", skus=["A"]).save()
        with pytest.raises(PutError) as info:
            RefsChunkItem("JOB#chooser", "REFS#1", skus=["B"]).save()
        RefsChunkItem.count("JOB#chooser", consistent_read=True)  # not a PutItem: never asked about
    # Then the faults are exactly the schedule's, each answered as AWS answers it
    assert faults.counts == {"throttling": 1, "provisioned_throughput": 1, "write_conflict": 1}
    assert info.value.cause_response_code == "TransactionConflictException"
    assert asked == [("dynamodb", "PutItem")] * 4 and faults.attempts["PutItem"] == 4
    assert _exists("JOB#chooser", "REFS#0") and not _exists("JOB#chooser", "REFS#1")
    # And a chooser may only name a kind that applies to the call
    with aws_faults(0.0, kinds={"throttling"}, chooser=lambda *_: "write_conflict"), pytest.raises(ValueError):
        TokenItem.get("nope", consistent_read=True)


def test_only_one_set_of_faults_at_a_time(hub, aws_faults) -> None:
    with aws_faults(0.1), pytest.raises(RuntimeError), aws_faults(0.1):
        pass


def test_the_counts_are_reported_in_one_line_that_reads_back() -> None:
    faults = AwsFaults(0.5, seed=1)
    assert parse_summary("no faults line here") is None
    assert faults.summary() == "AWS faults injected: none" and parse_summary(faults.summary()) == {}
    faults.counts.update({"throttling": 3, "sqs_batch_entries": 2})
    log = f"apihub is ready\n{faults.summary()}\napihub local stack stopped\n"
    assert parse_summary(log) == {"sqs_batch_entries": 2, "throttling": 3}


def test_unknown_kinds_and_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="kinds"):
        AwsFaults(0.1, kinds={"gremlins"})
    with pytest.raises(ValueError, match="rate"):
        AwsFaults(1.5)


# ------------------------------------------------------------------ apihub's retries under the faults


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    from apihub.settings import reset_settings

    for name, value in {"BASE_MS": "1", "CAP_MS": "4", "MAX_ATTEMPTS": "6", "BUDGET_MS": "5000"}.items():
        monkeypatch.setenv(f"APIHUB_AWS_RETRY_{name}", value)
    reset_settings()


def test_retried_writes_ride_out_conflicts_and_throttling(hub, aws_faults, fast_retries) -> None:
    from apihub.dal.limits import LimitsRepository
    from apihub.dal.tokens import TokensRepository

    token = hub.token("viewer")
    with aws_faults(
        0.5, kinds={"write_conflict", "throttling"}, seed=3, operations={"PutItem", "UpdateItem"}
    ) as faults:
        for _ in range(10):
            TokensRepository().revoke(token)
        slots = [LimitsRepository().acquire_slot("sup", 8, f"worker-{i}", 60_000, 0) for i in range(8)]
    # Every write landed although half the attempts were faulted
    assert faults.counts["write_conflict"] > 0 and faults.counts["throttling"] > 0
    assert TokensRepository().lookup(token).revoked
    assert sorted(s.number for s in slots if s is not None) == list(range(8))


def test_a_conflict_that_never_ends_is_service_busy(hub, aws_faults, fast_retries) -> None:
    from apihub.dal.tokens import TokensRepository
    from apihub.errors import ServiceBusy

    token = hub.token("viewer")
    with aws_faults(1.0, kinds={"write_conflict"}) as faults, pytest.raises(ServiceBusy) as info:
        TokensRepository().revoke(token)
    assert faults.counts == {"write_conflict": 6} and info.value.retry_after_s == 1


# ------------------------------------------------------------------ an import under transaction conflicts


def test_an_import_under_transaction_conflicts_ends_with_exact_counts(hub, aws_faults, monkeypatch) -> None:
    from apihub.settings import reset_settings

    # Given a demo supplier with 30 products, two of which fail, hydrated 3 per message and one
    # message per invocation: a dozen transactions (job start, ten outcome batches, finalise)
    monkeypatch.setenv("APIHUB_HYDRATE_REFS_PER_MESSAGE", "3")
    monkeypatch.setenv("APIHUB_HYDRATE_REFS_PER_MESSAGE_MAX", "3")
    reset_settings()
    for mapping in hub.mappings:
        if mapping.fn.logical_id == "HydrateFunction":
            mapping.source = replace(mapping.source, batch_size=1)
    hub.add_supplier("demo", protocol_config={"products": 30, "fail_skus": ["DEMO-00004", "DEMO-00011"]})
    # When an import runs with 30% of its transactions cancelled for a conflict (until job creation
    # retries conflicts itself, issue 12, a start may answer 503: the client tries again)
    with aws_faults(0.3, kinds={"transaction_conflict"}, operations={"TransactWriteItems"}, seed=1) as faults:
        answers = [hub.start_import("demo", mode="full_sellable")]
        while answers[-1].status == 503 and len(answers) < 10:  # a client retries a 503 (Retry-After)
            answers.append(hub.start_import("demo", mode="full_sellable"))
        hub.drain()
    # Then the caller saw only the result or 503 with Retry-After, never a 500
    assert [a.status for a in answers[:-1]] == [503] * (len(answers) - 1) and answers[-1].status == 202
    assert all(int({k.lower(): v for k, v in a.headers.items()}["retry-after"]) >= 1 for a in answers[:-1])
    # And the job ended with every product counted exactly once
    job = hub.job(answers[-1].json["sync_job_id"])
    assert faults.counts["transaction_conflict"] > 0, (faults.counts, faults.attempts)
    assert job["status"] == "partial_success"
    assert (job["total_products"], job["success_count"], job["failed_count"]) == (30, 28, 2)
    assert sorted(e["sku"] for e in job["errors"]) == ["DEMO-00004", "DEMO-00011"]
