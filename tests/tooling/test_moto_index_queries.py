"""The local stack's moto index-query fix (apihub_local.moto_tuning.speed_up_index_queries) changes
speed only: a Query on a GSI sees every write, update, delete, batch and transaction before it."""

from __future__ import annotations

from typing import Any

import boto3
from moto import mock_aws

from apihub_local.moto_tuning import speed_up_index_queries


def _pk_sk_table(ddb: Any, name: str, *more_attributes: str, **options: Any) -> None:
    """A pay-per-request table keyed ``pk``/``sk`` (strings), with ``more_attributes`` declared."""
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", *more_attributes)],
        BillingMode="PAY_PER_REQUEST",
        **options,
    )


def test_index_queries_see_every_kind_of_write(aws_credentials: None) -> None:
    speed_up_index_queries()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        _pk_sk_table(
            ddb,
            "t",
            "status",
            "at",
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "ByStatus",
                    "KeySchema": [
                        {"AttributeName": "status", "KeyType": "HASH"},
                        {"AttributeName": "at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        )

        def put(pk: str, status: str | None, at: str) -> dict:
            item = {"pk": {"S": pk}, "sk": {"S": "META"}, "at": {"S": at}}
            if status:
                item["status"] = {"S": status}
            return item

        def query_failed(limit: int, forward: bool = False, below: str | None = None, **extra: Any) -> dict:
            """The failed jobs on the ByStatus index, optionally with ``at < below``."""
            condition, values = "#s = :s", {":s": {"S": "failed"}}
            names = {"#s": "status"}
            if below is not None:
                condition += " AND #a < :a"
                names["#a"], values[":a"] = "at", {"S": below}
            return ddb.query(
                TableName="t",
                IndexName="ByStatus",
                KeyConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ScanIndexForward=forward,
                Limit=limit,
                **extra,
            )

        def failed(limit: int = 10, forward: bool = False) -> list[str]:
            return [i["pk"]["S"] for i in query_failed(limit, forward)["Items"]]

        # Given jobs written one by one, in a batch, and one without the index key
        for n, status in enumerate(["failed", "success", "failed"]):
            ddb.put_item(TableName="t", Item=put(f"j{n}", status, f"2026-01-0{n + 1}"))
        ddb.batch_write_item(
            RequestItems={
                "t": [
                    {"PutRequest": {"Item": put("j3", "failed", "2026-01-04")}},
                    {"PutRequest": {"Item": put("j4", None, "2026-01-05")}},
                ]
            }
        )
        assert failed() == ["j3", "j2", "j0"]
        assert failed(limit=2, forward=True) == ["j0", "j2"]
        # and pages of 2 (newest first) walk all of them, then stop
        pages, start = [], None
        while True:
            res = query_failed(2, **({"ExclusiveStartKey": start} if start else {}))
            pages.append([i["pk"]["S"] for i in res["Items"]])
            start = res.get("LastEvaluatedKey")
            if not start:
                break
        assert pages == [["j3", "j2"], ["j0"]]
        # and a range condition still applies
        res = query_failed(1, forward=True, below="2026-01-04")
        assert [i["pk"]["S"] for i in res["Items"]] == ["j0"] and "LastEvaluatedKey" in res
        # When one changes status, one is deleted and a transaction adds another
        ddb.update_item(
            TableName="t",
            Key={"pk": {"S": "j1"}, "sk": {"S": "META"}},
            UpdateExpression="SET #s = :f",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":f": {"S": "failed"}},
        )
        ddb.delete_item(TableName="t", Key={"pk": {"S": "j2"}, "sk": {"S": "META"}})
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": put("j5", "failed", "2026-01-06")}}])
        # Then the index query sees each change at once
        assert failed() == ["j5", "j3", "j1", "j0"]


def test_table_key_queries_answer_as_before_from_their_partition(aws_credentials: None) -> None:
    speed_up_index_queries()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        _pk_sk_table(ddb, "p")
        # Given two partitions, written out of order, one item later deleted
        for pk, sk in [("B", "SLOT#2"), ("A", "SLOT#9"), ("B", "SLOT#0"), ("B", "OTHER"), ("B", "SLOT#1")]:
            ddb.put_item(TableName="p", Item={"pk": {"S": pk}, "sk": {"S": sk}})
        ddb.delete_item(TableName="p", Key={"pk": {"S": "B"}, "sk": {"S": "SLOT#1"}})

        def slots(pk: str, **extra: Any) -> dict:
            return ddb.query(
                TableName="p",
                KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                ExpressionAttributeValues={":p": {"S": pk}, ":s": {"S": "SLOT#"}},
                **extra,
            )

        # Then a Query on the table's key sees its partition only, sorted, after every write
        assert [i["sk"]["S"] for i in slots("B")["Items"]] == ["SLOT#0", "SLOT#2"]
        assert [i["sk"]["S"] for i in slots("B", ScanIndexForward=False)["Items"]] == ["SLOT#2", "SLOT#0"]
        assert [i["sk"]["S"] for i in slots("A")["Items"]] == ["SLOT#9"]
        assert slots("C")["Items"] == []
        # And pages as before
        first = slots("B", Limit=1)
        assert [i["sk"]["S"] for i in first["Items"]] == ["SLOT#0"]
        rest = slots("B", Limit=1, ExclusiveStartKey=first["LastEvaluatedKey"])
        assert [i["sk"]["S"] for i in rest["Items"]] == ["SLOT#2"]
