"""The local stack's moto transaction fix (apihub_local.moto_tuning) keeps all-or-nothing:
a cancelled TransactWriteItems leaves every item exactly as it was."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from apihub_local.moto_tuning import speed_up_transactions


@pytest.fixture
def table(aws_credentials: None):
    speed_up_transactions()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}})
        yield ddb


def _items(ddb) -> dict[tuple[str, str], dict]:
    return {(i["pk"]["S"], i["sk"]["S"]): i for i in ddb.scan(TableName="t")["Items"]}


def test_cancelled_transaction_undoes_its_puts_and_updates(table) -> None:
    # Given one item, when a transaction updates it, puts a new one, then fails a condition
    before = _items(table)
    with pytest.raises(ClientError) as info:
        table.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"S": "2"}}}},
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    # Then it is cancelled and nothing it did remains
    assert info.value.response["Error"]["Code"] == "ValidationException" or "Cancel" in str(info.value)
    assert _items(table) == before


def test_cancelled_transaction_undoes_earlier_items_when_a_later_condition_fails(table) -> None:
    before = _items(table)
    with pytest.raises(ClientError, match="TransactionCanceled"):
        table.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                        "UpdateExpression": "ADD n :one",
                        "ConditionExpression": "n > :five",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":five": {"N": "5"}},
                    }
                },
            ]
        )
    assert _items(table) == before


def test_committed_transaction_applies_everything(table) -> None:
    table.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    items = _items(table)
    assert set(items) == {("a", "1"), ("b", "1")}
    assert items[("a", "1")]["n"] == {"N": "2"}
