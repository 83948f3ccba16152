"""End to end: the local stack over HTTP, driven by the CLI and curl as a user would."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from apihub.api.catalog import role_allows

from apihub_fakes.promostandards import generate_catalog
from apihub_local.demo import DEMO_SEED, failing_skus
from apihub_local.template import Template

pytestmark = pytest.mark.e2e


def _expected(products: int, fail_rate: float) -> tuple[set[str], set[str]]:
    sellable = set(generate_catalog(products, DEMO_SEED).sellable_ids)
    failing = set(failing_skus(products, fail_rate))
    return sellable, failing


def _import_with_cli(stack, timeout: int = 120) -> dict:
    result = stack.cli("import", "demo", "--mode", "full_sellable", "--watch", "--timeout", str(timeout), "--json")
    assert result.returncode in (0, 3, 4), f"exit {result.returncode}\n{result.stderr}\n{stack.log_tail()}"
    job = json.loads(result.stdout)
    job["exit_code"] = result.returncode
    return job


def test_cli_import_of_the_demo_catalog_ends_with_exact_counts_errors_and_products(demo_stack) -> None:
    # Given `make run` with 60 demo products, 10% of them answering a permanent product error
    sellable, failing = _expected(60, 0.1)
    assert failing and failing < sellable
    # When the demo catalog is imported with the CLI, watching until the end
    job = _import_with_cli(demo_stack)
    # Then the job counts every sellable product once, the failing ones as failures
    assert job["status"] == "partial_success" and job["exit_code"] == 3
    assert (job["total_products"], job["success_count"], job["failed_count"]) == (
        len(sellable),
        len(sellable) - len(failing),
        len(failing),
    )
    assert job["completed_at"] and job["job_type"] == "import:full_sellable"
    # And the errors name exactly the failing SKUs with the supplier's reason
    errors = demo_stack.all_pages(f"/api/sync-jobs/{job['id']}/errors")
    assert {e["sku"] for e in errors} == failing
    assert all(e["error"].startswith("ProductError: 130") for e in errors)
    cli_errors = demo_stack.cli("jobs", "errors", job["id"], "--json")
    assert cli_errors.returncode == 0 and {e["sku"] for e in json.loads(cli_errors.stdout)} == failing
    # And exactly the other products are stored, readable through the API and the CLI
    products = demo_stack.all_pages("/api/suppliers/demo/products")
    assert {p["product_id"] for p in products} == sellable - failing
    one = sorted(sellable - failing)[0]
    res = demo_stack.api("GET", f"/api/suppliers/demo/products/{one}")
    assert res.status_code == 200 and res.json()["product_id"] == one and res.json()["parts"]
    listed = demo_stack.cli("products", "list", "demo", "--limit", "1000", "--json")
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == len(sellable - failing)
    # And the job is listed by the CLI filters
    jobs = demo_stack.cli("jobs", "list", "--supplier", "demo", "--status", "partial_success", "--json")
    assert jobs.returncode == 0, jobs.stderr
    listed_jobs = json.loads(jobs.stdout)
    assert job["id"] in {j["id"] for j in listed_jobs}
    assert {(j["supplier_name"], j["status"]) for j in listed_jobs} == {(job["supplier_name"], "partial_success")}


def test_the_api_doc_curl_example_works_as_written(demo_stack) -> None:
    # Given the curl line the stack prints (the API doc's example with the real token and port)
    line = next(text.strip() for text in demo_stack.banner if text.strip().startswith("curl -b"))
    assert line == (
        f'curl -b "auth_token={demo_stack.token}" '
        f'"http://localhost:{demo_stack.port}/api/sync-jobs?status=failed&limit=20"'
    )
    # When it is run as written
    result = subprocess.run(
        [*shlex.split(line), "-sS", "-w", "\n%{http_code}"], capture_output=True, text=True, timeout=30
    )
    # Then it answers 200 with a JSON array of failed jobs
    body, _, code = result.stdout.rpartition("\n")
    assert result.returncode == 0 and code == "200", result.stderr
    jobs = json.loads(body)
    assert isinstance(jobs, list) and all(j["status"] == "failed" for j in jobs)


def _concrete(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def test_every_template_route_answers_through_the_local_server_with_auth_enforced(demo_stack) -> None:
    # Given a finished job, a stored product and a throwaway supplier to patch and delete
    existing = demo_stack.all_pages("/api/sync-jobs")
    job = existing[0] if existing else _import_with_cli(demo_stack)
    product = demo_stack.all_pages("/api/suppliers/demo/products")[0]["product_id"]
    created = demo_stack.api(
        "POST", "/api/suppliers", json={"name": "Walk", "slug": "walk", "adapter_class": "DemoAdapter"}
    )
    assert created.status_code in (200, 201), created.text
    walk = created.json()["id"]
    viewer = demo_stack.cli("token", "create", "--role", "viewer")
    assert viewer.returncode == 0, viewer.stderr
    viewer_token = viewer.stdout.strip()
    values = {"job_id": job["id"], "product_id": product}
    bodies = {
        ("POST", "/api/suppliers"): {"name": "Walk", "slug": "walk", "adapter_class": "DemoAdapter"},
        ("PATCH", "/api/suppliers/{supplier_id}"): {"name": "Walk renamed"},
        ("POST", "/api/suppliers/{supplier_id}/import"): {"mode": "first_n", "limit": 3},  # on demo-rest
    }
    routes = [(r.method, r.path, r.public) for fn in Template().functions().values() for r in fn.routes]
    assert len(routes) >= 14
    # Deletion last, so the other supplier routes still find it
    routes.sort(key=lambda r: r[0] == "DELETE")
    answers = {}
    for method, path, public in routes:
        supplier = "demo"
        if path.startswith("/api/suppliers/{supplier_id}") and method in ("PATCH", "DELETE"):
            supplier = walk
        elif path.endswith("/import"):
            supplier = "demo-rest"  # leaves the demo supplier's jobs to the other tests
        url = _concrete(path, {**values, "supplier_id": supplier})
        params = (
            {"status": "failed", "error_log": "walked"}
            if (method, path) == ("PATCH", "/api/sync-jobs/{job_id}")
            else None
        )
        body = bodies.get((method, path))
        # When it is called without a token, with a viewer token and with the admin token
        anonymous = demo_stack.api(method, url, token=None, json=body, params=params)
        if public:
            assert anonymous.status_code == 200, (method, path, anonymous.text)
        else:
            assert anonymous.status_code == 401, (method, path, anonymous.status_code, anonymous.text)
            assert "detail" in anonymous.json()
        if method != "GET" and not public and not role_allows("viewer", method, path):  # a quote is a read
            denied = demo_stack.api(method, url, token=viewer_token, json=body, params=params)
            assert denied.status_code == 403, (method, path, denied.status_code, denied.text)
        admin = demo_stack.api(method, url, json=body, params=params)
        answers[(method, path)] = admin.status_code
        # Then every route answers, and never with a 5xx
        assert admin.status_code < 500, (method, path, admin.status_code, admin.text, demo_stack.log_tail())
    assert answers[("GET", "/api/sync-jobs/{job_id}")] == 200
    assert answers[("DELETE", "/api/suppliers/{supplier_id}")] in (200, 204)
    assert answers[("POST", "/api/suppliers/{supplier_id}/import")] in (202, 409)
    assert demo_stack.api("GET", "/api/openapi.json").json()["openapi"].startswith("3")
    # And a path the template does not declare is API Gateway's 404
    assert demo_stack.api("GET", f"/api/nothing-here/{uuid.uuid4()}").status_code == 404


def test_duplicate_delivery_and_crashes_still_give_exact_counts(stack_factory) -> None:
    # Given the stack with every SQS message delivered twice, a fifth of the invocations crashing
    # after their work, supplier latency and 10% failing products. (The case is 200
    # products in 2 minutes: about 25 s on an idle 2-core machine; 120 keeps this test well inside
    # the bound while `make test` runs other tests on the same cores.)
    stack = stack_factory(
        APIHUB_DEMO_PRODUCTS="120",
        APIHUB_DEMO_FAIL_RATE="0.1",
        APIHUB_DEMO_LATENCY_MS="5",
        APIHUB_LOCAL_DUPLICATE_DELIVERY="1",
        APIHUB_LOCAL_CRASH_RATE="0.2",
    )
    sellable, failing = _expected(120, 0.1)
    # When the demo catalog is imported
    started = time.monotonic()
    job = _import_with_cli(stack, timeout=120)
    # Then within two minutes every product is counted exactly once
    assert time.monotonic() - started < 120
    assert job["status"] == "partial_success", stack.log_tail()
    assert (job["total_products"], job["success_count"], job["failed_count"]) == (
        len(sellable),
        len(sellable) - len(failing),
        len(failing),
    )
    assert {e["sku"] for e in stack.all_pages(f"/api/sync-jobs/{job['id']}/errors")} == failing
    assert {p["product_id"] for p in stack.all_pages("/api/suppliers/demo/products")} == sellable - failing
    # And the knobs really were in play
    assert "simulated crash" in stack.log.read_text()


def test_sigterm_stops_the_stack_and_every_child(stack_factory) -> None:
    # Given a running stack (its moto server and fake suppliers are children in its process group)
    stack = stack_factory(APIHUB_DEMO_PRODUCTS="5")
    state = stack.env["APIHUB_LOCAL_STATE"]
    assert json.loads(Path(state).read_text())["url"] == stack.url
    # When the stack's process alone gets SIGTERM (as from a service manager)
    os.kill(stack.process.pid, signal.SIGTERM)
    # Then it exits cleanly, its children go with it, and its state file is removed
    assert stack.process.wait(30) == 0
    assert stack.group_gone(within_s=15), "children still running after the stack stopped"
    assert "apihub local stack stopped" in stack.log.read_text()
    assert not os.path.exists(state)


def test_the_stack_stops_when_the_process_that_started_it_is_gone(stack_factory) -> None:
    # Given a stack in a session of its own, told to live only as long as a process that started it
    starter = subprocess.Popen(["sleep", "600"])
    stack = stack_factory(APIHUB_DEMO_PRODUCTS="5", APIHUB_LOCAL_EXIT_WITH_PID=str(starter.pid))
    # When that process is killed outright (as a test run killed with SIGKILL is)
    starter.kill()
    starter.wait(10)
    # Then the stack and every child stop by themselves
    assert stack.process.wait(30) == 0
    assert stack.group_gone(within_s=15), "children still running after the stack stopped"
    assert "apihub local stack stopped" in stack.log.read_text()
