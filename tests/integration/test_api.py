"""The HTTP surface: filters, pagination, validation (4xx naming the field) and auth."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from apihub.dal.jobs import JobsRepository
from apihub.jobs.service import new_job
from apihub.models import (
    MAX_LIST_BYTES,
    MAX_SKU_BYTES,
    DiscoveryMode,
    DiscoveryParams,
    JobStatus,
    iso,
    now_iso,
    stored_list_bytes,
    utcnow,
)
from apihub.supplier_models import Supplier


def _seed_jobs(hub, supplier: dict, count: int, *, mode=DiscoveryMode.first_n, status=JobStatus.pending) -> list[str]:
    """Store ``count`` jobs directly (bypassing locks) with strictly increasing started_at."""
    repo = JobsRepository()
    model = Supplier.model_validate({**supplier, "auth_config": None})
    ids = []
    for _ in range(count):
        _seed_jobs.clock += timedelta(milliseconds=7)  # strictly increasing: an unambiguous order
        job = new_job(model, mode, DiscoveryParams())
        job = job.model_copy(update={"status": status, "started_at": iso(_seed_jobs.clock)})
        repo.store_without_lock(job)
        ids.append(job.id)
    return ids


_seed_jobs.clock = utcnow() - timedelta(hours=1)  # type: ignore[attr-defined]


def test_list_filters_return_newest_first_and_exactly_limit(hub) -> None:
    a = hub.add_supplier("alpha", protocol_config={"products": 3})
    b = hub.add_supplier("beta", protocol_config={"products": 3})
    a_first = _seed_jobs(hub, a, 7, mode=DiscoveryMode.first_n)
    a_full = _seed_jobs(hub, a, 4, mode=DiscoveryMode.full_sellable, status=JobStatus.failed)
    b_failed = _seed_jobs(hub, b, 6, mode=DiscoveryMode.first_n, status=JobStatus.failed)

    def ids(query: dict) -> list[str]:
        res = hub.api("GET", "/api/sync-jobs", query=query)
        assert res.status == 200, res.json
        return [j["id"] for j in res.json]

    assert ids({"limit": "5"}) == list(reversed(b_failed))[:5]
    assert ids({"status": "failed", "limit": "8"}) == (list(reversed(b_failed)) + list(reversed(a_full)))[:8]
    assert ids({"supplier_id": a["id"], "limit": "3"}) == list(reversed(a_full))[:3]
    assert ids({"supplier_id": a["id"], "job_type": "import:first_n", "limit": "6"}) == list(reversed(a_first))[:6]
    assert ids({"status": "failed", "job_type": "import:first_n", "limit": "100"}) == list(reversed(b_failed))
    assert (
        ids({"supplier_id": a["id"], "status": "failed", "job_type": "import:full_sellable", "limit": "2"})
        == list(reversed(a_full))[:2]
    )
    assert ids({"supplier_id": b["id"], "status": "pending"}) == []


def test_the_jobs_supplier_filter_takes_an_id_or_a_slug_and_an_unknown_one_is_404(hub) -> None:
    # Given a supplier with two jobs and another with one
    a = hub.add_supplier("gamma", protocol_config={"products": 3})
    b = hub.add_supplier("delta-co", protocol_config={"products": 3})
    a_jobs = _seed_jobs(hub, a, 2)
    _seed_jobs(hub, b, 1)
    # When the list is filtered by the supplier's slug, it holds exactly what its id gives
    by_slug = hub.api("GET", "/api/sync-jobs", query={"supplier_id": "gamma"})
    by_id = hub.api("GET", "/api/sync-jobs", query={"supplier_id": a["id"]})
    assert by_slug.status == by_id.status == 200
    assert [j["id"] for j in by_slug.json] == [j["id"] for j in by_id.json] == list(reversed(a_jobs))
    # And a supplier nobody has is a 404 saying so, never an empty list
    for unknown in ("nobody", "0b5c5f8e-95e9-4c38-a3a9-0a1c5e0d2b11"):
        res = hub.api("GET", "/api/sync-jobs", query={"supplier_id": unknown})
        assert (res.status, res.json) == (404, {"detail": "Supplier not found"}), unknown


def test_list_pagination_walks_every_job_once(hub) -> None:
    s = hub.add_supplier("alpha", protocol_config={"products": 3})
    seeded = _seed_jobs(hub, s, 11)
    seen: list[str] = []
    token = None
    for _ in range(10):
        query = {"limit": "4", **({"next_token": token} if token else {})}
        res = hub.api("GET", "/api/sync-jobs", query=query)
        assert res.status == 200
        seen += [j["id"] for j in res.json]
        token = res.headers.get("x-next-token")
        if not token:
            break
    assert seen == list(reversed(seeded))


def test_list_uses_queries_never_scans(hub, monkeypatch) -> None:
    s = hub.add_supplier("alpha", protocol_config={"products": 3})
    _seed_jobs(hub, s, 3)
    calls: list[str] = []
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def spy(self, operation_name, api_params):
        calls.append(operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    for query in ({}, {"status": "pending"}, {"supplier_id": s["id"]}, {"job_type": "import:first_n"}):
        assert hub.api("GET", "/api/sync-jobs", query=query).status == 200
    assert "Scan" not in calls and "Query" in calls


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "status", "field"),
    [
        ("GET", "/api/sync-jobs/not-a-uuid", None, None, 422, "job_id"),
        ("GET", "/api/sync-jobs", {"status": "exploded"}, None, 422, "status"),
        ("GET", "/api/sync-jobs", {"limit": "0"}, None, 422, "limit"),
        ("GET", "/api/sync-jobs", {"limit": "10001"}, None, 422, "limit"),
        ("GET", "/api/sync-jobs", {"job_type": "import:everything"}, None, 422, "job_type"),
        ("GET", "/api/sync-jobs", {"next_token": "!!!"}, None, 400, "next_token"),
        ("POST", "/api/suppliers/demo/import", None, "{not json", 422, "body"),
        ("POST", "/api/suppliers/demo/import", None, json.dumps({"mode": "explicit_list"}), 422, "explicit_list"),
        ("POST", "/api/suppliers/demo/import", None, json.dumps({"limit": 10001}), 422, "limit"),
        ("POST", "/api/suppliers/demo/import", None, json.dumps({"limit": 0}), 422, "limit"),
        ("POST", "/api/suppliers/demo/import", None, json.dumps({"mode": "sideways"}), 422, "mode"),
        ("POST", "/api/suppliers/demo/import", None, json.dumps({"explicit_list": []}), 422, "explicit_list"),
        ("PATCH", "/api/sync-jobs/3f1c2b9e-8d7a-4c5b-9e6f-1a2b3c4d5e6f", {"status": "bogus"}, None, 422, "status"),
        (
            "PATCH",
            "/api/sync-jobs/3f1c2b9e-8d7a-4c5b-9e6f-1a2b3c4d5e6f",
            {"completed_at": "yesterday"},
            None,
            422,
            "completed_at",
        ),
        ("POST", "/api/suppliers", None, json.dumps({"name": "X", "slug": "Bad Slug!"}), 422, "slug"),
        (
            "POST",
            "/api/suppliers",
            None,
            json.dumps({"name": "X", "slug": "x", "adapter_class": "Nope"}),
            422,
            "adapter_class",
        ),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field(hub, method, path, query, body, status, field) -> None:
    hub.add_supplier("demo", protocol_config={"products": 3})
    res = hub.api(method, path, query=query, body=body, headers={"content-type": "application/json"})
    assert res.status == status, res.json
    assert field in res.json["detail"], res.json


def test_patch_needs_at_least_one_field_and_unknown_job_is_404(hub) -> None:
    res = hub.api("PATCH", "/api/sync-jobs/3f1c2b9e-8d7a-4c5b-9e6f-1a2b3c4d5e6f", query={"status": "failed"})
    assert (res.status, res.json) == (404, {"detail": "Job not found"})
    res = hub.api("PATCH", "/api/sync-jobs/3f1c2b9e-8d7a-4c5b-9e6f-1a2b3c4d5e6f")
    assert res.status == 422 and "at least one" in res.json["detail"]


def test_import_conflicts_name_the_rule(hub) -> None:
    hub.add_supplier("noadapter", adapter=None)
    res = hub.start_import("noadapter")
    assert (res.status, res.json["detail"]) == (
        409,
        "supplier 'Noadapter' has no adapter_class set; configure one before importing",
    )
    assert hub.start_import("nobody").status == 404
    hub.add_supplier("sleepy", protocol_config={"products": 2})
    hub.api("PATCH", "/api/suppliers/sleepy", json_body={"is_active": False})
    res = hub.start_import("sleepy")
    assert res.status == 409 and "inactive" in res.json["detail"]


def test_retry_creates_a_new_job_that_runs_and_leaves_the_original(hub) -> None:
    hub.add_supplier("demo", protocol_config={"products": 10, "fail_skus": ["DEMO-00002", "DEMO-00005"]})
    original = hub.run_import("demo", mode="full_sellable")
    assert original["status"] == "partial_success"
    # When the failed SKUs are retried
    res = hub.api("POST", f"/api/sync-jobs/{original['id']}/retry", query={"failed_only": "true"})
    assert res.status == 201, res.json
    retry = res.json
    assert (retry["status"], retry["retry_of"], retry["discovery_mode"]) == ("pending", original["id"], "explicit_list")
    assert retry["params"]["explicit_list"] == ["DEMO-00002", "DEMO-00005"]
    hub.drain()
    # Then the retry actually ran, and the original is unchanged
    assert hub.job(retry["id"])["total_products"] == 2
    assert hub.job(original["id"]) == original
    # And a whole retry copies mode and parameters
    full = hub.api("POST", f"/api/sync-jobs/{original['id']}/retry").json
    assert (full["discovery_mode"], full["job_type"], full["supplier_id"]) == (
        "full_sellable",
        "import:full_sellable",
        original["supplier_id"],
    )
    # While that retry is pending, another of the same mode conflicts
    assert hub.api("POST", f"/api/sync-jobs/{original['id']}/retry").status == 409


def test_errors_endpoint_pages_through_every_error(hub, monkeypatch) -> None:
    monkeypatch.setenv("APIHUB_JOB_ERRORS_CAP", "3")
    from apihub_local.harness import reset_process_state

    reset_process_state()
    fails = [f"DEMO-{i:05d}" for i in range(1, 9)]
    hub.add_supplier("demo", protocol_config={"products": 12, "fail_skus": fails})
    job = hub.run_import("demo", mode="full_sellable")
    assert job["failed_count"] == 8 and job["errors_truncated"] is True and len(job["errors"]) < 8
    seen, token = [], None
    while True:
        res = hub.api(
            "GET",
            f"/api/sync-jobs/{job['id']}/errors",
            query={"limit": "3", **({"next_token": token} if token else {})},
        )
        assert res.status == 200
        seen += res.json
        token = res.headers.get("x-next-token")
        if not token:
            break
    assert sorted(e["sku"] for e in seen) == fails
    assert all(e["error"].startswith("ProductError: 130") for e in seen)


def test_supplier_credentials_are_write_only(hub) -> None:
    created = hub.add_supplier("secret", auth_config={"id": "user", "password": "hunter2"})
    assert created["auth_config"] == {"id": "********", "password": "********"}
    for res in (hub.api("GET", "/api/suppliers/secret"), hub.api("GET", "/api/suppliers")):
        assert "hunter2" not in res.raw.decode()
    from apihub.dal.suppliers import SuppliersRepository

    assert SuppliersRepository().get_with_credentials("secret").auth_config == {"id": "user", "password": "hunter2"}


def test_supplier_upsert_by_slug_updates_and_reactivates(hub) -> None:
    first = hub.add_supplier("acme", protocol_config={"products": 1})
    hub.api("PATCH", "/api/suppliers/acme", json_body={"is_active": False})
    again = hub.api(
        "POST", "/api/suppliers", json_body={"name": "Acme 2", "slug": "acme", "adapter_class": "DemoAdapter"}
    )
    assert again.status == 200
    assert (again.json["id"], again.json["name"], again.json["is_active"]) == (first["id"], "Acme 2", True)
    assert hub.api("DELETE", f"/api/suppliers/{first['id']}").status == 204
    assert hub.api("GET", "/api/suppliers/acme").status == 404


# ------------------------------------------------------------------------------------------ size limits

EMOJI = "\N{GRINNING FACE}"  # 4 bytes of UTF-8, 12 as the job item's JSON stores it


def _longest_sku(i: int) -> str:
    """A SKU of exactly MAX_SKU_BYTES bytes, of characters the job item's JSON escapes (3x the bytes)."""
    sku = f"{i:04d}" + EMOJI * ((MAX_SKU_BYTES - 4) // 4)
    assert len(sku.encode()) == MAX_SKU_BYTES
    return sku


def _dynamodb_item_bytes(value: dict) -> int:
    """An item's size as DynamoDB counts it against 400 KB: names plus values, in bytes."""

    def size(v: dict) -> int:
        ((kind, inner),) = v.items()
        if kind == "S":
            return len(inner.encode())
        if kind == "B":
            return len(inner)
        if kind == "N":
            return len(inner.lstrip("-").replace(".", "")) // 2 + 2
        if kind in ("BOOL", "NULL"):
            return 1
        if kind in ("SS", "NS", "BS"):
            return sum(size({kind[0]: x}) for x in inner)
        if kind == "L":
            return 3 + sum(1 + size(x) for x in inner)
        return 3 + sum(len(k.encode()) + 1 + size(x) for k, x in inner.items())  # M

    return sum(len(name.encode()) + size(v) for name, v in value.items())


def test_an_explicit_list_sku_longer_than_its_keys_allow_is_a_422_naming_it(hub) -> None:
    hub.add_supplier("demo", protocol_config={"products": 3})
    # Given a list whose fourth SKU is 256 emoji: 256 characters, but 1,024 bytes
    res = hub.start_import("demo", mode="explicit_list", explicit_list=["A", "B", "C", EMOJI * 256])
    # Then it is refused, naming the SKU and the rule in bytes
    assert res.status == 422, res.json
    assert res.json["detail"] == f"explicit_list.3: at most {MAX_SKU_BYTES} bytes in UTF-8 (got 1024)"


def test_an_explicit_list_at_the_cap_of_the_longest_skus_is_stored_under_400_kb(hub) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 3})
    # Given as many of the longest SKUs, escaped when stored, as the list cap admits
    skus: list[str] = []
    while stored_list_bytes([*skus, _longest_sku(len(skus))]) <= MAX_LIST_BYTES:
        skus.append(_longest_sku(len(skus)))
    # Then one more is a 422 naming the list and the rule
    res = hub.start_import("demo", mode="explicit_list", explicit_list=[*skus, _longest_sku(len(skus))])
    assert res.status == 422 and res.json["detail"].startswith(f"explicit_list: at most {MAX_LIST_BYTES} bytes")
    # And the list at the cap is accepted, kept whole on the job item, which stays well under 400 KB
    res = hub.start_import("demo", mode="explicit_list", explicit_list=skus)
    assert res.status == 202, res.json
    job_id = res.json["sync_job_id"]
    assert hub.job(job_id)["params"]["explicit_list"] == skus
    from apihub.dal.clients import client
    from apihub.settings import get_settings

    stored = client("dynamodb").get_item(
        TableName=get_settings().jobs_table, Key={"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": "META"}}
    )
    assert stored["Item"]["supplier_id"]["S"] == supplier["id"]
    assert MAX_LIST_BYTES < _dynamodb_item_bytes(stored["Item"]) < 250 * 1024


