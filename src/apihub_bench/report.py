"""bench/results.json, docs/benchmarks.md and the throughput plot, from one run's figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apihub_bench.coldstart import budget_ms
from apihub_bench.figures import mb, per_product
from apihub_bench.report_real import real_budgets, real_markdown, results_real

COMMAND = "make bench"


THROUGHPUT_BUDGET = 0.8  # of the supplier-bound limit, at every concurrency (issue 16)
COLD_BUDGET_X = 1.3  # cold import, x the design card's libraries imported alone (issue 16)
COST_BUDGETS = {"first": 0.50, "reimport": 0.15}  # USD per 100k products (issue 16)
INVENTORY_RERUN_WRITES = 0.05  # DynamoDB writes per product, all tables, unchanged inventory re-run (issue 14)


def paused_floor_line(info: dict[str, Any]) -> str:
    """The functions against the libraries imported with the collector paused too: what our own
    code costs, with the collector's share taken out of both sides."""
    paused = info.get("cold_import_floor_paused_ms")
    if not paused:
        return ""
    ratios = sorted(ms / paused for ms in info["cold_import_ms"].values())
    return (
        f"The same libraries imported with the collector paused took **{paused} ms**; against that, "
        f"the functions range from {ratios[0]:.2f}x to {ratios[-1]:.2f}x (median {ratios[len(ratios) // 2]:.2f}x): "
        "the share of the cold start that is our own code."
    )


def results(info: dict[str, Any], *, products: int) -> dict[str, Any]:
    """The keys issue 7 lists, and those issue 16 adds (``vs_reference``, ``cost_usd_per_100k``,
    ``first_request_ms``, ``cold_import_floor_ms``)."""
    reference = info["reference"]
    first_writes = info["first"][0]
    ref_rate = round(reference["products"] / reference["seconds"], 2)
    at_ref = next((t for t in info["throughput"] if t["concurrency"] == reference.get("workers", 10)), None)
    return {
        "throughput": info["throughput"],
        "reference_inprocess": {"products_per_s": ref_rate},
        "vs_reference": round(at_ref["products_per_s"] / ref_rate, 3) if at_ref else None,
        "cost_usd_per_100k": {k: v["total"] for k, v in info["cost"]["per_100k"].items()},
        "first_request_ms": {fn: v["ms"] for fn, v in info.get("first_request", {}).items()},
        "cold_import_floor_ms": info.get("cold_import_floor_ms"),
        "cold_import_floor_paused_ms": info.get("cold_import_floor_paused_ms"),
        "ddb_writes_per_product_first": per_product(first_writes, products),
        "ddb_writes_per_product_reimport": per_product(info["reimport"][0], products),
        "scans": int(info["calls"].get("Scan", 0)),
        "list_p50_ms": info["list"],
        "cold_import_ms": info["cold_import_ms"],
        "layer_mb": mb(info["layer_bytes"]),
        "parse_ms_400_parts": info["parse"]["median_ms"],
        "discovery_100k_s": info["discovery"]["seconds"],
        **results_freshness(info),
        **results_real(info),
        "machine": info["machine"],
    }


INVENTORY_KEYS = ("products", "concurrency", "ratio", "products_per_s", "limit_per_s", "rerun_writes_per_product")
CHANGES_KEYS = (
    "lag_ms_p50",
    "lag_ms_p95",
    "events_per_changed_product",
    "events_on_unchanged_reimport",
    "webhook_deliveries_per_s",
    "webhook_rate_delivered",
    "webhook_receiver_latency_ms",
    "wcu_per_event",
)


def results_freshness(info: dict[str, Any]) -> dict[str, Any]:
    """Issue 14's ``inventory`` and issue 15's ``changes`` keys, from the run's figures (absent from
    a run made before they existed)."""
    out: dict[str, Any] = {}
    if "inventory" in info:
        inv = info["inventory"]
        out["inventory"] = {k: inv[k] for k in INVENTORY_KEYS} | {
            "live_read_added_ms_p50": inv["live_read_added_ms_p50"]
        }
    if "changes" in info:
        out["changes"] = {k: info["changes"][k] for k in CHANGES_KEYS if k in info["changes"]}
    return out


