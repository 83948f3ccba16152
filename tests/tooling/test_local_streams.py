"""The local stack's DynamoDB stream event source mappings behave like Lambda's for streams, and a
cancelled transaction on moto leaves no stream record (as in DynamoDB)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from apihub_local.streams import StreamMapping, drain_streams
from apihub_local.template import FunctionDef, StreamSource

FIRST = 100


class FakeStreams:
    """One shard of records with sequence numbers FIRST, FIRST + 1, ..."""

    def __init__(self, count: int) -> None:
        self.records = [
            {"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(FIRST + n), "Keys": {"k": {"S": str(n)}}}}
            for n in range(count)
        ]

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(
        self, StreamArn: str, ShardId: str, ShardIteratorType: str, SequenceNumber: str = ""
    ) -> dict:
        return {"ShardIterator": SequenceNumber or str(FIRST)}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        start = int(ShardIterator) - FIRST
        return {"Records": self.records[start : start + Limit]}


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:
        self.sent.append(json.loads(MessageBody))


class FakeFunctions:
    """Invokes ``behaviour(sequence numbers) -> result`` (or raises), recording each batch."""

    def __init__(self, behaviour: Any) -> None:
        self.behaviour = behaviour
        self.batches: list[list[int]] = []

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]
        assert all(r["eventSourceARN"] == "arn:stream" for r in event["Records"])
        self.batches.append(seqs)
        return self.behaviour(seqs)


def mapping(behaviour: Any, count: int = 8, **source: Any) -> tuple[StreamMapping, FakeFunctions, FakeSqs]:
    functions, sqs = FakeFunctions(behaviour), FakeSqs()
    src = StreamSource(table="T", **{"batch_size": 8, "report_failures": True, **source})
    fn = FunctionDef("Fn", "functions/fn", "app.handler", 10, streams=[src])
    m = StreamMapping(functions, fn, src, "arn:stream", FakeStreams(count), sqs, on_failure_url="dlq")  # type: ignore[arg-type]
    return m, functions, sqs


def test_a_reported_failure_resumes_the_batch_at_the_lowest_reported_record() -> None:
    calls = {"n": 0}

    def behaviour(seqs: list[int]) -> dict:
        calls["n"] += 1
        failed = [s for s in seqs if s in (FIRST + 5, FIRST + 3)] if calls["n"] == 1 else []
        return {"batchItemFailures": [{"itemIdentifier": str(s)} for s in failed]}

    m, functions, _ = mapping(behaviour)
    drain_streams([m])
    assert functions.batches == [list(range(FIRST, FIRST + 8)), list(range(FIRST + 3, FIRST + 8))]


def test_an_identifier_not_in_the_batch_fails_the_whole_batch() -> None:
    calls = {"n": 0}

    def behaviour(seqs: list[int]) -> dict:
        calls["n"] += 1
        return {"batchItemFailures": [{"itemIdentifier": "nonsense"}]} if calls["n"] == 1 else {}

    m, functions, _ = mapping(behaviour, count=3)
    drain_streams([m])
    assert functions.batches == [[FIRST, FIRST + 1, FIRST + 2]] * 2


def test_an_error_bisects_down_to_the_record_at_fault_which_goes_to_the_on_failure_queue_after_its_retries() -> None:
    def behaviour(seqs: list[int]) -> dict:
        if FIRST + 5 in seqs:
            raise RuntimeError("poisoned record")
        return {"batchItemFailures": []}

    m, functions, sqs = mapping(behaviour, bisect_on_error=True, max_retries=3)
    drain_streams([m])
    # Every other record was delivered in a batch that succeeded; the poisoned one is described once
    succeeded = {s for batch in functions.batches if FIRST + 5 not in batch for s in batch}
    assert succeeded == set(range(FIRST, FIRST + 8)) - {FIRST + 5}
    (failure,) = sqs.sent
    info = failure["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (str(FIRST + 5), str(FIRST + 5))
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    # Batches were halved on the way (8 -> 4 -> 2 -> 1), never bigger again until the record was dropped
    assert [FIRST + 5] in functions.batches


def test_without_bisection_the_whole_batch_is_retried_then_handed_over() -> None:
    def behaviour(seqs: list[int]) -> dict:
        raise RuntimeError("down")

    m, functions, sqs = mapping(behaviour, count=4, max_retries=2)
    drain_streams([m])
    assert functions.batches == [[FIRST, FIRST + 1, FIRST + 2, FIRST + 3]] * 3
    assert sqs.sent[0]["DDBStreamBatchInfo"]["batchSize"] == 4


@pytest.fixture
def moto_table(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    from apihub_local.moto_tuning import speed_up_transactions

    speed_up_transactions()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        table = ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        streams = boto3.client(
            "dynamodbstreams", region_name="us-east-1", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com/"
        )
        yield ddb, streams, table["LatestStreamArn"]


def _records(streams: Any, arn: str) -> list[dict[str, Any]]:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=it)["Records"]


def test_a_cancelled_transaction_leaves_no_stream_record(moto_table: Any) -> None:
    ddb, streams, arn = moto_table
    ddb.put_item(TableName="t", Item={"k": {"S": "taken"}})
    put = {"Put": {"TableName": "t", "Item": {"k": {"S": "new"}}}}
    clash = {"Put": {"TableName": "t", "Item": {"k": {"S": "taken"}}, "ConditionExpression": "attribute_not_exists(k)"}}
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[put, clash])
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in _records(streams, arn)] == ["taken"]
    ddb.transact_write_items(TransactItems=[put])
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in _records(streams, arn)] == ["taken", "new"]
