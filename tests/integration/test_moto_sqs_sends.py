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
