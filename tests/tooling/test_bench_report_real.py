"""Issue 27's keys of bench/results.json and its section of docs/benchmarks.md, made from a run's
figures, with every earlier key kept."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from apihub_bench import cost, real, report, scale
from apihub_bench.run import DETAILS, RESULTS, cost_figures
from apihub_local.template import Template


def _usage(products: int) -> cost.Usage:
    return cost.Usage(
        lambda_requests=Counter({"HydrateFunction": 4, "ChangesFunction": 2}),
        lambda_ms=Counter({"HydrateFunction": 40_000, "ChangesFunction": 1_000}),
        wru=5.0 * products,
        rru=1.0 * products,
        requests=Counter({"sqs": 20, "events": products, "kms": 3}),
        lambda_inits=Counter({"HydrateFunction": 2, "ChangesFunction": 1}),
        log_bytes=Counter({"HydrateFunction": 10_000}),
    )


def _info() -> dict[str, Any]:
    info = json.loads(DETAILS.read_text())
    used = cost.Usage(lambda_requests=Counter({"HydrateFunction": 40}), lambda_ms=Counter({"HydrateFunction": 160_000}))
    info["cost"] = cost_figures(used, used, {"HydrateFunction": 512}, 2000)
    template = Template()
    products = 1000
    measured = {
        "products": products,
        "usage": {phase: _usage(products) for phase in real.PHASES},
        "jobs": {
            phase: {"status": "success", "success_count": products, "seconds": 60.0, "events_delivered": 10}
            for phase in real.PHASES
        },
    }
    memory = {"HydrateFunction": 512, "ChangesFunction": 256}
    shape = {
        "products": 500, "parts_median": 11.0, "parts_p90": 106.0, "parts_max": 423, "colours_median": 5.0,
        "price_breaks_per_part": 3.0, "images_median": 6.0, "calls_per_product": 3.0, "reply_bytes_per_product": 74208,
        "item_bytes_median": 1166.0, "item_bytes_p90": 2892.0, "item_bytes_max": 8578, "item_bytes_mean": 1585,
        "write_units_per_product": 1.97,
    }  # fmt: skip
    row = {"concurrency": 10, "latency_ms": 200, "products": products, "products_per_s": 15.0}
    info["real"] = real.priced(measured, memory, {"HydrateFunction": 400.0}, template) | {
        "catalog_shape": shape,
        "throughput": row | {"limit_per_s": 16.67, "ratio": 0.9, "calls_per_product": 3},
    }
    info["scale_model"] = scale.model(template)
    per_supplier = [
        {"supplier": f"s{n}", "status": "success", "success_count": 20, "exact": True, "calls": 60,
         "max_calls_in_1s": 12, "max_in_flight": 4, "limits_respected": True}
        for n in range(2)
    ]  # fmt: skip
    info["multi_supplier"] = {
        "suppliers": 2, "products_per_supplier": 20, "slots": 4, "rate_limit_per_s": 10.0, "latency_ms": 200,
        "products_per_s": 4.5, "all_exact": True, "limits_respected": True, "wall_s": 8.8, "model_wall_s": 6.0,
        "model_products_per_s": 6.67, "per_supplier": per_supplier,
    }  # fmt: skip
    return info


def test_results_carry_issue_27s_keys_and_every_earlier_one() -> None:
    results = report.results(_info(), products=2000)
    assert set(json.loads(RESULTS.read_text())) <= set(results)
    assert set(results["cost_usd_per_100k_real"]) == {"first", "reimport", "changed_10pct"}
    assert {"lambda", "dynamodb", "xray", "logs", "eventbridge"} <= set(
        results["cost_breakdown_real"]["first"]["per_100k"]
    )
    assert results["throughput_real"][0]["ratio"] == 0.9
    assert all({"key", "wcu_per_s", "rcu_per_s"} <= set(k) for k in results["scale_model"]["hot_keys"])
    assert results["scale_model"]["first_binding_quota"]["quota"]
    assert set(results["multi_supplier"]) >= {
        "suppliers", "products_per_supplier", "products_per_s", "all_exact", "wall_s", "model_wall_s"
    }  # fmt: skip


def test_the_bill_is_the_sum_of_its_services_and_arm64_is_cheaper() -> None:
    first = _info()["real"]["cost_breakdown_real"]["first"]
    per = first["per_100k"]
    assert abs(per["total"] - sum(v for k, v in per.items() if k != "total")) < 1e-3
    assert first["total_arm64"] < per["total"]


def test_the_page_has_the_section_and_the_goals_rows() -> None:
    info = _info()
    results = report.results(info, products=2000)
    page = report.markdown(results, info, plot="plot.png")
    assert "## Real catalogs, real bills (issue 27)" in page
    assert "| parts per product | median | p90 | largest |" in page
    assert "SubscriptionsTable: pk=SUB#<subscription>" in page
    assert "| real catalog, cost per 100k, first |" in page
    assert "| multi-supplier run, every job exact | True | True | met |" in page