def _seed_failures(job_id: str, skus: list[str]) -> None:
    """Failed outcome items, as hydrate records them, for ``job_id``."""
    from apihub.dal.tables import OutcomeItem

    now = now_iso()
    with OutcomeItem.batch_write() as batch:
        for sku in skus:
            batch.save(
                OutcomeItem(
                    f"JOB#{job_id}",
                    f"PRODUCT#{sku}",
                    status="failed",
                    error="ProductError: 130",
                    err_job=job_id,
                    recorded_at=now,
                )
            )


@pytest.mark.parametrize("past", ["count", "bytes"])
def test_a_failed_only_retry_past_the_list_cap_is_a_422_and_starts_nothing(hub, monkeypatch, past: str) -> None:
    # Given a finished job with more failures than one explicit list may hold: past the count (lowered
    # here, as paging 10,001 errors through moto's index takes minutes), or past the bytes
    if past == "count":
        import apihub.jobs.service
        import apihub.models

        for module in (apihub.models, apihub.jobs.service):
            monkeypatch.setattr(module, "MAX_LIST_SKUS", 5)
        failures, rule = [f"SKU-{i:05d}" for i in range(6)], "at most 5 SKUs"
    else:
        failures, rule = [_longest_sku(i) for i in range(300)], f"at most {MAX_LIST_BYTES} bytes stored as JSON"
    supplier = hub.add_supplier("demo", protocol_config={"products": 3})
    (job_id,) = _seed_jobs(hub, supplier, 1, status=JobStatus.partial_success)
    _seed_failures(job_id, failures)
    # When its failures are retried
    res = hub.api("POST", f"/api/sync-jobs/{job_id}/retry", query={"failed_only": "true"})
    # Then it is a 422 naming failed_only and the cap (as POST .../import answers), not a 500
    assert res.status == 422, res.json
    assert res.json["detail"].startswith("failed_only: ") and rule in res.json["detail"]
    # And no job was started (nor its lock taken: an explicit list import goes ahead)
    jobs = hub.api("GET", "/api/sync-jobs", query={"supplier_id": supplier["id"]}).json
    assert [j["id"] for j in jobs] == [job_id]
    assert hub.start_import("demo", mode="explicit_list", explicit_list=failures[:3]).status == 202


