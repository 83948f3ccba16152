"""Lists and their cursors (issue 12, finding 7 and the smaller findings): a cursor works only on the
list and filters it was issued for, pages fit in a Lambda response, and ``failed_only`` reads the
outcomes themselves rather than the eventually consistent errors index."""

from __future__ import annotations

import base64
import json
import os
import zlib
from datetime import timedelta
from typing import Any

import boto3
from apihub.dal.jobs import JobsRepository
from apihub.dal.jobs.items import new_item
from apihub.dal.tables import JobErrorsIndex, ProductItem
from apihub.jobs.service import new_job
from apihub.models import DiscoveryMode, DiscoveryParams, JobStatus, Product, iso, utcnow
from apihub.supplier_models import Supplier

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
# An error text at the 1,000-character cap, all quotes and backslashes: escaped in the body, and
# once more inside the Lambda response envelope (about 4 bytes per character there).
HEAVY_ERROR = ('ProductError: "' + '"\\' * 500)[:1000]


def _unsigned(state: dict[str, Any]) -> str:
    """A token as they were before cursors were sealed: base64 of JSON anyone can write."""
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def _altered(token: str) -> str:
    version, payload, mac = token.split(".")
    return f"{version}.{payload}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"


def _page(hub, path: str, token: str | None = None, **query: str):
    return hub.api("GET", path, query={**query, **({"next_token": token} if token else {})})


def _walk(hub, path: str, key: str, **query: str) -> list[str]:
    """Every item of a list, following X-Next-Token (each page a 200)."""
    seen: list[str] = []
    token = None
    for _ in range(200):
        res = _page(hub, path, token, **query)
        assert res.status == 200, res.json
        seen += [item[key] for item in res.json]
        token = res.headers.get("x-next-token")
        if not token:
            return seen
    raise AssertionError("the list never ended")


def _assert_rejected(res) -> None:
    assert res.status == 400, (res.status, res.json)
    assert res.json["detail"].startswith("next_token: "), res.json


def _seed_jobs(supplier: dict, statuses: list[JobStatus], *, heavy: bool = False) -> list[str]:
    """Store jobs directly (no lock), one second apart; ``heavy`` ones carry 100 errors at the
    error-text cap and a 2,000-SKU explicit_list (about 0.5 MB each in a Lambda response)."""
    repo = JobsRepository()
    model = Supplier.model_validate({**supplier, "auth_config": None})
    skus = [f"SKU-{n:05d}-" + "x" * 30 for n in range(2000)] if heavy else None
    clock = utcnow() - timedelta(hours=1)
    ids = []
    for n, status in enumerate(statuses):
        mode = DiscoveryMode.explicit_list if heavy else DiscoveryMode.first_n
        job = new_job(model, mode, DiscoveryParams(explicit_list=skus))
        job = job.model_copy(update={"status": status, "started_at": iso(clock + timedelta(seconds=n))})
        repo.note_month(job.started_at)
        item = new_item(job)
        if heavy:
            item.errors = [{"sku": sku, "error": HEAVY_ERROR} for sku in (skus or [])[:100]]
            item.errors_truncated = True
        item.save()
        ids.append(job.id)
    return ids


def test_a_crafted_or_altered_next_token_is_a_400_on_every_list(hub) -> None:
    # Given a job with errors and stored products (so every list has a second page)
    supplier = hub.add_supplier("demo", protocol_config={"products": 6, "fail_skus": ["DEMO-00002", "DEMO-00004"]})
    job = hub.run_import("demo", mode="full_sellable")
    month = job["started_at"][:7]
    lists = {
        "/api/sync-jobs": [{"i": "ByAll", "b": f"JOBS#{month}", "k": {"bogus": {"S": "x"}}}],
        f"/api/sync-jobs/{job['id']}/errors": [{"k": {"bogus": {"S": "x"}}}, {"k": {"sk": {"S": "PRODUCT#Z"}}}],
        "/api/suppliers/demo/products": [{"k": {"bogus": {"S": "x"}}}, {"k": {"product_id": {"N": "1"}}}],
    }
    _seed_jobs(supplier, [JobStatus.success])  # a second job, so the job list pages too
    for path, crafted in lists.items():
        # When a token is made up (JSON with keys DynamoDB rejects, or ones it would accept), or
        # a real one is altered, or it is plain garbage
        first = _page(hub, path, limit="1")
        assert first.status == 200 and first.headers.get("x-next-token"), (path, first.json)
        tokens = [_unsigned(state) for state in crafted] + [_altered(first.headers["x-next-token"]), "!!!", "v1.e30"]
        # Then each is a 400 naming next_token, never a 500 and never a page
        for token in tokens:
            _assert_rejected(_page(hub, path, token, limit="1"))
        # And the real token still continues the list
        assert _page(hub, path, first.headers["x-next-token"], limit="1").status == 200


