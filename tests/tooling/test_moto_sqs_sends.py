"""The local stack's moto SQS send fix (apihub_local.moto_tuning.speed_up_sqs_sends) changes speed
only: counts and FIFO content-based de-duplication behave as before."""

from __future__ import annotations

import boto3
from moto import mock_aws

from apihub_local.moto_tuning import speed_up_sqs_sends


def test_sends_still_count_and_fifo_still_deduplicates(aws_credentials: None) -> None:
    speed_up_sqs_sends()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        plain = sqs.create_queue(QueueName="plain")["QueueUrl"]
        fifo = sqs.create_queue(
            QueueName="q.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        )["QueueUrl"]
        # Given 30 messages sent in batches, and one FIFO body sent twice
        for start in range(0, 30, 10):
            sqs.send_message_batch(
                QueueUrl=plain, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
            )
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")

        def count(url: str) -> str:
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            return attrs["ApproximateNumberOfMessages"]

        # Then every plain message is there, the duplicate is dropped, attributes still read in full
        assert count(plain) == "30"
        assert count(fifo) == "1"
        attrs = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"]
        assert attrs["ContentBasedDeduplication"] == "true"


def test_receives_still_drop_messages_past_retention(aws_credentials: None) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    from apihub_local.moto_tuning import speed_up_sqs_receives

    speed_up_sqs_receives()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        urls = {
            name: sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
            for name in ("stale", "fresh")
        }
        # Given a message sent two minutes ago (past the 60 s retention) and one sent just now
        for url in urls.values():
            sqs.send_message(QueueUrl=url, MessageBody="m")
        sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues["stale"]._messages[0].sent_timestamp -= 120_000

        def received(name: str) -> int:
            return len(sqs.receive_message(QueueUrl=urls[name], MaxNumberOfMessages=10).get("Messages", []))

        # Then the stale one is not delivered and the fresh one is
        assert (received("stale"), received("fresh")) == (0, 1)