# ------------------------------------------------------------------------------------------ supplier writes

SYNCED_AT = "2026-01-02T03:04:05.000Z"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/suppliers/acme", {"name": "Acme Renamed"}),
        ("POST", "/api/suppliers", {"name": "Acme Renamed", "slug": "acme", "adapter_class": "DemoAdapter"}),
    ],
    ids=["patch", "upsert"],
)
def test_a_supplier_write_keeps_the_sync_fields_a_finalise_wrote_meanwhile(
    hub, monkeypatch, method: str, path: str, body: dict
) -> None:
    # Regression: PATCH and upsert read the supplier and saved the whole item back, so a finalise
    # between the two lost last_full_sync and product_count (the next delta asked for everything)
    hub.add_supplier("acme", protocol_config={"products": 3})
    from apihub.dal.suppliers import SuppliersRepository
    from apihub.dal.tables import SupplierItem

    read = SuppliersRepository._item

    def read_then_finalise(self, ref: str) -> SupplierItem:
        item = read(self, ref)
        # Given a finalise (and a hydrate batch) write the supplier just after the request read it
        SupplierItem(item.id).update(
            actions=[SupplierItem.last_full_sync.set(SYNCED_AT), SupplierItem.product_count.add(7)]
        )
        return item

    monkeypatch.setattr(SuppliersRepository, "_item", read_then_finalise)
    res = hub.api(method, path, json_body=body)
    monkeypatch.undo()
    # Then the write changed what it was asked to, and kept what the finalise wrote
    assert res.status == 200, res.json
    stored = hub.api("GET", "/api/suppliers/acme").json
    for supplier in (res.json, stored):
        assert (supplier["name"], supplier["last_full_sync"], supplier["product_count"]) == (
            "Acme Renamed",
            SYNCED_AT,
            7,
        )