def budgets(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(figure, measured, budget, met) for every budget of issue 7."""
    rows = [
        (
            f"throughput ratio, C={t['concurrency']}",
            f"{t['ratio']:.2f}",
            f">= {THROUGHPUT_BUDGET}",
            t["ratio"] >= THROUGHPUT_BUDGET,
        )
        for t in r["throughput"]
    ]
    if r.get("vs_reference") is not None:
        rows.append(("apihub / reference, C=10", f"{r['vs_reference']:.2f}", ">= 1.0", r["vs_reference"] >= 1.0))
    for kind, usd in (r.get("cost_usd_per_100k") or {}).items():
        budget = COST_BUDGETS[kind]
        rows.append((f"cost per 100k products, {kind}", f"${usd:.3f}", f"<= ${budget:.2f}", usd <= budget))
    rows.append(
        (
            "DynamoDB writes per product, first import",
            f"{r['ddb_writes_per_product_first']}",
            "<= 1.3",
            r["ddb_writes_per_product_first"] <= 1.3,
        )
    )
    rows.append(
        (
            "DynamoDB writes per product, re-import",
            f"{r['ddb_writes_per_product_reimport']}",
            "<= 0.3",
            r["ddb_writes_per_product_reimport"] <= 0.3,
        )
    )
    rows.append(("Scan calls", str(r["scans"]), "0", r["scans"] == 0))
    lp = r["list_p50_ms"]
    small, large = lp[min(lp, key=int)], lp[max(lp, key=int)]
    rows.append(
        (
            f"list p50, {max(lp, key=int)} vs {min(lp, key=int)} jobs",
            f"{large} ms vs {small} ms ({large / small:.2f}x)",
            "<= 1.5x",
            large <= 1.5 * small,
        )
    )
    rows.extend(freshness_budgets(r))
    rows.extend(real_budgets(r))
    floor = r.get("cold_import_floor_ms")
    for fn, ms in r["cold_import_ms"].items():
        if floor:
            limit = COLD_BUDGET_X * floor
            rows.append((f"cold import, {fn}", f"{ms} ms ({ms / floor:.2f}x)", f"<= {COLD_BUDGET_X}x", ms <= limit))
        else:
            rows.append((f"cold import, {fn}", f"{ms} ms", f"<= {budget_ms(fn):.0f} ms", ms <= budget_ms(fn)))
    rows.append(("layer, unzipped", f"{r['layer_mb']} MB", "<= 50 MB", r["layer_mb"] <= 50))
    rows.append(
        (
            "parse 423-part getProduct (median)",
            f"{r['parse_ms_400_parts']} ms",
            "<= 50 ms",
            r["parse_ms_400_parts"] <= 50,
        )
    )
    return rows


def freshness_budgets(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """The goals of issues 14 (inventory) and 15 (change feed), when the run measured them."""
    rows = []
    if (inv := r.get("inventory")) is not None:
        rows.append(
            (
                f"inventory job ratio, {inv['products']:,} products, C={inv['concurrency']}",
                f"{inv['ratio']:.2f}",
                f">= {THROUGHPUT_BUDGET}",
                inv["ratio"] >= THROUGHPUT_BUDGET,
            )
        )
        # Judged over every table: the job's own writes are the re-run's cost as much as the stock's.
        w = inv["rerun_writes_per_product"]
        rows.append(
            (
                "inventory re-run, write requests per product (all tables)",
                f"{w['all']} (inventory table: {w['inventory']})",
                f"<= {INVENTORY_RERUN_WRITES}",
                w["all"] <= INVENTORY_RERUN_WRITES,
            )
        )
        if "all_items" in w:  # runs before it counted requests only
            rows.append(
                (
                    "inventory re-run, items written per product (all tables)",
                    f"{w['all_items']}",
                    f"<= {INVENTORY_RERUN_WRITES}",
                    w["all_items"] <= INVENTORY_RERUN_WRITES,
                )
            )
    if (ch := r.get("changes")) is not None:
        per = ch["events_per_changed_product"]
        rows.append(("change events per changed product", f"{per}", "1.0", per == 1.0))
        quiet = ch["events_on_unchanged_reimport"]
        rows.append(("change events, unchanged re-import", str(quiet), "0", quiet == 0))
    return rows


def all_budgets_met(r: dict[str, Any]) -> bool:
    return all(met for *_, met in budgets(r))


def plot(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = r["throughput"]
    cs = [t["concurrency"] for t in rows]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(cs, [t["limit_per_s"] for t in rows], "--", color="grey", label="supplier-bound limit C x 1000 / latency")
    ax.plot(
        cs,
        [THROUGHPUT_BUDGET * t["limit_per_s"] for t in rows],
        ":",
        color="grey",
        label=f"budget ({THROUGHPUT_BUDGET} x limit)",
    )
    ax.plot(cs, [t["products_per_s"] for t in rows], "o-", color="tab:blue", label="apihub on the local stack")
    ref = r["reference_inprocess"]["products_per_s"]
    ax.plot([10], [ref], "s", color="tab:orange", label=f"reference, in-process, 10 threads ({ref:.1f}/s)")
    for t in rows:
        ax.annotate(
            f"{t['products_per_s']:.1f}",
            (t["concurrency"], t["products_per_s"]),
            textcoords="offset points",
            xytext=(6, -12),
            fontsize=8,
        )
    ax.set_xlabel("supplier calls in flight C (the supplier's max_concurrency)")
    ax.set_ylabel("products per second")
    latencies = " / ".join(f"{ms:.0f}" for ms in sorted({t["latency_ms"] for t in rows}))
    ax.set_title(f"{rows[0]['products']:,}-product import, {latencies} ms per supplier call")
    ax.set_xscale("log")
    ax.set_xticks(cs, [str(c) for c in cs])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


SERVICES = ("lambda", "dynamodb", "sqs", "kms", "s3", "secretsmanager", "eventbridge")


def cost_rows(info: dict[str, Any]) -> str:
    """The per-service table of the priced first import and re-import (USD per 100k products)."""
    per = info["cost"]["per_100k"]
    lines = [f"| {svc} | ${per['first'].get(svc, 0):.4f} | ${per['reimport'].get(svc, 0):.4f} |" for svc in SERVICES]
    lines.append(f"| **total** | **${per['first']['total']:.3f}** | **${per['reimport']['total']:.3f}** |")
    return "\n".join(lines)


def usage_line(info: dict[str, Any], kind: str, products: int) -> str:
    """What the priced run did, per product: the units behind the dollars."""
    u = info["cost"]["usage"][kind]
    gb_s = info["cost"]["gb_s"][kind]
    lam = ", ".join(
        f"{fn} {n} x {u['lambda_ms'].get(fn, 0) / max(n, 1):.0f} ms ({gb_s.get(fn, 0):.1f} GB-s)"
        for fn, n in sorted(u["lambda_requests"].items())
    )
    other = ", ".join(f"{k} {v}" for k, v in sorted(u["requests"].items())) or "none"
    return (
        f"Lambda: {lam}; DynamoDB {u['ddb_wru']:,.0f} WRU ({u['ddb_wru'] / products:.2f} per product) and "
        f"{u['ddb_rru']:,.0f} RRU ({u['ddb_rru'] / products:.2f} per product); other requests: {other}"
    )


def scale_model(info: dict[str, Any], products: int) -> dict[str, Any]:
    """The 1,000,000-product, 20-supplier model's figures, from the priced first import."""
    u = info["cost"]["usage"]["first"]
    mem = info["cost"]["memory_mb"]
    hydrate_ms = u["lambda_ms"].get("HydrateFunction", 0) / products  # invocation time per product
    per_100k = info["cost"]["per_100k"]["first"]["total"]
    wru_pp, rru_pp = u["ddb_wru"] / products, u["ddb_rru"] / products
    return {
        "hydrate_ms_pp": hydrate_ms,
        "hydrate_gb": mem.get("HydrateFunction", 1024) / 1024,
        "wru_pp": wru_pp,
        "rru_pp": rru_pp,
        "usd_1m": per_100k * 10,
    }


def _calls_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(counts.items()))


