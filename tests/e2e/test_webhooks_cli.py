"""End to end: webhook subscriptions through the CLI on the local stack (`make run`), and a signed
delivery from its deliveries queue (the local SQS trigger) to a receiver on 127.0.0.1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest
from apihub.changes.signing import verify

from apihub_fakes.webhook_receiver import receiver

pytestmark = pytest.mark.e2e


def test_subscriptions_from_the_cli_and_a_signed_delivery_on_the_local_stack(stack_factory) -> None:
    stack = stack_factory(APIHUB_DEMO_PRODUCTS="5")
    with receiver() as rx:
        # Given a subscription added with the CLI to a loopback receiver (allowed on the local stack)
        added = stack.cli("subscriptions", "add", f"{rx.url}/hook", "--type", "product.updated", "--json")
        assert added.returncode == 0, added.stderr
        sub = json.loads(added.stdout)
        assert sub["secret"].startswith("whsec_") and sub["types"] == ["product.updated"]
        # And the human form says the secret is shown once
        shown = stack.cli("subscriptions", "add", f"{rx.url}/other", "--type", "job.finished", "--supplier", "demo")
        assert shown.returncode == 0 and "shown once" in shown.stdout, shown.stderr
        # Then `list` shows both, never a secret; a bad type is refused with the API's 422
        listed = stack.cli("subscriptions", "list", "--json")
        assert listed.returncode == 0 and "secret" not in listed.stdout
        assert sub["id"] in {s["id"] for s in json.loads(listed.stdout)}
        bad = stack.cli("subscriptions", "add", f"{rx.url}/hook", "--type", "product.renamed")
        assert bad.returncode == 1 and "HTTP 422" in bad.stderr and "types" in bad.stderr
        # When a delivery message reaches the stack's deliveries queue (as the dispatcher sends it)
        state = json.loads(Path(stack.env["APIHUB_LOCAL_STATE"]).read_text())
        sqs = boto3.client(
            "sqs",
            region_name="us-east-1",
            endpoint_url=state["endpoint"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        event = {"id": "evt_cli", "type": "product.updated", "occurred_at": "2026-11-26T00:00:00.000Z",
                 "supplier_id": "s", "product_id": "p", "job_id": None, "data": {}}  # fmt: skip
        body = json.dumps(event)
        message = {"subscription_id": sub["id"], "event_id": "evt_cli", "event_type": "product.updated", "body": body}
        sqs.send_message(QueueUrl=state["environment"]["APIHUB_WEBHOOK_QUEUE_URL"], MessageBody=json.dumps(message))
        # Then the local SQS trigger delivers it, signed
        deadline = time.monotonic() + 30
        while not rx.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        (req,) = rx.requests
        assert req["body"] == body.encode() and verify(sub["secret"], req["headers"]["Apihub-Signature"], req["body"])
    # And `deliveries` lists the attempt; `remove` deletes the subscription
    deliveries = stack.cli("subscriptions", "deliveries", sub["id"], "--json")
    assert deliveries.returncode == 0, deliveries.stderr
    assert [(d["event_id"], d["status_code"], d["outcome"]) for d in json.loads(deliveries.stdout)] == [
        ("evt_cli", 200, "delivered")
    ]
    table = stack.cli("subscriptions", "deliveries", sub["id"])
    assert table.returncode == 0 and "evt_cli" in table.stdout and "delivered" in table.stdout
    removed = stack.cli("subscriptions", "remove", sub["id"])
    assert removed.returncode == 0, removed.stderr
    assert sub["id"] not in stack.cli("subscriptions", "list", "--json").stdout
    gone = stack.cli("subscriptions", "deliveries", sub["id"])
    assert gone.returncode == 1 and "HTTP 404" in gone.stderr