def test_a_jobs_cursor_works_only_with_the_filters_it_was_issued_for(hub) -> None:
    # Given failed and successful jobs of two suppliers
    a = hub.add_supplier("alpha", protocol_config={"products": 3})
    b = hub.add_supplier("beta", protocol_config={"products": 3})
    failed = _seed_jobs(a, [JobStatus.failed] * 3)
    _seed_jobs(b, [JobStatus.success, JobStatus.failed] * 2)
    token = _page(hub, "/api/sync-jobs", status="failed", supplier_id=a["id"], limit="2").headers["x-next-token"]
    # When the cursor of one filter combination is sent with others
    for other in (
        {"status": "success", "supplier_id": a["id"]},
        {"status": "failed", "supplier_id": b["id"]},
        {"status": "failed"},
        {"supplier_id": a["id"]},
        {},
        {"status": "failed", "supplier_id": a["id"], "job_type": "import:first_n"},
    ):
        # Then it is a 400 naming next_token
        _assert_rejected(_page(hub, "/api/sync-jobs", token, limit="2", **other))
    # And with its own filters it continues where it stopped
    rest = _page(hub, "/api/sync-jobs", token, status="failed", supplier_id=a["id"], limit="2")
    assert [j["id"] for j in rest.json] == failed[:1]


def test_errors_and_products_cursors_work_only_for_their_job_and_supplier(hub) -> None:
    # Given two suppliers, each with a job that failed some products
    fails = ["DEMO-00002", "DEMO-00005", "DEMO-00007"]
    for slug in ("alpha", "beta"):
        hub.add_supplier(slug, protocol_config={"products": 12, "fail_skus": fails})
    job_a, job_b = (hub.run_import(slug, mode="full_sellable") for slug in ("alpha", "beta"))
    errors_a, errors_b = (f"/api/sync-jobs/{j['id']}/errors" for j in (job_a, job_b))
    token = _page(hub, errors_a, limit="1").headers["x-next-token"]
    # When job A's errors cursor is used on job B (and a products cursor on another supplier)
    _assert_rejected(_page(hub, errors_b, token, limit="1"))
    products = _page(hub, "/api/suppliers/alpha/products", limit="5").headers["x-next-token"]
    _assert_rejected(_page(hub, "/api/suppliers/beta/products", products, limit="5"))
    _assert_rejected(_page(hub, "/api/sync-jobs", products, limit="5"))
    # Then each list, paged with its own cursors, still returns every item once
    assert sorted(_walk(hub, errors_a, "sku", limit="1")) == fails
    expected = sorted(f"DEMO-{n:05d}" for n in range(1, 13) if f"DEMO-{n:05d}" not in fails)
    assert _walk(hub, "/api/suppliers/alpha/products", "product_id", limit="5") == expected
    # (by id or by slug: the cursor is bound to the supplier, not to how it was named)
    assert _page(hub, f"/api/suppliers/{job_a['supplier_id']}/products", products, limit="5").status == 200


def test_a_cursor_signed_with_another_key_is_a_400(hub) -> None:
    # Given a cursor issued with the stack's key
    a = hub.add_supplier("alpha", protocol_config={"products": 3})
    seeded = _seed_jobs(a, [JobStatus.success] * 3)
    token = _page(hub, "/api/sync-jobs", limit="1").headers["x-next-token"]
    # When the key is replaced (a new value of CursorSecret)
    from apihub.dal.cursor_key import forget_cursor_key

    secrets = boto3.client("secretsmanager", region_name=os.environ["APIHUB_REGION"])
    secrets.put_secret_value(SecretId=os.environ["APIHUB_CURSOR_SECRET_ARN"], SecretString="another key " * 5)
    forget_cursor_key()
    # Then the old cursor is a 400, and the list pages again from the start with the new key
    _assert_rejected(_page(hub, "/api/sync-jobs", token, limit="1"))
    assert _walk(hub, "/api/sync-jobs", "id", limit="1") == list(reversed(seeded))


