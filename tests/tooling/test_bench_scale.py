"""Issue 27's scale model: every shared key's WCU/s and RCU/s from the template's key schemas, the
quotas that bind first, and that the model follows the template when keys change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apihub_bench import scale
from apihub_local.template import Template


@pytest.fixture(scope="module")
def template() -> Template:
    return Template()


def keys(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in model["hot_keys"]}


def test_every_key_attribute_of_the_template_has_a_modelled_scope(template: Template) -> None:
    # A table or index keyed on an attribute the model gives no value pattern would escape it.
    assert scale.unmodelled_key_attributes(template) == {}


def test_a_new_key_attribute_in_the_template_is_reported_unmodelled(template: Template) -> None:
    data = copy.deepcopy(template.data)
    products = data["Resources"]["ProductsTable"]["Properties"]
    products["KeySchema"][0]["AttributeName"] = "supplier_shard"
    assert scale.unmodelled_key_attributes(Template(data)) == {"ProductsTable": {"supplier_shard"}}


def test_known_workload_gives_known_rates_per_key(template: Template) -> None:
    # 2 suppliers, each 3 calls in flight at 1 s a call and 1 call a product: 3 products/s each, 6 in all.
    w = scale.Workload(
        products=600,
        suppliers=2,
        concurrency=3,
        latency_ms=1000,
        calls_per_product=1,
        product_item_bytes=1500,  # 2 WCU, twice in the commit's transaction
        change_item_bytes=900,  # 1 WCU, and 1 per index copy
        job_errors_kept=0,
        job_item_bytes=700,
    )
    model = scale.model(template, w)
    by_key = keys(model)
    assert model["supplier_bound_products_per_s"] == 6.0
    assert model["supplier_bound_wall_s"] == 100  # 300 products each at 3/s
    # the products table's partition key is the supplier: 3 products/s x 2 WCU x 2
    assert by_key["ProductsTable: supplier_id=<supplier>"]["wcu_per_s"] == 12.0
    # its keys-only index copy: 1 WCU a product, outside the transaction's doubling
    assert by_key["ProductsTable.product_ids: supplier_id=<supplier>"]["wcu_per_s"] == 3.0
    # the change log's day key takes every supplier's events, over its shards: 6 products/s x 1 WCU / 16
    assert by_key["ChangesTable.ChangesFeed: feed=<day>#<shard>"]["wcu_per_s"] == pytest.approx(
        6.0 / 16, abs=0.05
    )  # rounded to 0.1
    # the job item: a commit each 45 products, 1 WCU twice
    assert by_key["JobsTable: pk=JOB#<job>, sk=META"]["wcu_per_s"] == pytest.approx(3 / 45 * 2, abs=0.05)
    assert model["table_wcu_per_s"]["ProductsTable"] == (6 * 2 * 2 + 6 * 1)


def test_the_job_items_errors_count_at_their_largest(template: Template) -> None:
    clean = keys(scale.model(template, scale.Workload(job_errors_kept=0)))
    full = keys(scale.model(template, scale.Workload(job_errors_kept=100)))
    key = "JobsTable: pk=JOB#<job>, sk=META"
    # 100 errors of 1,000 bytes: 103 KB, 103 WCU a write instead of 1
    assert full[key]["wcu_per_s"] == pytest.approx(clean[key]["wcu_per_s"] * 103, rel=0.01)


def test_at_a_million_products_the_sharded_day_key_is_cool_and_the_subscription_is_hot(template: Template) -> None:
    model = scale.model(template)
    hot = {row["key"] for row in model["hot_keys"] if row["hot"]}
    assert "ChangesTable.ChangesFeed: feed=<day>#<shard>" in {row["key"] for row in model["hot_keys"]}
    assert "ChangesTable.ChangesFeed: feed=<day>#<shard>" not in hot
    assert "SubscriptionsTable: pk=SUB#<subscription>" in hot
    assert all(set(row) >= {"key", "wcu_per_s", "rcu_per_s"} for row in model["hot_keys"])


def test_first_binding_quota_follows_the_templates_max_concurrency(template: Template) -> None:
    # Given the template's default (10 hydrate invocations), the concurrency quotas bind first
    model = scale.model(template)
    order = model["binding_order"]
    assert order[0] == "Lambda account concurrency, new account"
    assert "hydrate MaximumConcurrency (template HydrateMaxConcurrency default)" in order
    # When a deployment raises HydrateMaxConcurrency to what 20 suppliers x 50 calls need
    data = copy.deepcopy(template.data)
    data["Parameters"]["HydrateMaxConcurrency"]["Default"] = 1000
    raised = scale.model(Template(data))
    # Then it no longer binds, and the model's products/s is the next quota's
    assert "hydrate MaximumConcurrency (template HydrateMaxConcurrency default)" not in raised["binding_order"]
    rows = {row["quota"]: row for row in raised["quotas"]}
    assert rows["hydrate MaximumConcurrency (template HydrateMaxConcurrency default)"]["allows_products_per_s"] == (
        pytest.approx(1000 * 5 * 1000 / (200 * 3), rel=0.001)
    )


def test_wall_time_is_the_supplier_bound_limit_with_its_rate() -> None:
    # 250 products, 3 calls each, 4 slots at 200 ms (20 calls/s) but 10 calls/s allowed: 75 s
    w = scale.Workload(
        products=5000, suppliers=20, concurrency=4, latency_ms=200, calls_per_product=3, rate_limit_per_s=10
    )
    assert scale.wall_s(w) == pytest.approx(75.0)


def test_a_supplier_row_is_exact_only_with_every_product_and_within_limits_only_under_both_bounds() -> None:
    from apihub_bench.multi import rate_bound, supplier_row

    assert rate_bound(10, 4) == 20 and rate_bound(2, 8) == 10  # rate + max(rate, slots)
    job = {"status": "success", "success_count": 100}
    calm = {"calls": 301, "max_calls_in_1s": 20, "max_in_flight": 4}
    row = supplier_row("s", job, calm, products=100, slots=4, rate=10)
    assert row["exact"] and row["limits_respected"]
    assert not supplier_row("s", job | {"success_count": 99}, calm, products=100, slots=4, rate=10)["exact"]
    assert not supplier_row("s", job | {"status": "partial_success"}, calm, products=100, slots=4, rate=10)["exact"]
    too_many = calm | {"max_in_flight": 5}
    assert not supplier_row("s", job, too_many, products=100, slots=4, rate=10)["limits_respected"]
    too_fast = calm | {"max_calls_in_1s": 21}
    assert not supplier_row("s", job, too_fast, products=100, slots=4, rate=10)["limits_respected"]
