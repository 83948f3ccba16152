"""What the local stack's moto fixes (apihub_local.moto_tuning) buy, on in-process moto.

    .venv/bin/python bench/moto_bench.py [transaction|sqs|receive ...]   # patched and unpatched, each in its own process

* transaction: median of 5 TransactWriteItems of 90 items (45 outcome puts + 45 product puts, as a
  hydrate commit) on two tables of 10,000 items each;
* sqs: SendMessageBatch of 1,000 messages (100 calls) into one standard queue;
* receive: ReceiveMessage + DeleteMessageBatch of 10 at a time until a queue of 2,000 messages
  (sent beforehand, not timed) is empty (the send fix applied in both variants).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]


def transaction_ms(d: object) -> float:
    for table in ("jobs", "products"):
        d.create_table(  # type: ignore[attr-defined]
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(0, 10_000, 25):
            d.batch_write_item(  # type: ignore[attr-defined]
                RequestItems={
                    table: [
                        {
                            "PutRequest": {
                                "Item": {
                                    "pk": {"S": f"P{(i + j) // 1000}"},
                                    "sk": {"S": f"S{i + j}"},
                                    "data": {"S": "x" * 300},
                                }
                            }
                        }
                        for j in range(25)
                    ]
                }
            )
    timings = []
    for k in range(5):
        items = []
        for j in range(45):
            items.append(
                {
                    "Put": {
                        "TableName": "jobs",
                        "Item": {"pk": {"S": "JOB"}, "sk": {"S": f"PRODUCT#{k}-{j}"}},
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                }
            )
            items.append(
                {
                    "Put": {
                        "TableName": "products",
                        "Item": {"pk": {"S": "SUP"}, "sk": {"S": f"{k}-{j}"}, "data": {"S": "y" * 300}},
                    }
                }
            )
        started = time.perf_counter()
        d.transact_write_items(TransactItems=items)  # type: ignore[attr-defined]
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def sqs_s(s: object) -> float:
    url = s.create_queue(QueueName="q")["QueueUrl"]  # type: ignore[attr-defined]
    started = time.perf_counter()
    for i in range(0, 1000, 10):
        s.send_message_batch(  # type: ignore[attr-defined]
            QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": f"m{i + j}"} for j in range(10)]
        )
    return time.perf_counter() - started


def receive_s(s: object) -> float:
    url = s.create_queue(QueueName="r")["QueueUrl"]  # type: ignore[attr-defined]
    for i in range(0, 2000, 10):
        s.send_message_batch(  # type: ignore[attr-defined]
            QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": f"m{i + j}"} for j in range(10)]
        )
    started = time.perf_counter()
    while True:
        got = s.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])  # type: ignore[attr-defined]
        if not got:
            return time.perf_counter() - started
        s.delete_message_batch(  # type: ignore[attr-defined]
            QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got)]
        )


def one(which: str, patched: bool) -> str:
    import os

    import boto3
    from moto import mock_aws

    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"})
    from apihub_local import moto_tuning

    with mock_aws():
        if which == "transaction":
            if patched:
                moto_tuning.speed_up_transactions()
            return f"{transaction_ms(boto3.client('dynamodb')):.0f} ms"
        if which == "receive":
            moto_tuning.speed_up_sqs_sends()
            if patched:
                moto_tuning.speed_up_sqs_receives()
            return f"{receive_s(boto3.client('sqs')):.1f} s"
        if patched:
            moto_tuning.speed_up_sqs_sends()
        return f"{sqs_s(boto3.client('sqs')):.1f} s"


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[2] in ("patched", "unpatched"):
        print(one(sys.argv[1], sys.argv[2] == "patched"))
        return 0
    for which in sys.argv[1:] or ("transaction", "sqs", "receive"):
        row = []
        for variant in ("unpatched", "patched"):
            out = subprocess.run([sys.executable, __file__, which, variant], capture_output=True, text=True, check=True)  # noqa: S603
            row.append(f"{variant} {out.stdout.strip()}")
        print(f"{which}: {', '.join(row)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