def test_an_adapter_config_merge_never_undoes_a_patch_that_came_in_between(hub, monkeypatch) -> None:
    supplier = hub.add_supplier("acme", protocol_config={"products": 3})
    from apihub.dal.suppliers import SuppliersRepository
    from apihub.dal.tables import SupplierItem

    get = SupplierItem.get.__func__
    patched: list[int] = []

    def get_then_patch(cls, *args, **kwargs) -> SupplierItem:
        item = get(cls, *args, **kwargs)
        if not patched:
            patched.append(1)
            # Given a PATCH lands between the merge's read and its write
            config = {**item.protocol_config, "page_size": 7}
            assert hub.api("PATCH", "/api/suppliers/acme", json_body={"protocol_config": config}).status == 200
        return item

    monkeypatch.setattr(SupplierItem, "get", classmethod(get_then_patch))
    # When the adapter stores its directory cache
    stored = SuppliersRepository().update_protocol_config(supplier["id"], {"directory_cache": {"code": "X"}})
    monkeypatch.undo()
    # Then the PATCH is kept and the cache merged over it
    config = hub.api("GET", "/api/suppliers/acme").json["protocol_config"]
    assert (config["page_size"], config["directory_cache"]) == (7, {"code": "X"})
    assert stored is True


# ------------------------------------------------------------------------------------------ auth