def markdown(r: dict[str, Any], info: dict[str, Any], *, plot: str) -> str:
    m = r["machine"]
    t_rows = "\n".join(
        f"| {t['concurrency']} | {t['latency_ms']:.0f} ms | {t['products']:,} | {t['products_per_s']:.2f} "
        f"| {t['limit_per_s']:.1f} | **{t['ratio']:.2f}** |"
        for t in r["throughput"]
    )
    d = info["discovery"]
    extra = [
        (
            "discovery of 100k: longest invocation",
            f"{d['max_invocation_s']} s of {d['invocations']}",
            f"<= timeout {d['timeout_s']:.0f} s",
            d["max_invocation_s"] <= d["timeout_s"],
        ),
        (f"`{COMMAND}` wall time", f"{info['wall_s'] / 60:.1f} min", "< 20 min", info["wall_s"] < 20 * 60),
    ]
    budget_rows = "\n".join(
        f"| {name} | {measured} | {budget} | {'met' if met else '**missed**'} |"
        for name, measured, budget, met in [*budgets(r), *extra]
    )
    cold_rows = "\n".join(f"| `{fn}` | {ms} |" for fn, ms in r["cold_import_ms"].items())
    ref = info["reference"]
    re_run = info["reimport_run"]
    first_w, first_calls = info["first"]
    re_w, re_calls = info["reimport"]
    top = info.get("cost", {}).get("concurrency") or max(t["concurrency"] for t in r["throughput"])
    lp = r["list_p50_ms"]
    parse = info["parse"]
    top_rate = next(t["products_per_s"] for t in r["throughput"] if t["concurrency"] == top)
    list_rows = "\n".join(f"| {int(n):,} | {ms} ms |" for n, ms in sorted(lp.items(), key=lambda kv: int(kv[0])))
    cold_runs = info.get("cold_runs", 3)
    floor_ms = info.get("cold_import_floor_ms", "not measured")
    paused_line = paused_floor_line(info)
    lanes = ", ".join(str(c) for c in info.get("lanes", [])) or "none"
    cost_table = cost_rows(info)
    cost_c = info["cost"].get("concurrency", top)
    usage_first = usage_line(info, "first", r["throughput"][0]["products"])
    usage_re = usage_line(info, "reimport", r["throughput"][0]["products"])
    prices_as_of = info["cost"]["prices_as_of"]
    memory_line = ", ".join(f"{fn} {mb}" for fn, mb in sorted(info["cost"]["memory_mb"].items()))
    first_request_rows = "\n".join(
        f"| `{fn}` | {v['ms']} | {v['dynamodb_clients']} |" for fn, v in info.get("first_request", {}).items()
    )
    sm = scale_model(info, r["throughput"][0]["products"])
    vs_ref = r.get("vs_reference")
    freshness_sections = freshness_markdown(info) + real_markdown(info)
    return TEMPLATE.format(
        **locals(),
        command=COMMAND,
        wall_min=info["wall_s"] / 60,
        first_line=_calls_line(first_calls),
        re_line=_calls_line(re_calls),
        ref_rate=r["reference_inprocess"]["products_per_s"],
        all_line=_calls_line(info["calls"]),
    )


def freshness_markdown(info: dict[str, Any]) -> str:
    """The sections of issues 14 and 15 (empty for a run that did not measure them)."""
    out = ""
    if (inv := info.get("inventory")) is not None:
        w = inv["rerun_writes_per_product"]
        tables = ", ".join(f"{t} {n}" for t, n in sorted(inv["rerun_writes_by_table"].items())) or "none"
        items = (
            f"Items written, a transaction's one by one: **{w['all_items']}** per product (goal <= 0.05),"
            " nearly all of them the outcome item each SKU gets for exactly-once counting (DESIGN.md,"
            " invariant 1)."
            if "all_items" in w
            else "This run did not count items (a transaction's one by one)."
        )
        out += INVENTORY_SECTION.format(inv=inv, w=w, tables=tables, items=items)
    if (ch := info.get("changes")) is not None:
        types = ", ".join(f"{t} {n}" for t, n in sorted(ch["events_by_type"].items())) or "none"
        out += CHANGES_SECTION.format(ch=ch, types=types)
        if "webhook_deliveries_per_s" in ch:
            out += WEBHOOK_RATE_SECTION.format(ch=ch)
    return out


INVENTORY_SECTION = """## Inventory freshness (issue 14)

`apihub_bench/inventory.py`. The inventory mode over the {inv[products]:,} products the C={inv[concurrency]}
throughput run stored (its supplier registered again with the fake's Inventory 2.0.0 endpoint, same
fake, {inv[latency_ms]} ms a call, `max_concurrency` {inv[concurrency]}, `rate_limit_per_s` 1000, stock that never
churns: `--stock-churn 0`, as `APIHUB_DEMO_STOCK_CHURN=0`). One `getInventoryLevels` call a product,
so the supplier-bound limit is the throughput runs' C x 1000 / latency.

* **Inventory job**: {inv[products_per_s]:.2f} products/s against a limit of {inv[limit_per_s]:.1f}:
  ratio **{inv[ratio]:.2f}** ({inv[seconds]} s, job start to finish).
* **Unchanged re-run** (the same job again, nothing changed at the supplier; {inv[rerun_seconds]} s):
  **{w[all]}** DynamoDB write requests per product over every table (goal <= 0.05), of which
  {w[inventory]} to the inventory table (an item is written only when its content hash changes); the
  rest is the job's own: its outcome transactions, counters, the limiter's slot leases, discovery
  and the ending. Write requests by table (a transaction or batch once for each table it writes):
  {tables}. {items}
* **Live read**: {inv[live_reads]} sequential `GET /api/suppliers/{{id}}/products/{{pid}}/inventory?max_age_s=0`
  over HTTP (loopback, bearer token, authorizer included), each reading the supplier: p50
  {inv[live_read_ms_p50]} ms, **{inv[live_read_added_ms_p50]} ms** over the supplier's own {inv[latency_ms]} ms (what the
  live path does besides the call: the read's single-flight lease, the supplier's credentials and
  slot, storing the answer). For scale, the same reads of
  the stored copy (`max_age_s=86400`, no supplier call): p50 {inv[stored_read_ms_p50]} ms.

This section alone (with the C=10 import it reads), its figures printed and nothing written:
`PYTHONPATH=layers/apihub:src .venv/bin/python -m apihub_bench --inventory-only` (about 3.5 minutes);
docs/inventory.md quotes its before/after runs.

"""

