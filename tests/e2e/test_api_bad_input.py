"""Hostile and huge input through the local stack, by hand: a 1 MB body, deeply nested JSON, invalid
UTF-8, a body that is not JSON, a 10,000-SKU explicit_list (accepted, and the job runs), unicode
SKUs (stored and reported as sent). Each gets a clear 4xx naming the problem, or is handled."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.e2e

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def stack(demo_stack):
    """The module's own stack, started as ``make run`` (tests/e2e/conftest.py)."""
    return demo_stack


def _job(stack, job_id: str) -> dict:
    res = stack.api("GET", f"/api/sync-jobs/{job_id}")
    assert res.status_code == 200, res.text
    return res.json()


def _wait(stack, job_id: str, until, deadline_s: float = 90) -> dict:
    deadline = time.monotonic() + deadline_s
    while True:
        job = _job(stack, job_id)
        if until(job):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def _detail(res) -> str:
    body = res.json()
    assert set(body) <= {"detail", "errors"} and isinstance(body["detail"], str), body
    return body["detail"]


def test_a_1mb_body_is_a_413_naming_the_limit(stack) -> None:
    body = json.dumps({"mode": "explicit_list", "explicit_list": ["x" * (1024 * 1024)]})
    res = stack.api("POST", "/api/suppliers/demo/import", data=body, headers=dict(JSON))
    assert res.status_code == 413 and "524288-byte limit" in _detail(res)
    res = stack.api("POST", "/api/suppliers", data=json.dumps({"name": "n" * 1024 * 1024}), headers=dict(JSON))
    assert res.status_code == 413


@pytest.mark.parametrize("depth", [40, 20_000])
def test_deeply_nested_json_is_a_422_naming_the_depth(stack, depth: int) -> None:
    nested = '{"a":' * depth + "1" + "}" * depth
    body = '{"name": "Deep", "slug": "deep", "protocol_config": ' + nested + "}"
    res = stack.api("POST", "/api/suppliers", data=body, headers=dict(JSON))
    assert res.status_code == 422 and _detail(res) == "body: JSON nested more than 32 levels deep"


def test_invalid_utf8_is_a_422_naming_the_encoding(stack) -> None:
    for method, path in (
        ("POST", "/api/suppliers"),
        ("PATCH", "/api/suppliers/demo"),
        ("POST", "/api/suppliers/demo/import"),
    ):
        res = stack.api(method, path, data=b'{"name": "\xc1\xff"}', headers=dict(JSON))
        assert res.status_code == 422, (path, res.text)
        assert _detail(res).startswith("body: must be UTF-8 encoded JSON")


def test_malformed_json_and_a_non_json_content_type_are_clear_4xx(stack) -> None:
    res = stack.api("POST", "/api/suppliers/demo/import", data='{"mode": ', headers=dict(JSON))
    assert res.status_code == 422 and _detail(res) == "body: malformed JSON"
    res = stack.api("POST", "/api/suppliers/demo/import", data="mode=first_n", headers={"Content-Type": "text/plain"})
    assert res.status_code == 415 and _detail(res) == "Content-Type: must be application/json (got text/plain)"


def test_patching_a_supplier_name_to_null_is_a_422_and_the_supplier_stays_readable(stack) -> None:
    # Regression for a 500 schemathesis found (pynamodb refused to save a null name)
    res = stack.api("PATCH", "/api/suppliers/demo", json={"name": None})
    assert res.status_code == 422 and _detail(res).startswith("name: may not be null")
    assert stack.api("GET", "/api/suppliers/demo").json()["name"] == "Demo PromoStandards supplier"


def test_credentials_too_big_for_kms_are_a_422(stack) -> None:
    res = stack.api("POST", "/api/suppliers", json={"name": "Big", "slug": "big", "auth_config": {"k": "v" * 5000}})
    assert res.status_code == 422 and _detail(res).startswith("auth_config: at most 4096 bytes as JSON")


