"""Invariant 8: one product that cannot be stored fails alone; a product too big for a DynamoDB
item still imports, its body in S3 (issue 12, finding 1).

What moto 5.2.5 enforces, probed against it: a Put over 400 KB and a key over 1,024 bytes are a
``ValidationException`` for the whole ``TransactWriteItems`` request, as in AWS (AWS reports a
Put's size before the transaction opens); 101 items are refused. It does not enforce the 4 MB
aggregate, nor report an Update that would grow an item past 400 KB as a cancellation: where a test
needs those, a botocore hook on the transactions' client raises what AWS raises (each test says so).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from apihub.dal import bodies
from apihub.dal.jobs import JobsRepository, Outcome
from apihub.dal.jobs import writes as writes_module
from apihub.dal.products import ProductsRepository, to_model
from apihub.dal.sizes import TRANSACTION_BYTES_MAX, item_bytes
from apihub.dal.tables import ProductItem
from apihub.models import Product, ProductPart
from apihub.settings import reset_settings
from botocore.exceptions import ClientError

LONG_SKU = "\U0001f642" * 300  # 300 characters, 1,200 UTF-8 bytes: passes a length check in characters


def _product(sku: str, parts: int = 3, seed: int = 1) -> Product:
    """A product whose compressed body grows with ``parts`` (random part ids do not compress):
    30,000 parts are about 630 KB compressed, 12,000 about 250 KB."""
    rng = random.Random(seed)
    return Product(
        product_id=sku,
        name=f"Product {sku[:20]}",
        parts=[ProductPart(part_id=f"{rng.getrandbits(128):032x}", color="Navy", size="XL") for _ in range(parts)],
    )


def _running_job(hub: Any) -> tuple[JobsRepository, str, str]:
    supplier = hub.add_supplier("demo", protocol_config={"products": 3})
    res = hub.start_import("demo", mode="full_sellable")
    assert res.status == 202, res.json
    next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction").poll_once()
    return JobsRepository(), res.json["sync_job_id"], supplier["id"]


def _record(repo: JobsRepository, job_id: str, outcomes: list[Outcome], *, stale: bool = False):
    item = repo.get_item(job_id)
    known = {} if stale else repo.stores.product_states(item.supplier_id, [o.sku for o in outcomes if o.ok])
    return repo.record_outcomes(item, outcomes, known)


def _s3_bodies(hub: Any) -> list[str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    listing = s3.list_objects_v2(Bucket=hub.stack.refs["ProductBodiesBucket"])
    return sorted(o["Key"] for o in listing.get("Contents", []))


def _batch() -> list[Outcome]:
    return [
        Outcome("SMALL-1", product=_product("SMALL-1")),
        Outcome("BIG", product=_product("BIG", parts=30_000)),
        Outcome("SMALL-2", product=_product("SMALL-2")),
    ]


def test_a_product_too_big_for_an_item_imports_with_its_body_in_s3(hub) -> None:
    # Given a running job and a batch whose middle product is ~630 KB compressed
    repo, job_id, supplier_id = _running_job(hub)
    # When the batch is recorded
    result = _record(repo, job_id, _batch())
    # Then all three import; the big one's item points at its body in S3
    assert sorted(result.recorded) == ["BIG", "SMALL-1", "SMALL-2"] and result.unstorable == []
    job = repo.get(job_id)
    assert (job.success_count, job.failed_count, job.errors) == (3, 0, [])
    stored = ProductItem.get(supplier_id, "BIG")
    assert stored.data is None and stored.body_ref
    assert _s3_bodies(hub) == [stored.body_ref]
    # and it reads back whole, through the API too
    res = hub.api("GET", f"/api/suppliers/{supplier_id}/products/BIG")
    assert res.status == 200 and len(res.json["parts"]) == 30_000
    assert res.json["content_hash"] == _product("BIG", parts=30_000).compute_hash()
    # When a duplicate copy of the batch, which read the products before the first commit, arrives
    again = _record(repo, job_id, _batch(), stale=True)
    # Then nothing is counted twice and the body it uploaded is gone again
    assert again.recorded == [] and sorted(again.duplicates) == ["BIG", "SMALL-1", "SMALL-2"]
    job = repo.get(job_id)
    assert (job.success_count, job.failed_count) == (3, 0)
    assert _s3_bodies(hub) == [stored.body_ref]


@pytest.mark.parametrize("store", ["none", "failing"])
def test_without_a_working_body_store_the_big_product_fails_alone(hub, monkeypatch, store: str) -> None:
    # Given no S3 bucket configured, or one S3 refuses (it does not exist)
    repo, job_id, _ = _running_job(hub)
    monkeypatch.setenv("APIHUB_BODIES_BUCKET", "" if store == "none" else "apihub-no-such-bucket")
    reset_settings()
    # When the batch with the ~630 KB product is recorded
    batch = _batch()
    result = _record(repo, job_id, batch)
    # Then its neighbours import and it fails with the reason, once
    assert sorted(result.recorded) == ["BIG", "SMALL-1", "SMALL-2"] and result.unstorable == ["BIG"]
    job = repo.get(job_id)
    assert (job.success_count, job.failed_count) == (2, 1)
    (error,) = job.errors
    assert error.sku == "BIG" and error.error.startswith("ProductError: stored item too large (")
    assert "KB > 400 KB)" in error.error
    assert ("body store failed (NoSuchBucket" in error.error) == (store == "failing")
    assert not batch[1].ok  # the caller's outcome says so too (its metrics count a failure)
    listed = hub.api("GET", f"/api/sync-jobs/{job_id}/errors").json
    assert [e["sku"] for e in listed] == ["BIG"]
    # When the batch is delivered again
    again = _record(repo, job_id, _batch())
    # Then nothing moves
    assert again.recorded == [] and len(again.duplicates) == 3
    assert (repo.get(job_id).success_count, repo.get(job_id).failed_count) == (2, 1)


def test_a_sku_too_long_for_a_key_fails_alone_and_exactly_once(hub) -> None:
    # Given a batch with a SKU of 1,200 bytes (300 characters) and one of exactly 1,016 bytes
    repo, job_id, supplier_id = _running_job(hub)
    longest = "a" * 1016  # PRODUCT#<sku> is then exactly 1,024 bytes: the longest that fits

    def batch() -> list[Outcome]:
        return [Outcome(s, product=_product(s)) for s in ("SMALL-1", LONG_SKU, longest)]

    # When it is recorded
    result = _record(repo, job_id, batch())
    # Then the long one fails with why, the others import (the 1,016-byte one as a product too)
    assert len(result.recorded) == 3 and result.unstorable == [LONG_SKU]
    job = repo.get(job_id)
    assert (job.success_count, job.failed_count) == (2, 1)
    (error,) = job.errors
    assert error.sku.startswith("sha256:")
    assert error.error.startswith("ProductError: product id too long to store (1,200 bytes > 1,016 bytes)")
    assert ProductsRepository().get(supplier_id, longest).product_id == longest
    # and a redelivery sees its outcome and counts nothing twice
    groups = repo.get_item(job_id).outcome_groups
    assert repo.recorded_skus(job_id, [o.sku for o in batch()], groups) == {"SMALL-1", LONG_SKU, longest}
    again = _record(repo, job_id, batch())
    assert again.recorded == [] and len(again.duplicates) == 3
    assert (repo.get(job_id).success_count, repo.get(job_id).failed_count) == (2, 1)


def test_what_the_checks_miss_dynamodb_refuses_and_only_that_product_fails(hub, monkeypatch) -> None:
    """The checks before the transaction are bypassed (their item limit raised, no S3), so the
    ~630 KB item reaches DynamoDB: moto refuses the whole request with a ValidationException, as
    AWS does for a Put over 400 KB. The batch is split until the one product is alone."""
    # Given a batch of five whose middle product DynamoDB will refuse
    repo, job_id, _ = _running_job(hub)
    monkeypatch.setattr(writes_module, "ITEM_MAX", 10**9)
    monkeypatch.setenv("APIHUB_BODIES_BUCKET", "")
    reset_settings()
    skus = ["S-1", "S-2", "BIG", "S-3", "S-4"]
    batch = [Outcome(s, product=_product(s, parts=30_000 if s == "BIG" else 3)) for s in skus]
    # When it is recorded
    result = _record(repo, job_id, batch)
    # Then the four others import and the big one fails with DynamoDB's reason
    assert sorted(result.recorded) == sorted(skus) and result.unstorable == ["BIG"]
    job = repo.get(job_id)
    assert (job.success_count, job.failed_count) == (4, 1)
    assert job.errors[0].error == "ProductError: could not be stored (Item size has exceeded the maximum allowed size)"


@contextmanager
def _on_transactions(repo: JobsRepository, check: Any) -> Iterator[list[dict]]:
    """Run ``check(params)`` before every TransactWriteItems the jobs repository sends (a botocore
    hook on its client); ``check`` raises the ClientError AWS would. Yields the requests seen."""
    seen: list[dict] = []

    def hook(params: dict, **_: Any) -> None:
        seen.append(params)
        check(params)

    events = repo.conn.client.meta.events
    events.register("before-parameter-build.dynamodb.TransactWriteItems", hook)
    try:
        yield seen
    finally:
        events.unregister("before-parameter-build.dynamodb.TransactWriteItems", hook)


def _transaction_bytes(params: dict) -> int:
    """Puts count their item; updates count their key (what the request shows)."""
    total = 0
    for entry in params["TransactItems"]:
        ((kind, op),) = entry.items()
        total += item_bytes(op["Item"] if kind == "Put" else op["Key"])
    return total


def test_transactions_stay_under_dynamodb_4_mb(hub, monkeypatch) -> None:
    """moto does not enforce the 4 MB aggregate: a hook refuses a bigger transaction with the
    ValidationException AWS returns for the whole request."""

    def aws_limit(params: dict) -> None:
        if _transaction_bytes(params) > TRANSACTION_BYTES_MAX:
            error = {"Code": "ValidationException", "Message": "Transaction request cannot be larger than 4 MB"}
            raise ClientError({"Error": error}, "TransactWriteItems")

    # Given twenty products of ~250 KB compressed each (kept in their items): 5 MB together
    repo, job_id, _ = _running_job(hub)
    batch = [Outcome(f"P-{i:02d}", product=_product(f"P-{i:02d}", parts=12_000, seed=i)) for i in range(20)]
    # When they are recorded
    with _on_transactions(repo, aws_limit) as seen:
        result = _record(repo, job_id, batch)
    # Then every transaction stayed under 4 MB, and all twenty imported, in more than one
    assert len(result.recorded) == 20 and result.unstorable == [] and result.products_written == 20
    assert len(seen) >= 2 and all(_transaction_bytes(p) <= TRANSACTION_BYTES_MAX for p in seen)
    assert (repo.get(job_id).success_count, repo.get(job_id).failed_count) == (20, 0)


def test_a_job_item_too_full_for_more_errors_still_counts_them(hub) -> None:
    """moto does not report an Update that would grow an item past 400 KB as a cancellation: a
    hook raises AWS's TransactionCanceledException with a ValidationError reason on the job update
    whenever it appends errors (as it would once the job item is full)."""

    def full_job_item(params: dict) -> None:
        reasons = [
            {"Code": "ValidationError", "Message": "Item size to update has exceeded the maximum allowed size"}
            if "list_append" in entry.get("Update", {}).get("UpdateExpression", "")
            else {"Code": "None"}
            for entry in params["TransactItems"]
        ]
        if any(r["Code"] != "None" for r in reasons):
            error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
            raise ClientError({"Error": error, "CancellationReasons": reasons}, "TransactWriteItems")

    # Given a batch with two failures and a success
    repo, job_id, _ = _running_job(hub)
    batch = [Outcome("F-1", error="ProductError: 130 x"), Outcome("OK-1", product=_product("OK-1"))]
    batch.append(Outcome("F-2", error="ProductError: 130 y"))
    # When the job item cannot take their errors
    with _on_transactions(repo, full_job_item):
        result = _record(repo, job_id, batch)
    # Then all three are counted; the errors are behind /errors, and the job says its list is cut
    assert sorted(result.recorded) == ["F-1", "F-2", "OK-1"]
    job = repo.get(job_id)
    assert (job.success_count, job.failed_count, job.errors, job.errors_truncated) == (1, 2, [], True)
    listed = hub.api("GET", f"/api/sync-jobs/{job_id}/errors").json
    assert sorted(e["sku"] for e in listed) == ["F-1", "F-2"]


def test_a_replaced_body_is_deleted_and_a_reader_holding_the_old_item_reads_the_new_one(hub) -> None:
    # Given a big product stored in S3, and a reader that has read its item
    repo, job_id, supplier_id = _running_job(hub)
    _record(repo, job_id, [Outcome("BIG", product=_product("BIG", parts=30_000, seed=1))])
    old_item = ProductItem.get(supplier_id, "BIG")
    # When a later job stores new content for it
    _record(repo, _second_job(hub), [Outcome("BIG", product=_product("BIG", parts=30_000, seed=2))])
    # Then the old body is deleted, only the new one is left
    new_item = ProductItem.get(supplier_id, "BIG")
    assert new_item.body_ref != old_item.body_ref
    assert _s3_bodies(hub) == [new_item.body_ref]
    # and the reader still gets a whole product: the new one
    assert to_model(old_item).content_hash == _product("BIG", parts=30_000, seed=2).compute_hash()


def _second_job(hub: Any) -> str:
    res = hub.start_import("demo", mode="delta")
    assert res.status == 202, res.json
    next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction").poll_once()
    return str(res.json["sync_job_id"])


def test_the_local_stack_makes_the_bodies_bucket_from_the_template(hub) -> None:
    assert os.environ["APIHUB_BODIES_BUCKET"] == hub.stack.refs["ProductBodiesBucket"]
    assert bodies.enabled()


@pytest.mark.parametrize("store", ["s3", "none"])
def test_an_import_with_a_product_too_big_for_an_item_ends_without_the_dlq(hub, monkeypatch, store: str) -> None:
    # Given a supplier whose second product is ~630 KB compressed (SanMar's biggest styles are)
    from apihub_fakes.demo_adapter import DemoAdapter

    real = DemoAdapter.hydrate

    def hydrate(self: DemoAdapter, ref: Any) -> Product:
        return _product(ref.product_id, parts=30_000) if ref.product_id == "DEMO-00002" else real(self, ref)

    monkeypatch.setattr(DemoAdapter, "hydrate", hydrate)
    if store == "none":
        monkeypatch.setenv("APIHUB_BODIES_BUCKET", "")
        reset_settings()
    hub.add_supplier("demo", protocol_config={"products": 3})
    # When it is imported through the queues and the hydrate function
    job = hub.run_import("demo", mode="full_sellable")
    # Then the job ends by itself, with the big product imported (S3) or failed alone (no S3)
    if store == "s3":
        assert (job["status"], job["success_count"], job["failed_count"]) == ("success", 3, 0)
    else:
        assert (job["status"], job["success_count"], job["failed_count"]) == ("partial_success", 2, 1)
        assert [e["sku"] for e in job["errors"]] == ["DEMO-00002"]
        assert job["errors"][0]["error"].startswith("ProductError: stored item too large (")
    # and no message failed its way to the dead-letter queue
    attributes = hub.sqs.get_queue_attributes(
        QueueUrl=hub.stack.queue_urls["HydrateDLQ"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