def test_routes_need_a_valid_token(hub) -> None:
    assert hub.api("GET", "/api/health", token=None).status == 200
    # The schema holds no data: a client generator fetches it without a token
    res = hub.api("GET", "/api/openapi.json", token=None)
    assert res.status == 200 and res.json["openapi"].startswith("3.")
    res = hub.api("GET", "/api/sync-jobs", token=None)
    assert res.status == 401 and "missing token" in res.json["detail"]
    assert hub.api("GET", "/api/sync-jobs", token="ah_wrong").status == 401
    expired = hub.token("admin", ttl_days=-1)
    res = hub.api("GET", "/api/sync-jobs", token=expired)
    assert res.status == 401 and "expired" in res.json["detail"]
    assert hub.api("GET", "/api/sync-jobs", token=hub.admin_token, cookie=False).status == 200


def test_roles_limit_what_a_token_may_do(hub) -> None:
    hub.add_supplier("demo", protocol_config={"products": 2})
    viewer, service = hub.token("viewer"), hub.token("service")
    assert hub.api("GET", "/api/sync-jobs", token=viewer).status == 200
    assert hub.api("POST", "/api/suppliers/demo/import", json_body={}, token=viewer).status == 403
    job_id = hub.start_import("demo").json["sync_job_id"]
    assert hub.api("PATCH", f"/api/sync-jobs/{job_id}", query={"status": "failed"}, token=viewer).status == 403
    assert hub.api("PATCH", f"/api/sync-jobs/{job_id}", query={"status": "failed"}, token=service).status == 200
    assert hub.api("POST", f"/api/sync-jobs/{job_id}/retry", token=service).status == 403


def test_openapi_schema_lists_every_route(hub) -> None:
    res = hub.api("GET", "/api/openapi.json")
    assert res.status == 200
    spec = res.json
    assert spec["openapi"].startswith("3.")
    from apihub.api.catalog import ROUTES

    for route in ROUTES:
        assert route.method.lower() in spec["paths"][route.path], route.path
