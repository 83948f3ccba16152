"""Issue 27's keys of bench/results.json and its section of docs/benchmarks.md: the realistic
catalog, its bill per service, the scale model and the multi-supplier run (absent from a run
that did not measure them)."""

from __future__ import annotations

from typing import Any

COST_GOALS = {"first": 0.60, "reimport": 0.08, "changed_10pct": 0.15}  # USD per 100k products
REAL_THROUGHPUT_GOAL = 0.9  # of the supplier-bound limit, calls per product counted
HOT_WCU, HOT_RCU = 500, 1500
SERVICES = ("lambda", "dynamodb", "sqs", "eventbridge", "kms", "s3", "secretsmanager", "xray", "logs")


def results_real(info: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "real" in info:
        out["catalog_shape"] = info["real"]["catalog_shape"]
        out["cost_usd_per_100k_real"] = info["real"]["cost_usd_per_100k_real"]
        out["cost_breakdown_real"] = info["real"]["cost_breakdown_real"]
        out["throughput_real"] = [info["real"]["throughput"]]
    if "scale_model" in info:
        out["scale_model"] = info["scale_model"]
    if "multi_supplier" in info:
        keys = ("suppliers", "products_per_supplier", "products_per_s", "all_exact", "wall_s", "model_wall_s")
        ms = info["multi_supplier"]
        out["multi_supplier"] = {k: ms[k] for k in keys} | {"limits_respected": ms["limits_respected"]}
    return out


def real_budgets(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """Issue 27's goals, when the run measured them."""
    rows = []
    for kind, usd in (r.get("cost_usd_per_100k_real") or {}).items():
        goal = COST_GOALS[kind]
        rows.append((f"real catalog, cost per 100k, {kind}", f"${usd:.3f}", f"<= ${goal:.2f}", usd <= goal))
    for t in r.get("throughput_real") or []:
        if "vs_reference" in t:
            rows.append(
                (
                    f"real catalog, apihub / reference, C={t['concurrency']}",
                    f"{t['vs_reference']:.2f}",
                    ">= 1.0",
                    t["vs_reference"] >= 1.0,
                )
            )
        rows.append(
            (
                f"real catalog, throughput ratio, C={t['concurrency']}",
                f"{t['ratio']:.2f}",
                f">= {REAL_THROUGHPUT_GOAL}",
                t["ratio"] >= REAL_THROUGHPUT_GOAL,
            )
        )
    if (sm := r.get("scale_model")) is not None:
        worst_w = max(sm["hot_keys"], key=lambda k: k["wcu_per_s"])
        worst_r = max(sm["hot_keys"], key=lambda k: k["rcu_per_s"])
        rows.append(
            (
                "scale model, hottest key WCU/s",
                f"{worst_w['wcu_per_s']:,.0f} ({worst_w['key']})",
                f"<= {HOT_WCU}",
                worst_w["wcu_per_s"] <= HOT_WCU,
            )
        )
        rows.append(
            (
                "scale model, hottest key RCU/s",
                f"{worst_r['rcu_per_s']:,.0f}",
                f"<= {HOT_RCU}",
                worst_r["rcu_per_s"] <= HOT_RCU,
            )
        )
    if (ms := r.get("multi_supplier")) is not None:
        rows.append(("multi-supplier run, every job exact", str(ms["all_exact"]), "True", bool(ms["all_exact"])))
        rows.append(
            (
                "multi-supplier run, each supplier's limits",
                str(ms["limits_respected"]),
                "True",
                bool(ms["limits_respected"]),
            )
        )
    return rows


def real_markdown(info: dict[str, Any]) -> str:
    """The section of issue 27 (empty for a run that did not measure it)."""
    if "real" not in info and "scale_model" not in info:
        return ""
    out = (
        "## Real catalogs, real bills (issue 27)\n\n"
        "This section alone, at this size: `PYTHONPATH=layers/apihub:src .venv/bin/python -m apihub_bench"
        " --real-only` (`--multi-products 1000` for 20 x 1,000); a smoke check at a small size: `--quick`."
        " Both print the figures and write nothing.\n\n"
    )
    if (real := info.get("real")) is not None:
        out += _catalog(real) + _bill(real)
    if (sm := info.get("scale_model")) is not None:
        out += _scale(sm)
    if (ms := info.get("multi_supplier")) is not None:
        out += _multi(ms)
    return out


def _catalog(real: dict[str, Any]) -> str:
    s = real["catalog_shape"]
    t = real["throughput"]
    return f"""### The realistic catalog

`apihub_fakes/promostandards/realistic.py`, anchored on the real samples of the research corpus:
SanMar MM1000 (1 part, 1 price group, 7 FOB points, about 480 characters of description), S&S
Activewear 6030 (423 parts: 76 colours x S..3XL, the last 33 without 3XL; a 464-character HTML
description), SanMar K420's media (9 images). Two real products are not a distribution: the
spread between them is an assumption stated in the module (half apparel, colours log-normal with
medians 8 and 3, 1 to 5 price breaks a part, one product in 500 the 6030 shape itself).
Measured on {s["products"]:,} products of it (`python -m apihub_bench.catalog_shape`, every
product hydrated by the real adapter from the fake):

| parts per product | median | p90 | largest |
| --- | --- | --- | --- |
| | {s["parts_median"]:.0f} | {s["parts_p90"]:.0f} | {s["parts_max"]} |

Supplier calls per product **{s["calls_per_product"]}** (getProduct, getConfigurationAndPricing,
getMediaContent), {s["reply_bytes_per_product"]:,} reply bytes per product; colours median
{s["colours_median"]:.0f}, {s["price_breaks_per_part"]:.1f} price breaks a part, images median
{s["images_median"]:.0f}. Stored (the products-table item, zlib-compressed canonical JSON):
median **{s["item_bytes_median"]:,.0f} bytes**, p90 {s["item_bytes_p90"]:,.0f}, largest
{s["item_bytes_max"]:,}, mean {s["item_bytes_mean"]:,} ({s["write_units_per_product"]} write units
a product before the transaction's doubling). The toy catalog's figures above stay as they were.

Throughput at that shape (the priced first import below, C={t["concurrency"]},
{t["latency_ms"]} ms a call, {t["calls_per_product"]} calls a product): **{t["products_per_s"]}
products/s** against a supplier-bound limit of {t["limit_per_s"]}: ratio **{t["ratio"]}**.

"""


def _bill(real: dict[str, Any]) -> str:
    b = real["cost_breakdown_real"]
    totals = real["cost_usd_per_100k_real"]
    phases = [p for p in ("first", "reimport", "changed_10pct") if p in b]
    head = "| service | " + " | ".join(phases) + " |\n| --- |" + " --- |" * len(phases) + "\n"
    rows = "".join(
        f"| {svc} | " + " | ".join(f"${b[p]['per_100k'].get(svc, 0):.4f}" for p in phases) + " |\n" for svc in SERVICES
    )
    rows += "| **total (x86_64)** | " + " | ".join(f"**${totals[p]:.3f}**" for p in phases) + " |\n"
    rows += "| total on arm64 | " + " | ".join(f"${b[p]['total_arm64']:.3f}" for p in phases) + " |\n"
    units = "".join(
        f"* **{p}**: {b[p]['job']['success_count']:,} products in {b[p]['job']['seconds']} s, "
        f"{b[p]['job']['events_delivered']} webhook events received; Lambda "
        f"{sum(b[p]['units']['lambda_requests'].values()):,} requests, "
        f"{b[p]['units']['lambda_gb_s_invoke']} GB-s invoking + {b[p]['units']['lambda_gb_s_init']} GB-s INIT "
        f"({sum(b[p]['units']['lambda_inits'].values())} environments; ms by function: "
        + ", ".join(f"{fn} {ms:,}" for fn, ms in sorted(b[p]["units"].get("lambda_ms", {}).items()))
        + f"); DynamoDB {b[p]['units']['ddb_wru']:,} WRU, "
        f"{b[p]['units']['ddb_rru']:,} RRU; {b[p]['units']['log_bytes']:,} log bytes; requests "
        + ", ".join(f"{k} {v}" for k, v in sorted(b[p]["units"]["requests"].items()))
        + "\n  WRU by item and index: "
        + ", ".join(f"{k} {v:g}" for k, v in sorted(b[p]["units"]["ddb_wru_by_kind"].items(), key=lambda kv: -kv[1]))
        + "\n"
        for p in phases
    )
    fixed = b["fixed_usd_per_month"]
    return f"""### The bill, every feature on

`apihub_bench/real.py`: {b["products"]:,} products of the realistic catalog, the supplier registered
with every endpoint, the stream triggers on (change detection, change log, dispatch), EventBridge,
and one webhook subscription whose receiver receives. Every billed item counted from what the run
did (`apihub_bench/cost.py`): Lambda requests and GB-s at each function's `MemorySize`, INIT once
per environment started (the most invocations of a function in flight at once) at that
function's measured cold import; DynamoDB units per item by its size, every index copy at the
size the index holds, transactions twice; SQS per 64 KB; EventBridge per entry; KMS and S3
requests; one X-Ray trace per invocation (`Tracing: Active`; the default sampling rule's 1 a
second covers an import's rate); CloudWatch Logs: the bytes the functions logged at the
template's `LogLevel` (counted as Powertools writes them) plus Lambda's START/END/REPORT lines.
Prices: `bench/prices.json` (as of {b["prices_as_of"]}; each with its source and the date read).
USD per 100,000 products:

{head}{rows}
{units}
Fixed a month whatever is imported: {fixed["kms_keys"]} KMS keys ${fixed["kms_usd"]}, {fixed["secrets"]}
secrets ${fixed["secretsmanager_usd"]}, {fixed["custom_metrics"]} custom metrics seen in the run
${fixed["metrics_usd"]}.

"""


def _scale(sm: dict[str, Any]) -> str:
    w = sm["workload"]
    keys = "".join(
        f"| `{k['key']}` | {k['wcu_per_s']:,.1f} | {k['rcu_per_s']:,.1f} | {'**hot**' if k['hot'] else ''} |\n"
        for k in sm["hot_keys"]
    )
    quotas = "".join(
        f"| {q['quota']} | {q['limit']} | {q['demand']} | {_allowed(q['allows_products_per_s'])} | "
        f"{'**binds**' if q['binds'] else ''} | {q['raise']} |\n"
        for q in sm["quotas"]
    )
    first = sm["first_binding_quota"]
    order = " -> ".join(sm["binding_order"]) or "none"
    return f"""### Scale model: {w["products"]:,} products from {w["suppliers"]} suppliers at C={w["concurrency"]}

`apihub_bench/scale.py`, from template.yaml's key schemas, indexes and settings (a test fails when
a table gains a key attribute the model does not know). Each supplier at its own limit:
{w["concurrency"]} calls in flight at {w["latency_ms"]} ms, {w["calls_per_product"]} calls a product:
{sm["supplier_bound_products_per_s"]:,} products/s in all, {sm["supplier_bound_wall_s"]:,} s. Product
item {w["product_item_bytes"]:,} bytes (this run's mean); the job item at its largest,
{w["job_item_worst_bytes"]:,} bytes (100 errors of 1,000 bytes). Every shared partition key, table
or index, at that rate (goal: <= {HOT_WCU} WCU/s, <= {HOT_RCU} RCU/s; DynamoDB's own limit per
partition 1,000 WCU/s and 3,000 RCU/s):

| key | WCU/s | RCU/s | |
| --- | --- | --- | --- |
{keys}
Tables: {", ".join(f"{t} {v:,} WCU/s" for t, v in sm["table_wcu_per_s"].items())}.

The quotas, the products/s each allows, and how to raise it:

| quota | limit | demand | products/s allowed | | how to raise |
| --- | --- | --- | --- | --- | --- |
{quotas}
First to bind: **{first["quota"]}** ({first.get("allows_products_per_s")} products/s). In order:
{order}. Held to the first, the catalog takes {sm["wall_s"]:,} s ({sm["products_per_s"]:,} products/s);
with every quota raised and no hot key throttled, the suppliers' own limits:
{sm["supplier_bound_wall_s"]:,} s.

"""


def _allowed(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _multi(ms: dict[str, Any]) -> str:
    rows = "".join(
        f"| {s['supplier']} | {s['status']} | {s['success_count']} | {s['calls']} | {s['max_in_flight']} | "
        f"{s['max_calls_in_1s']} |\n"
        for s in ms["per_supplier"]
    )
    return f"""### {ms["suppliers"]} suppliers at once

`apihub_bench/multi.py`: {ms["suppliers"]} fake suppliers of the realistic shape, one process each,
{ms["products_per_supplier"]} products each, {ms["latency_ms"]} ms a call, each registered with
`max_concurrency` {ms["slots"]} and `rate_limit_per_s` {ms["rate_limit_per_s"]:g}, all imports started
together. **{ms["products_per_s"]} products/s** in all; wall time **{ms["wall_s"]} s** against the
model's **{ms["model_wall_s"]} s** ({ms["model_products_per_s"]} products/s at the suppliers' own
limits). Every job exact: **{ms["all_exact"]}**; every supplier's limits respected (at most
`max_concurrency` calls in flight, at most `rate + max(rate, max_concurrency)` started in any one
second, the limiter's bound): **{ms["limits_respected"]}**.

| supplier | status | products | calls | most in flight | most in 1 s |
| --- | --- | --- | --- | --- | --- |
{rows}
"""