CHANGES_SECTION = """## Change feed (issue 15)

`apihub_bench/changes.py`. A supplier of its own (a fake with {ch[products]:,} sellable products,
{ch[fake_latency_ms]} ms a call) imported once; then the stream triggers start as `make run` starts them
(`apihub_local.streams`: `ChangesFunction` on the products and inventory streams,
`DispatchChangesFunction` on the change log's), from each stream's end (as a mapping created now
with `StartingPosition: LATEST`, so the earlier runs are not replayed and did not pay for the
feed), with the `DeliverWebhookFunction` queue's poller, and a webhook subscription to all
`product.*` types of that supplier points at a receiver on 127.0.0.1 (a free port, stopping by
itself). The fake's `POST /control/change {{"reprice": N}}` changes {ch[changed_products]} products and a
full re-import commits them.

* **Lag** from a product's commit (the event's `occurred_at`, the product's write time) to its
  webhook's receipt: p50 **{ch[lag_ms_p50]} ms**, p95 **{ch[lag_ms_p95]} ms** (max {ch[lag_ms_max]} ms). The
  {ch[changed_products]} changes commit within one import, a burst: each waits behind the others in every stage
  (one stream batch of up to 100 records handled in order, then their dispatch, then deliveries
  a batch at a time, each batch's at once), so the lag grows with the burst (trial runs on this machine,
  2026-11-30: p50 0.6 to 1.1 s for 10 changes, 1.5 to 3.7 s for 50). Locally each
  stream poller waits 0.2 s when it finds nothing, and the stages run one after another (detect and
  log, dispatch, deliver); in AWS each mapping's `MaximumBatchingWindowInSeconds` (1 s) takes its place.
* **Events per changed product**: {ch[events]} distinct events delivered for {ch[changed_products]} changed
  products: **{ch[events_per_changed_product]}** ({types}).
* **Unchanged re-import**: **{ch[events_on_unchanged_reimport]}** events, counted once every stream was read to
  its end and the webhook queue was empty.

"""