def _envelopes(hub, monkeypatch) -> list[int]:
    """The size of each API function's response as Lambda counts it (the whole response JSON)."""
    sizes: list[int] = []
    invoke = hub.functions.invoke

    def measured(logical_id: str, event: dict[str, Any]) -> Any:
        result = invoke(logical_id, event)
        if isinstance(result, dict) and "statusCode" in result:
            sizes.append(len(json.dumps(result).encode()))
        return result

    monkeypatch.setattr(hub.functions, "invoke", measured)
    return sizes


def test_a_page_of_heavy_jobs_stays_under_lambdas_6_mb_and_the_cursor_loses_nothing(hub, monkeypatch) -> None:
    # Given 30 jobs of about 0.5 MB each as a response holds them (15 MB together)
    a = hub.add_supplier("alpha", protocol_config={"products": 3})
    seeded = _seed_jobs(a, [JobStatus.partial_success] * 30, heavy=True)
    sizes = _envelopes(hub, monkeypatch)
    # When the list is read with limit=1000
    first = _page(hub, "/api/sync-jobs", limit="1000")
    # Then the page ends before 6 MB, with a cursor
    assert first.status == 200 and 0 < len(first.json) < 30 and first.headers.get("x-next-token")
    assert sizes[-1] < LAMBDA_RESPONSE_LIMIT, sizes
    assert first.json[0]["errors"][0]["error"] == HEAVY_ERROR  # the public shape keeps the errors
    # And paging on returns every job once, newest first, each page under the limit
    assert _walk(hub, "/api/sync-jobs", "id", limit="1000") == list(reversed(seeded))
    assert max(sizes) < LAMBDA_RESPONSE_LIMIT and len(sizes) >= 4
    assert _walk(hub, "/api/sync-jobs", "id", limit="1000", status="partial_success") == list(reversed(seeded))


def test_a_page_of_large_products_stays_under_lambdas_6_mb(hub, monkeypatch) -> None:
    # Given 16 products of about 0.8 MB each as a response holds them (tiny in DynamoDB: compressed)
    supplier = hub.add_supplier("alpha", protocol_config={"products": 3})
    ids = [f"BIG-{n:03d}" for n in range(16)]
    for product_id in ids:
        product = Product(product_id=product_id, name="Big", description='"' * 200_000)
        ProductItem(
            supplier["id"],
            product_id,
            content_hash=product.compute_hash(),
            data=zlib.compress(product.model_dump_json().encode()),
            updated_at=iso(utcnow()),
        ).save()
    sizes = _envelopes(hub, monkeypatch)
    # When the products are listed with limit=1000, Then every page is under 6 MB and none is lost
    assert _walk(hub, "/api/suppliers/alpha/products", "product_id", limit="1000") == ids
    assert len(sizes) >= 3 and max(sizes) < LAMBDA_RESPONSE_LIMIT, sizes


class _NotYetIndexed:
    """What a Query of the errors index answers before it has caught up: no items, no more pages."""

    last_evaluated_key = None

    def __iter__(self):
        return iter(())


def test_failed_only_retries_every_failure_while_the_errors_index_lags(hub, monkeypatch) -> None:
    # Given a job that just ended with failures, and an errors index that has not caught up yet
    fails = ["DEMO-00002", "DEMO-00005"]
    hub.add_supplier("demo", protocol_config={"products": 6, "fail_skus": fails})
    job = hub.run_import("demo", mode="full_sellable")
    monkeypatch.setattr(JobErrorsIndex, "query", classmethod(lambda cls, *args, **kwargs: _NotYetIndexed()))
    assert _page(hub, f"/api/sync-jobs/{job['id']}/errors").json == []  # the index lags
    # When its failed products are retried
    res = hub.api("POST", f"/api/sync-jobs/{job['id']}/retry", query={"failed_only": "true"})
    # Then the retry holds every failure (read consistently from the outcome items)
    assert res.status == 201, res.json
    assert res.json["params"]["explicit_list"] == fails


def test_list_routes_declare_the_400_in_the_openapi_schema() -> None:
    from apihub.api.app import build_openapi

    paths = json.loads(build_openapi())["paths"]
    for path in ("/api/sync-jobs", "/api/sync-jobs/{job_id}/errors", "/api/suppliers/{supplier_id}/products"):
        assert "next_token" in paths[path]["get"]["responses"]["400"]["description"], path