def test_a_10000_sku_explicit_list_is_accepted_and_the_job_runs(stack) -> None:
    # Given 10,000 SKUs (the documented maximum), 20 of them in the demo catalog
    skus = [f"PSF{i:05d}" for i in range(1, 10_001)]
    # When they are imported as an explicit list
    res = stack.api("POST", "/api/suppliers/demo/import", json={"mode": "explicit_list", "explicit_list": skus})
    # Then the import is accepted and the job discovers all 10,000 and starts hydrating them
    assert res.status_code == 202, res.text
    job_id = res.json()["sync_job_id"]
    job = _wait(stack, job_id, lambda j: j["total_products"] == 10_000 and j["success_count"] + j["failed_count"] > 0)
    assert job["status"] == "running" and job["params"]["explicit_list"] == skus
    # And the API answers while it runs; ending the job by hand releases the import lock
    patched = stack.api("PATCH", f"/api/sync-jobs/{job_id}", params={"status": "failed", "error_log": "test: stopped"})
    assert patched.status_code == 200 and patched.json()["status"] == "failed"
    again = stack.api("POST", "/api/suppliers/demo/import", json={"mode": "explicit_list", "explicit_list": skus[:2]})
    assert again.status_code == 202, again.text
    # And one SKU more, or a list too big for the job item, is a 422 naming explicit_list
    too_many = stack.api(
        "POST", "/api/suppliers/demo/import", json={"mode": "explicit_list", "explicit_list": [*skus, "X"]}
    )
    assert too_many.status_code == 422 and _detail(too_many).startswith("explicit_list: ")
    long_skus = [f"{i:04d}" + "y" * 252 for i in range(1000)]
    too_big = stack.api(
        "POST", "/api/suppliers/demo/import", json={"mode": "explicit_list", "explicit_list": long_skus}
    )
    assert too_big.status_code == 422 and "bytes stored as JSON" in _detail(too_big)


def test_unicode_skus_are_imported_and_reported_exactly_as_sent(stack) -> None:
    # Given SKUs in several scripts, with emoji and combining marks (none is in the demo catalog)
    skus = ["ÄÖÜ-straße", "商品-二", "😀-emoji", "e\u0301-combining", "ع-رقم"]
    # When they are imported as an explicit list
    res = stack.api("POST", "/api/suppliers/demo-rest/import", json={"mode": "explicit_list", "explicit_list": skus})
    assert res.status_code == 202, res.text
    job = _wait(stack, res.json()["sync_job_id"], lambda j: j["completed_at"] is not None)
    # Then each is counted once, as a failure the supplier reported, under the exact SKU sent
    assert (job["total_products"], job["success_count"], job["failed_count"]) == (len(skus), 0, len(skus))
    errors = stack.api("GET", f"/api/sync-jobs/{job['id']}/errors", params={"limit": 1000}).json()
    assert sorted(e["sku"] for e in errors) == sorted(skus)
    # And a unicode product id in a path is a JSON 404, not an error
    res = stack.api("GET", f"/api/suppliers/demo/products/{quote(skus[1])}")
    assert res.status_code == 404 and _detail(res) == "Product not found"


def test_a_next_token_the_stack_did_not_issue_for_that_list_is_a_400(stack) -> None:
    # Given a job with three errors, on the stack as `make run` starts it (its cursor key on moto)
    skus = ["NOT-IN-CATALOG-1", "NOT-IN-CATALOG-2", "NOT-IN-CATALOG-3"]
    res = stack.api("POST", "/api/suppliers/demo-rest/import", json={"mode": "explicit_list", "explicit_list": skus})
    assert res.status_code == 202, res.text
    job = _wait(stack, res.json()["sync_job_id"], lambda j: j["completed_at"] is not None)
    path = f"/api/sync-jobs/{job['id']}/errors"
    token = stack.api("GET", path, params={"limit": 1}).headers["X-Next-Token"]
    # When the cursor is made up, altered, or sent to another list
    made_up = base64.urlsafe_b64encode(json.dumps({"k": {"bogus": {"S": "x"}}}).encode()).decode()
    version, payload, mac = token.split(".")
    altered = f"{version}.{payload}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"  # the MAC's first six bits
    for bad_path, bad in ((path, made_up), (path, altered), ("/api/sync-jobs", token)):
        res = stack.api("GET", bad_path, params={"limit": 1, "next_token": bad})
        # Then it is a 400 naming next_token
        assert res.status_code == 400 and _detail(res).startswith("next_token: "), res.text
    # And the real one pages on
    assert stack.api("GET", path, params={"limit": 1, "next_token": token}).status_code == 200