TEMPLATE = """# Benchmarks

Every figure on this page comes from one command, which measures on the local stack and rewrites
this page, `bench/results.json` (the figures issue 7 asks for), `bench/details.json` (the rest of
the run, quoted below) and the plot:

```
{command}        # = PYTHONPATH=layers/apihub:src .venv/bin/python -m apihub_bench
```

Last run: {m[date]}, {m[cpu]}, {m[cores]} cores, Python {m[python]}; {wall_min:.1f} minutes from
start to finish (load average {m[load_avg_at_start][0]} at the start, {m[load_avg_at_end][0]} at the
end, on 2 cores).

**How steady is this machine?** Not very: it is a shared virtual machine whose speed drifts over
minutes. The parse benchmark below, pure CPU on one pinned core, gave a median of 15.8 ms in one run
and 28.8 ms two minutes later with nothing else of ours running; twelve cold imports of
`list_sync_jobs` within one minute ranged from 319 to 655 ms. CPU-bound figures (cold imports, parsing, list latency) carry
that spread; the throughput ratios, which are mostly supplier waiting, much less.

## Budgets

| figure | measured | budget | |
| --- | --- | --- | --- |
{budget_rows}

## What changed, and by how much

Profiled with `python -X importtime` and cProfile (cold imports) and `py-spy record --subprocesses`
(a C=10 import on the local stack). In the order found, newest first:

* **Issue 16: commits off the fetching threads, and the fan-out from memory.** A timeline of a
  C=10 import of 2,000 products at 200 ms (every handler and supplier call timed in-process on the
  bench stack, 2026-11-30) showed where the slots idled: the progressive commits (40, about 156 ms
  each, a moto transaction) ran on the fetching thread that made one due, so that thread's slot
  waited 6.2 slot-seconds in all; and the discovery read back the ref chunks it had just written to
  order them by outcome group (0.22 s before the first hydrate message). A commit now runs on a
  thread of its own (`commits.CommitLane`; the fetching threads go straight on), and an
  invocation that has just listed orders the listed SKUs in memory. Slot utilisation between the
  first call and the last: 0.955 before, 0.968-0.972 after; first hydrate message 0.82 -> 0.72 s
  after the job started. Same process, same spell, against the reference: 44.45 vs 46.20
  products/s (0.962) before, 45.74 vs 46.08 (0.993) after. Then the end of each invocation
  (the batch's last commit, then handing its 5 slots back, then the completion check, one after
  another: 203 ms on average, the slots idle): the last commit now runs on the commit thread while
  the slots are handed back, 138 ms (`test_the_batchs_last_commit_runs_while_its_slots_are_handed_back`).
  What is left is per invocation and per job: each of the 8 invocations' ends still idles its 5
  slots (on the local stack moto serialises every call and spends most of a transaction parsing
  condition expressions), and the listing (0.4-0.5 s) comes before any fetch, as in the reference.
* **Issue 16: a function's init runs with the garbage collector paused.** `gc.callbacks` on
  get_product's import counted 110 young, 10 middle and one full collection, 37-55 ms of a
  ~420 ms import, freeing nothing; the libraries alone stay just under the full collection's
  threshold, our functions cross it (which is why the ratios moved with import order). Each
  `functions/<f>/app.py` now wraps its imports in `apihub.startup.cold_start()` (docs/decisions.md).
  `--coldstart-only` right after: 33 of 34 within 1.3x, the slowest 1.30x (13 of 34 in the run
  before). "Cold imports" below also gives the ratio against the libraries imported with the same
  pause: our own code's share.
* **Found by this page's run of 2026-11-30 (e91ac19): fan-out past its deadline.** With 50-SKU
  messages the 100,000-product discovery below fanned out in 2 invocations, and one ran 15.47 s
  against its (scaled) 15 s timeout: ordering the SKUs by outcome group read all 100 ref chunks
  before any time check. After a listing in the same invocation the read now stops between two
  chunks past the reserve, and a fresh invocation does it (one always reads them all and sends a
  chunk, so every invocation makes progress; `tests/integration/test_outcome_groups.py`). The same
  figure with the fix, runs of `apihub_bench.discovery.discovery_fan_out` on the bench stack:
  longest invocation 13.53 s (the 15 s timeout less its 1.5 s reserve), 23.8 s in all.

* **Issue 16: message size** (docs/decisions.md, "Hydrate message size"). Every hydrate invocation
  pays a fixed cost whatever its batch holds: the supplier's slots leased and handed back, the job
  and duplicate reads, the last commit's wait. With 10 SKUs a message, a batch of 5 messages was 50
  products, 2 s of calls at C=10 and 200 ms, and the per-commit metric showed the pattern (45 + 5
  products an invocation). A product job's messages now carry as many SKUs as give each supplier
  slot 4 messages, between 10 and 50 (`pipeline/discover.refs_per_message`): 50 at C=10 and C=5,
  20 at C=25, 10 at C=50 for 2,000 products, so the widest supplier still gets every slot fed to
  the end. One lane each (`python -m apihub_bench.lane --products 2000 --latency-ms 200
  --concurrency 10`, 2026-11-30, load average 0.6): 10 SKUs a message
  (`APIHUB_HYDRATE_REFS_PER_MESSAGE_MAX=10`) 39.4 products/s (0.787), the rule 45.1 (0.901), with
  UpdateItem calls 422 -> 107 and TransactWriteItems 84 -> 52; C=5 0.925 (0.83 in the run before),
  C=25 at 500 ms 0.884 (0.85).
* **Issue 16: a stock's age reads outcomes without the writers.** `inventory/freshness.py` used
  `JobsRepository` for two reads (the supplier's recent inventory jobs, and which of them recorded a
  SKU), which imported the outcome, lifecycle and transaction modules into get_product, get_inventory
  and sync_jobs_health. The readers are `dal/jobs/outcome_reads.OutcomeReads` now (the exactly-once
  writer extends it) and `listing.JobListing`: get_product's own modules, summed self time under
  `python -X importtime`, 137 -> 105 ms.
* **Issue 16: several calls in flight per hydrate invocation.** A hydrate invocation called the
  supplier one product after another and waited on the store between (the duplicate check, each
  commit), holding 1 GB throughout. It now keeps up to 5 calls in flight (a thread pool sharing
  the invocation's limiter, which leases that many of the supplier's slots when they are free),
  starts every fetch of its batch at once, and commits on the fetching thread, outside the lock,
  while the other calls go on. A timeline of one 50-product batch at 200 ms a call (an in-process
  harness, 2026-11-30, load average 9 on 2 cores): 3.43 s with the first version (five slot
  leases one after another, 0.33 s; a 0.28 s commit that stopped every thread), 2.87 s after
  leasing the extra slots with one read, committing outside the lock and releasing the slots at
  once; 2.0 s is the calls alone. `HydrateFunction` `MemorySize` 1024 → 512 MB: the handler and its libraries take 47 MB
  and five 423-part products at once peak at 72 MB (`ru_maxrss`). Side by side with the design
  before (one call at a time, C invocations), same stack, same spell of the machine (load average
  6 on 2 cores, 2026-11-30): 1,000 products at C=10, 200 ms: 37.5 products/s before, 36.8 after,
  the reference 44.1; 500 products at C=5: 19.3 before, 18.9 after. The same throughput from a
  fifth of the invocations, at about a quarter of the hydrate GB-s (1,000 products at C=10:
  first import $0.37 and re-import $0.25 per 100k, Lambda $0.07 of each). On this local stack
  each batch's bookkeeping (the moto server over HTTP, on a shared machine) costs more supplier
  time than the overlap wins back, which is what keeps C=10 below the reference.
* **Issue 16: one DynamoDB client per container.** PynamoDB gives every model its own connection,
  and each built its own botocore session and client on its first request: 5 on the path of
  `tests/integration/test_one_dynamodb_client.py`. They share one now.

* **Issue 16: cold imports within 1.3x of the libraries.** The budget is a ratio now: a function's
  cold import against the design's libraries imported alone, in the same rounds ("Cold imports"
  below); `python -m apihub_bench --coldstart-only` runs that section alone. What each function
  imported beyond those libraries (`python -X importtime`, and the CPU time of each module's import
  with the collector off, median of 3, so that the machine's drift shows less), and the fix:
  - Powertools' batch utility imports its parser's pydantic event models (SQS, DynamoDB streams,
    Kinesis, Kafka, CloudWatch...) whenever pydantic is loaded, for a type alias: 22 ms of
    discover's and hydrate's imports. `apihub.batch` loads it the way Powertools does without
    pydantic (we pass the processor no model).
  - importing any part of `apihub.dal.jobs` (the inventory store needs `keys` and `writes`) ran the
    package's `__init__`, which imported every part, the outcome and lifecycle writers included:
    about 14 ms. The package names its parts lazily; routes that only read jobs use `JobListing`.
  - every API function imported the tokens table (with every PynamoDB model, and `http.cookies`)
    for the role rules, which are catalog data now: health, openapi and the jobs page import no
    PynamoDB at all.
  - a route module served several functions: the supplier functions imported the products,
    inventory and jobs tables for the product routes (about 25 ms), the product and stock-change
    lists the live-read path. One route module per need now.

  CPU time beyond the libraries, before and after, same rounds (2026-11-30): get_supplier 62.7 ->
  36.8 ms, list_suppliers 57.1 -> 34.4, list_products 62.9 -> 37.7, list_inventory_changes 65.9 ->
  44.6, list_sync_jobs 50.2 -> 34.5, hydrate 86.7 -> 63.4, health 36.1 -> 25.4; authorizer 31.8
  -> 31.5 (unchanged). `--coldstart-only`, twice before and twice after, on a machine whose load
  average stayed between 5 and 11 on 2 cores (the floor took 0.8 to 2.1 s instead of 0.3; the two
  runs after overlapped): within 1.3x, 34 and 21 of 34 functions before, 27 and 32 after. Under
  that load a ratio moves by up to 0.15 between runs of the same code (get_subscription 1.24x,
  then 1.40x), so only the largest changes show there: health, openapi and jobs_page went from
  1.15-1.27x to 0.73-0.82x (they import no PynamoDB now); get_inventory (1.44x, 1.28x), get_product
  (1.35x, 1.33x) and list_inventory_changes (1.41x, 1.29x) were the closest to the line after.
  The figure to quote is a quiet `make bench`; the CPU times above are the steadier measure.
  What remains beyond the floor is our modules' own class creation, needed by most requests:
  `apihub.models` (16 pydantic models, about 10 ms with deferred building), `dal/tables.py` (every
  table's PynamoDB models, 6 ms), `Settings` (3 ms), and the whole jobs table for the functions
  that read a stock's age (`inventory/freshness.py` reads inventory jobs' outcomes) or start, end
  and count jobs. `tests/unit/test_cold_imports.py` fails when a heavy module comes back into a
  function that does not use it.

* **Cold imports** (the budget missed by 3 to 9x in the first run). Medians of 3 fresh imports per
  function on a quiet spell, before the changes (`apihub_bench.coldstart.cold_import_ms(runs=3)`):
  list_sync_jobs 706 ms, list_suppliers 887, sync_jobs_health 862, discover 655, hydrate 477,
  authorizer 358. The time went to, and the fix for each:
  - `aws_xray_sdk` (Powertools `Tracer`, imported through `apihub.observability` by every function):
    110-260 ms. Removed: `Tracing: Active` still traces every invocation (docs/decisions.md).
  - pydantic-settings (it loads asyncio, argparse and its other sources): 30-45 ms. `Settings` is a
    plain pydantic model fed from the `APIHUB_*` variables.
  - building every pydantic model at import: about 40 ms. Models build on first use
    (`defer_build`), so a function builds only the ones it touches.
  - Powertools' OpenAPI spec models, imported by every API function: 60-150 ms. Only the openapi
    function imports them now.
  - every API function imported every route's dependencies (jobs service, adapters, suppliers,
    KMS client...): 10-30 ms. Routes live in one module per area (`apihub.api.routes.*`) and the
    catalog names handlers by module, so a function imports its own route only; boto3 (s3transfer,
    multiprocessing) is imported when the first SQS or KMS client is made.
  - **the layer shipped no bytecode**: `BuildMethod: python3.11` runs pip without compiling, and
    `/opt` is read-only in Lambda, so every cold start would have compiled pydantic, Powertools,
    PynamoDB, botocore and our code again (the first run measured against the source tree and its
    caches, which hid this). The layer is built by `layers/apihub/Makefile` now: the Lambda
    platform's wheels, then `compileall --invalidation-mode unchecked-hash`.

  What is left is the floor of the libraries the design names: importing `pynamodb.models`,
  pydantic and Powertools' HTTP resolver with its validation middleware, nothing of ours, takes a
  median of 240 ms here (9 runs on a quiet spell; 220-330 ms). Our own modules add 16 to 37 ms
  (an API function's `app` imported after those libraries, fastest of 7 runs per function). The
  API budget of 300 ms is therefore met only in the machine's quieter spells: in this run the
  libraries alone took {floor_ms} ms (same probe, same rounds; "Cold imports" below).
* **moto's ReceiveMessage was O(queue length) per message** (`moto_tuning.speed_up_sqs_receives`):
  its retention check called `get_queue_attributes`, which builds `queue.attributes`, which walks
  every message. With `cache_moto_module_list` (the moto server listed its package directory, about
  150 `isdir` calls, on every request to find the backend), this was a quarter of the moto server's
  samples in a C=10 import. `bench/moto_bench.py receive` (in-process moto, draining 2,000 messages
  10 at a time, 2026-11-26): unpatched 195.5 s, patched 4.1 s.
* **moto walked the whole table for every index query** (`moto_tuning.speed_up_index_queries`): a
  `Query` on a GSI iterated and sorted every item of the jobs table (outcomes, ref chunks, locks...)
  to find one status's jobs, so the list figure grew with everything the run had stored: 180 ms at
  100 jobs and 517 ms at 20,000 (2.9x) in the first `make bench` run of 2026-11-26, half of the moto
  server's samples in `Table.query`/`all_items` under py-spy. moto's query now runs on the items
  whose index hash key matches (a map rebuilt after any write, each list sorted once in moto's
  order), and a first page without a range condition on just the `limit + 1` items it can return;
  paging, `LastEvaluatedKey` and range conditions behave as before
  (`tests/tooling/test_moto_index_queries.py`). The second `make bench` run of 2026-11-27,
  with the map but not yet the sorting and trimming, still measured 82.8 ms vs 170.5 ms (2.1x).
  DynamoDB never had this cost: a Query reads only the page it returns.
* **Wall time**: 2,000 products at 200 ms per call is 400 s at C=1 and 200 s at C=2 even at the
  supplier-bound limit, so run one after another the throughput runs alone took most of 15 minutes
  (the first run took 23.8 minutes). C={lanes} now run in lanes of their own (`apihub_bench/lane.py`:
  a process with its own moto server, fake supplier and functions) beside the main lane, which runs
  the other concurrencies and every other figure. A lane's single worker spends almost all its time
  waiting on the supplier, so the lanes cost the main lane little CPU.
* **Found on the way, in the pipeline** (not a speed fix): when SQS delivered a hydrate message twice
  and both copies ran short of time, each handed its leftovers on, doubling the work at every hop.
  Copies now hand each leftover on once between them (architecture.md, "Nothing lost").
* From the first run, kept: moto's `SendMessage` was O(queue length)
  (`moto_tuning.speed_up_sqs_sends`; 1,000 messages: 22.6 s unpatched, 0.6 s patched) and its
  `TransactWriteItems` copied whole tables for rollback (`speed_up_transactions`; a 90-item
  transaction on two 10,000-item tables: 41.6 s unpatched, 52 ms patched), both measured by
  `bench/moto_bench.py`. Local stack only; DynamoDB and SQS never had these costs.

## Throughput against the supplier-bound limit

A full_sellable import of {r[throughput][0][products]:,} products from the fake PromoStandards
supplier (`apihub_fakes.promostandards`, every call answered after `latency_ms`: 200 ms for C up to
10, C x 20 ms above (500 ms at 25, 1,000 ms at 50), so that those runs ask of this 2-core machine's
moto server no more products per second than C = 10 does, while 25 and 50 calls really are in
flight). C is the
supplier calls in flight the run allows: the supplier's `max_concurrency` (its slots,
`apihub/ratelimit.py`). A hydrate invocation keeps up to `APIHUB_HYDRATE_CALLS_IN_FLIGHT` (K = 5)
calls in flight, so the hydrate mapping's `MaximumConcurrency` is ceil(C / K)
(`BenchStack.invocations_for`; a spare invocation waiting for released slots was tried and gained
nothing measurable, while its wait is billed).
`products_per_s` is products over the job's own `started_at` → `completed_at` (discovery,
fan-out, hydration and finalisation included).

No design can do better than **C x 1000 / latency_ms** products per second when a product costs
one call: that is the supplier-bound limit. The bench's suppliers register the fake's Product
Data endpoint only (`pricing` and `media` set to `""`), so a product costs exactly one supplier
call, and `rate_limit_per_s: 1000`, which never binds.

| C | latency | products | products/s | limit/s | ratio |
| --- | --- | --- | --- | --- | --- |
{t_rows}

![throughput against concurrency]({plot})

Each run is a first import through its own supplier (`bench-c<C>`, same catalog), so every run
writes every product. C={lanes} ran in lanes of their own (a stack each), at the same time as the
main lane's runs (the other concurrencies, largest first, then everything else). What separates a
run from its limit: each invocation's start (the job read, the duplicate check, leasing the slots)
and end (the last commit, releasing the slots, the next receive), during which its slots wait;
the last round of batches; the discovery call and the fan-out; and, locally, the moto server that
serialises every request of every worker, and the fake supplier, on the same 2 cores.

**Reference design.** The same catalog imported the way the reference API-HUB does it: one
process, a pool of 10 threads each hydrating a product and putting it (one DynamoDB write per
product), no queue and no job counters (`apihub_bench/reference.py`), same fake supplier, same run:
**{ref_rate:.2f} products/s** ({ref[products]:,} products in {ref[seconds]:.1f} s, {ref[writes]:,}
write requests), against apihub's {top_rate:.2f} products/s at C={top} (10 calls in flight, as
the reference's 10 threads) in the same run: `vs_reference` **{vs_ref}**. The reference has no
queue hops, no per-batch transaction and no job bookkeeping; apihub pays those for exactly-once
counts, crash and redelivery safety, and workers that scale past one process.

## DynamoDB writes per product

Counted with a botocore `before-call.dynamodb` hook (`apihub_bench/awscalls.py`). The bench runs
the local stack's parts in its own process (moto in its child process; the handlers in-process, as
`make run` does), so one hook on every botocore session, installed before the stack starts, sees
every request the API and the pipeline make. A request counts once, whatever it carries:
PutItem, UpdateItem, DeleteItem, BatchWriteItem and TransactWriteItems.

* First import ({r[throughput][0][products]:,} products, C={top}): **{first_w:,}** write requests,
  {r[ddb_writes_per_product_first]} per product. All requests: {first_line}.
* Re-import of the unchanged catalog (same supplier, C={top}; it ran at {re_run[products_per_s]:.2f}
  products/s, ratio {re_run[ratio]:.2f}): **{re_w:,}** write requests,
  {r[ddb_writes_per_product_reimport]} per product. All requests: {re_line}.

Outcomes, changed products and the counter `ADD` share one transaction per ≤45 products, and an
unchanged product (same content hash) is not written at all; the rest is the job's own items, the
limiter's slot leases (about two writes per batch) and the discovery state.

## Cost per import

`cost_usd_per_100k` in `bench/results.json`: what the first import and the unchanged re-import
at C={cost_c} (2,000 products each, above) actually did, priced with `bench/prices.json`
(on-demand, us-east-1, as of {prices_as_of}; where each price comes from is in that file, which
was written from AWS's published prices and not re-read online), scaled to 100,000 products.
`apihub_bench/cost.py` counts, while the import runs:

* **Lambda**: every invocation of every function (the import request, its authorizer, discover,
  hydrate) and its handler's duration, billed per ms at the function's `MemorySize` in
  template.yaml ({memory_line} MB).
* **DynamoDB** (on-demand): request units from item sizes, as DynamoDB rounds them (moto returns
  no real consumed capacity): 1 WRU per KB written (the larger of the item before and after an
  update), 1 RRU per 4 KB strongly consistent read and half that eventually consistent, a Query's
  items summed before rounding, everything in a transaction twice; and every index copy a write
  makes, at the size the index holds (issue 27; the runs before it left them out).
* **SQS**: one request per 64 KB chunk of each send, one per receive, delete or visibility change
  (the event source mapping's polls are billed in AWS too); **KMS**, **S3**, **Secrets Manager**
  and **EventBridge** per request, where the run made them.

| service | first import | unchanged re-import |
| --- | --- | --- |
{cost_table}

USD per 100,000 products. What the runs did:

* First import: {usage_first}.
* Re-import: {usage_re}.

Not counted: storage (GB-months, not per import), CloudWatch Logs and metrics, data transfer, and
the supplier's own side.

**What binds the re-import.** Measured with `python -m apihub_bench --cost-only` (only the
C=10 first import and unchanged re-import of 2,000 products, priced as above; it prints
`cost_usd_per_100k` and the WRU by item kind), on the same machine before and after issue 16's
outcome groups:

| | first import | unchanged re-import |
| --- | --- | --- |
| before: WRU / RRU per product, USD per 100k | 4.39 / 1.22, $0.345 | 2.31 / 1.19, $0.226 (DynamoDB $0.159) |
| after | 2.51 / 0.71, $0.226 | 0.43 / 0.81, $0.098 (DynamoDB $0.037) |

Before, an unchanged product wrote no product item, but its outcome item (exactly once,
invariant 1) was written in the transaction that adds to the job's counters, and DynamoDB bills
a transactional write twice: 4,000 of the re-import's 4,625 WRU. Now a job's SKUs are recorded
in outcome groups of about 500 bytes of SKUs each, one conditional `ADD` per group a commit
touches (reliability.md, "Exactly once with outcome groups"): 228 WRU for the 2,000 products
(0.11 per product). What is left of the re-import's 854 WRU: the supplier limiter's slot leases
(402), the job item's counter updates (173), the outcome groups (228), ref chunks (36); its reads
fell from 1.19 to 0.81 RRU per product (a redelivery check reads a few groups, not one item per
SKU). Lambda, $0.050 per 100k, is now the larger part of the re-import's $0.098.

## First request after a cold start

The first request a fresh container answers (`apihub_bench/coldstart.py`, `first_request_ms`):
a fresh interpreter imports the function (not timed), then its handler runs on the function's
sample event (`events/<f>.json`) against this run's moto server, timed; median of 3. The last
column is the botocore DynamoDB clients that request made: one per container, shared by every
PynamoDB model (`apihub/dal/tables.py`), where each model used to build its own
(`tests/integration/test_one_dynamodb_client.py`).

| function | ms | DynamoDB clients |
| --- | --- | --- |
{first_request_rows}

## A 1,000,000-product catalog across 20 suppliers

A model, not a measurement: the per-product figures of the priced first import above (the toy
catalog, one call a product, the feed off), applied to 20 suppliers of 50,000 products each, all
imported at once. Issue 27's model at the realistic shape, every feature on and every shared key
and quota derived from template.yaml, is "Scale model" under "Real catalogs, real bills" below.

* **Wall time** is the suppliers' own limits: a supplier allowing `rate_limit_per_s` calls per
  second, with `calls_per_product` calls a product (1 here; up to 3 for PromoStandards with pricing
  and media), takes 50,000 x calls / rate seconds, and all 20 run side by side, so the slowest
  sets the catalog's time. At the default 5 calls/s and 3 calls a product: 30,000 s, 8.3 hours; at
  25 calls/s: 1.7 hours. The concurrency bound, `max_concurrency` x 1000 / latency, binds first
  when latency x rate > `max_concurrency` (the defaults, 4 slots and 5/s, allow up to 800 ms a
  call). apihub adds nothing that binds before either.
* **Peak Lambda concurrency**: each supplier's slots / K hydrate invocations (20 x ceil(4 / 5) =
  20 at the defaults), plus at most one discover invocation per supplier at the start; API
  functions on top. Each product keeps a hydrate invocation busy {sm[hydrate_ms_pp]:.0f} ms here
  (its calls overlap), {sm[hydrate_gb]:.2f} GB. That, the Lambda part of the bill, grows with the
  supplier's latency x calls a product / 5: a supplier taking 1 s a call, 3 calls a product, keeps
  an invocation about 0.6 s a product, about $0.50 per 100k products at 512 MB; the DynamoDB part
  does not change.
* **DynamoDB**: {sm[wru_pp]:.1f} WRU and {sm[rru_pp]:.1f} RRU per product. 20 suppliers at 5
  calls/s with 3 calls a product are 33 products/s: about {sm[wru_pp]:.1f} x 33 WRU/s, far below
  on-demand's 40,000 WRU/s table quota and a partition's 1,000 WRU/s (the hottest item, a job's
  counters, is written once per transaction of up to 45 products). One import of the catalog:
  about ${sm[usd_1m]:.2f} at these prices.
* **Where the first AWS quota binds**: at 20 suppliers none does; the suppliers' limits do. Adding
  suppliers, the first is the hydrate `MaximumConcurrency` (ours, `HydrateMaxConcurrency`, 50 in
  `prod`): it must be at least the sum of the suppliers' slots / 5, or suppliers wait on each other.
  Then Lambda's account concurrency (1,000 per region by default; new accounts may start lower),
  raised in Service Quotas, which keeps 1,000 x 5 = 5,000 supplier calls in flight. SQS, KMS
  (one decrypt per supplier per invocation), and DynamoDB on-demand stay far from theirs.

{freshness_sections}## Scans

`Scan` requests during the whole run (API, discovery, hydration, listing): **{r[scans]}**. Every
DynamoDB request the run made: {all_line}.

## Listing jobs

Median of 30 sequential `GET /api/sync-jobs?status=failed&limit=20` over HTTP (loopback, bearer
token, authorizer included) after 3 warm-up requests, with that many jobs stored (a quarter of them
failed, spread over past months). Jobs are seeded with the items `JobsRepository.store_without_lock`
writes, batched 25 per BatchWriteItem (`apihub_bench/listing.py`).

| jobs stored | p50 |
| --- | --- |
{list_rows}

The request is one `Query` on the keys-only `ByStatus` index with `Limit` 20 and a `BatchGetItem`
of 20 jobs, whatever is stored: DynamoDB's work does not grow with the table, and with the moto fix
above neither does the local stand-in's (the figures differ by the machine's noise).

## Cold imports

Median of {cold_runs} imports of each `functions/<f>/app.py` in a fresh interpreter
(`apihub_bench/coldstart.py`), with the function folder and the **built layer** (`python/` of
`sam build ApihubLayer`, with its .pyc files) first on `sys.path`, as `/var/task` and `/opt/python`
in Lambda; boto3, which the layer does not carry, comes from the venv as it would from the runtime.
`PYTHONDONTWRITEBYTECODE=1`: nothing is cached between runs, as on Lambda's read-only `/opt`. The
runs go round-robin over the functions, so a slow spell of the machine spreads over all of them;
the first round (file cache warm-up) is not counted. The budget (issue 16): each function within
1.3x the libraries alone (after the table), measured in the same rounds;
`python -m apihub_bench --coldstart-only` runs this section alone on a fresh layer build and prints
each ratio. What keeps each function's imports down, and the test that guards it: docs/architecture.md,
"Cold imports: what a function loads".

| function | ms |
| --- | --- |
{cold_rows}

For scale, the same probe in the same rounds on a module that imports only what every API function
needs from the libraries the design names (`pynamodb.models`, pydantic, Powertools' HTTP resolver
with its validation middleware, Powertools' logger), nothing of ours: **{floor_ms} ms**.

Every function runs its init with the garbage collector paused, then freezes what the init built
(`apihub.startup.cold_start`): without the pause an API function's import ran about 120 collections,
one of them over every object (about 20 ms, and 35-55 ms for all of them, measured with
`gc.callbacks`), while the libraries alone stay just under the threshold of a full one. The ratios
above are against the libraries as a plain import, as the budget is written. {paused_line}

## Layer size

`sam build ApihubLayer` (`layers/apihub/Makefile`) into a temporary directory, before anything else:
**{r[layer_mb]} MB** unzipped (10^6 bytes, sum of file sizes), bytecode included. Most of it is
botocore, which pynamodb pulls in although the Lambda runtime has it too; pinning our own copy keeps
PynamoDB on the botocore it was tested with.

## Parsing a 400-part getProduct

`bench/parse_bench.py` (its `measure` function), pinned to one core
(`taskset -c 0 .venv/bin/python bench/parse_bench.py --runs 100`): a {parse[bytes]:,}-byte reply
shaped like S&S Activewear's style 6030 ({parse[parts]} parts, {parse[colours]} colours, HTML
description, relative image URL, no `FobPointArray`), parsed (safe XML, SOAP envelope and
ServiceMessage checks) and normalised into the canonical pydantic `Product`, no network. Over
{parse[runs]} runs: median **{parse[median_ms]} ms**, p90 {parse[p90_ms]} ms, min {parse[min_ms]} ms.
Earlier runs of the same command on a quieter machine gave medians of 16 to 21 ms (this page's
history); the minimum above is the figure least disturbed by other sessions.

The adapter parses with the C parser when the bytes provably contain no DTD and hands everything
else to defusedxml, which refuses DTDs (`docs/adapters/promostandards.md`, "Safe parsing"); with
defusedxml for every reply the same command measured a median of 34 to 41 ms on an idle machine.

## Discovery of 100,000 products

A full_sellable import of a 100,000-product `DemoAdapter` catalog (no supplier latency, so the
figure is apihub's own cost), discovery run by the discover function on its own, nothing
hydrating: listing into ref chunks, then fan-out of {d[hydrate_messages]:,} hydrate messages
(up to 50 SKUs each: "Message size" above) with SendMessageBatch. The function's timeout and time reserve are scaled by 0.05
(300 s → {d[timeout_s]:.0f} s, reserve 30 s → 1.5 s) so that the work has to continue across
invocations through the discovery queue, as a large catalog does in AWS.

**{d[seconds]} s** from the import request to the last message sent, in **{d[invocations]}**
invocations; the longest took {d[max_invocation_s]} s (timeout {d[timeout_s]:.0f} s).
"""

WEBHOOK_RATE_SECTION = """* **Webhook throughput** (issue 23): {ch[webhook_rate_deliveries]} deliveries queued at once for the
  subscription ({ch[webhook_rate_delivered]} received within the wait; a first attempt that failed comes back a minute later),
  its receiver answering each after {ch[webhook_receiver_latency_ms]} ms: **{ch[webhook_deliveries_per_s]}
  deliveries/s** from the first receipt to the last. The local stack runs the template's delivery
  mapping (batch size, `MaximumConcurrency`) and worker on one machine; the figure for AWS is the
  timing model's (docs/changes.md, "Throughput and ordering").

"""
