"""``make bench``: every figure of docs/benchmarks.md, measured on the local stack, from scratch.

Order matters on a 2-core machine: the CPU-bound figures (parse, cold imports) run first, alone;
then the stack starts and the throughput runs go one after another, each a first import of the
same fake catalog through its own supplier (so each writes every product). The only overlap is
``sam build`` of the layer (it yields a size, no timing) during the C=1 run, whose one worker
spends its time waiting on the supplier's 200 ms. The reference import, the re-import, the
discovery fan-out and the list latencies follow, each alone. Between the re-import and the
reference: issue 14's inventory job, twice, over the C=10 run's products, and issue 15's change
feed (``freshness``; about 2.5 minutes at 2,000 products on this machine, most of it the two
inventory jobs at the supplier's 50 calls/s). Then issue 27's sections (``real_catalog``): the
realistic catalog's shape, its three priced imports with the feed on, the scale model, and the
multi-supplier run, sized so that the whole run stays within its wall-time budget.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apihub_bench import coldstart, cost, figures
from apihub_bench.awscalls import DynamoDBCalls, writes

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results.json"
DETAILS = ROOT / "bench" / "details.json"  # the run's other figures, quoted by the doc
DOC = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "benchmarks-throughput.png"
LATENCY_MS = 200
# Above C=10 the fake answers after C x 20 ms (500 ms at 25, 1 s at 50): the same 50 products/s
# limit as C=10 at 200 ms, so the 2-core machine's moto server and fake keep up and the run fits
# the 15 minutes, while 25 and 50 calls really are in flight at once.
HIGH_LATENCY_MS_PER_CALL_IN_FLIGHT = 20
PRODUCTS = 2000
CONCURRENCIES = (1, 2, 5, 10, 25, 50)
COST_C = 10  # the concurrency of the priced first import and re-import (and of the reference)
LIST_SIZES = (100, 2000, 20000)
INVENTORY_C = 10  # issue 14: the inventory job at C=10 (on the products the C=10 throughput run stored)
CHANGE_PRODUCTS, CHANGED = 100, 50  # issue 15: the change feed's catalog and how many of it change
# Issue 27: the realistic catalog's priced imports (C=10, feed on), the products its shape is
# measured on, and the multi-supplier run (``apihub_bench.multi``); ``--quick`` runs them small.
REAL_PRODUCTS, REAL_C, SHAPE_PRODUCTS = 500, 10, 500
QUICK = {"real_products": 40, "shape_products": 50, "multi_suppliers": 2, "multi_products": 20}

_t0 = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - _t0:6.0f} s] {text}", flush=True)


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).date().isoformat(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def parse_ms() -> dict[str, Any]:
    """bench/parse_bench.py's measurement, pinned to one core as its section says."""
    cmd = [sys.executable, str(ROOT / "bench" / "parse_bench.py"), "--runs", "100", "--json"]
    if sys.platform.startswith("linux"):
        cmd = ["taskset", "-c", "0", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603
    return json.loads(out.stdout.strip().splitlines()[-1])


def latency_for(concurrency: int) -> int:
    return LATENCY_MS if concurrency <= 10 else concurrency * HIGH_LATENCY_MS_PER_CALL_IN_FLIGHT


def start_lanes(concurrencies: list[int], products: int) -> list[tuple[int, subprocess.Popen[bytes], Path]]:
    """One ``apihub_bench.lane`` process per concurrency, started now, collected by ``finish_lanes``."""
    lanes = []
    for c in concurrencies:
        log = Path(tempfile.mkdtemp(prefix=f"apihub-bench-lane-c{c}-")) / "lane.log"
        with log.open("wb") as out:
            cmd = [sys.executable, "-m", "apihub_bench.lane", "--products", str(products)]
            cmd += ["--latency-ms", str(latency_for(c)), "--concurrency", str(c)]
            lanes.append((c, subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT), log))  # noqa: S603
        say(f"lane C={c} started (log {log})")
    return lanes


def finish_lanes(lanes: list[tuple[int, subprocess.Popen[bytes], Path]]) -> list[dict[str, Any]]:
    results = []
    for c, process, log in lanes:
        if process.poll() is None:
            say(f"waiting for lane C={c}")
        if process.wait() != 0:
            raise RuntimeError(f"lane C={c} failed, see {log}")
        last = [line for line in log.read_text().splitlines() if line.startswith('{"throughput"')][-1]
        results.append(json.loads(last))
    return results


def cost_figures(first: cost.Usage, reimport: cost.Usage, memory_mb: dict[str, int], products: int) -> dict[str, Any]:
    """Dollars per 100k products of the priced first import and re-import, per service, with the
    units they came from."""
    prices = cost.load_prices()
    out: dict[str, Any] = {"prices_as_of": prices["as_of"], "per_100k": {}, "usage": {}, "gb_s": {}}
    for name, used in (("first", first), ("reimport", reimport)):
        out["per_100k"][name] = cost.per_100k(cost.dollars(used, memory_mb, prices), products)
        out["usage"][name] = used.as_dict()
        out["gb_s"][name] = cost.gb_seconds(used, memory_mb)
    out["memory_mb"] = memory_mb
    return out


def freshness(
    stack: Any, calls: DynamoDBCalls, info: dict[str, Any], *, concurrency: int, args: argparse.Namespace
) -> None:
    """Issues 14 and 15: the inventory mode on the products the ``concurrency`` throughput run
    stored (supplier ``bench-c<C>``), at that C, then the change feed
    (``apihub_bench.inventory``, ``apihub_bench.changes``); about two minutes together."""
    from apihub_bench.changes import change_feed_figures
    from apihub_bench.inventory import inventory_figures

    started = time.monotonic()
    info["inventory"] = inventory_figures(stack, calls, slug=f"bench-c{concurrency}", concurrency=concurrency)
    say(f"inventory ({time.monotonic() - started:.0f} s): {info['inventory']}")
    started = time.monotonic()
    info["changes"] = change_feed_figures(stack, products=args.change_products, changed=args.changed)
    say(f"change feed ({time.monotonic() - started:.0f} s): {info['changes']}")


def freshness_only(args: argparse.Namespace) -> int:
    """``--freshness-only``: the C=10 first import, then ``freshness``; prints the figures."""
    from apihub_bench.stack import BenchStack

    calls = DynamoDBCalls().install()
    stack = BenchStack(products=args.products, latency_ms=LATENCY_MS).start()
    info: dict[str, Any] = {}
    try:
        say(f"C={INVENTORY_C}: {stack.first_import(INVENTORY_C)}")
        freshness(stack, calls, info, concurrency=INVENTORY_C, args=args)
    finally:
        stack.stop()
        calls.uninstall()
    from apihub_bench import report

    print(json.dumps({k: report.results_freshness(info)[k] for k in ("inventory", "changes")}, indent=2))
    return 0


def meter_stack(meter: cost.UsageMeter, stack: Any) -> None:
    """Point ``meter`` at ``stack``: its functions' memory, every table's keys and indexes."""
    template = stack.hub.functions.template
    tables = {k: v for k, v in stack.hub.stack.refs.items() if k in template.of_type("AWS::DynamoDB::Table")}
    meter.memory_mb = cost.template_memory_mb(template)
    meter.key_names = cost.template_key_names(template, tables)
    meter.indexes = cost.table_indexes(template, tables)
    meter.watch_functions(stack.hub.functions)


def real_catalog(stack: Any, meter: cost.UsageMeter, info: dict[str, Any], args: argparse.Namespace) -> None:
    """Issue 27: the realistic catalog's shape and priced imports, the scale model, and the
    multi-supplier run, into ``info`` (``report_real`` turns them into results and the page)."""
    from apihub_bench import catalog_shape, multi, real, scale

    template = stack.hub.functions.template
    cold = info.get("cold_import_ms") or json.loads(RESULTS.read_text()).get("cold_import_ms", {})
    floor = info.get("cold_import_floor_ms") or json.loads(RESULTS.read_text()).get("cold_import_floor_ms", 0.0)
    init_ms = real.init_ms_by_function(template, cold, floor)
    started = time.monotonic()
    shape = catalog_shape.measure(args.shape_products)
    say(f"catalog shape ({time.monotonic() - started:.0f} s): {shape}")
    started = time.monotonic()
    measured = real.real_catalog_figures(
        stack,
        meter,
        products=args.real_products,
        concurrency=REAL_C,
        latency_ms=LATENCY_MS,
        log_level=str(template.parameter_defaults()["LogLevel"]),
    )
    info["real"] = real.priced(measured, meter.memory_mb, init_ms, template) | {
        "catalog_shape": shape,
        "throughput": measured["throughput"],
        "fake_calls": measured["fake_calls"],
    }
    say(f"real catalog ({time.monotonic() - started:.0f} s): {info['real']['cost_usd_per_100k_real']}")
    from apihub_bench.reference import import_in_process

    assert stack.hub is not None
    fake = stack.add_fake(LATENCY_MS, args.real_products, shape="realistic")
    stack.register_supplier("bench-real-reference", fake, real.endpoints_of(fake), slots=REAL_C, rate_limit_per_s=1000)
    written, seconds = import_in_process(stack.hub.api("GET", "/api/suppliers/bench-real-reference").json["id"], REAL_C)
    ref_rate = round(written / seconds, 2)
    row = info["real"]["throughput"]
    row["reference_products_per_s"] = ref_rate
    row["vs_reference"] = round(row["products_per_s"] / ref_rate, 3)
    say(f"real catalog, the reference fed the same catalog: {written} products in {seconds:.1f} s ({ref_rate}/s)")
    info["scale_model"] = scale.model(template, scale.Workload(product_item_bytes=int(shape["item_bytes_mean"])))
    say(f"scale model: first binding {info['scale_model']['first_binding_quota']['quota']}")
    started = time.monotonic()
    info["multi_supplier"] = multi.multi_supplier(stack, suppliers=args.multi_suppliers, products=args.multi_products)
    ms = {k: v for k, v in info["multi_supplier"].items() if k != "per_supplier"}
    say(f"multi-supplier ({time.monotonic() - started:.0f} s): {ms}")


def real_only(args: argparse.Namespace) -> int:
    """``--real-only`` / ``--quick``: issue 27's sections alone on a fresh stack; prints their
    results keys and budget rows, writes nothing."""
    from apihub_bench import report_real
    from apihub_bench.stack import BenchStack

    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    meter = cost.UsageMeter(memory_mb={}).install()
    stack = BenchStack(products=args.real_products, latency_ms=LATENCY_MS).start()
    info: dict[str, Any] = {}
    try:
        meter_stack(meter, stack)
        real_catalog(stack, meter, info, args)
    finally:
        stack.stop()
        meter.uninstall()
    results = report_real.results_real(info)
    print(json.dumps(results, indent=2))
    for name, measured, goal, met in report_real.real_budgets(results):
        say(f"{name}: {measured} (goal {goal}) {'met' if met else 'MISSED'}")
    ok = results["multi_supplier"]["all_exact"] and results["multi_supplier"]["limits_respected"]
    return 0 if ok else 1


def cost_only(args: argparse.Namespace) -> int:
    """``--cost-only``: the priced first import and unchanged re-import at C=``COST_C`` and
    nothing else; prints ``cost_usd_per_100k`` with the units behind it (WRU by item kind)."""
    from apihub_bench.stack import BenchStack

    meter = cost.UsageMeter(memory_mb={}).install()
    stack = BenchStack(products=args.products, latency_ms=LATENCY_MS).start()
    try:
        assert stack.hub is not None
        meter_stack(meter, stack)
        used = meter.snapshot()
        say(f"C={COST_C}: {stack.first_import(COST_C, latency_for(COST_C))}")
        first = meter.snapshot() - used
        used = meter.snapshot()
        run = stack.run_import(f"bench-c{COST_C}", COST_C)
        reimport = meter.snapshot() - used
        say(f"re-import at C={COST_C}: {run.job['status']}, {run.job['success_count']} products, {run.seconds:.1f} s")
    finally:
        stack.stop()
        meter.uninstall()
    figures_ = cost_figures(first, reimport, meter.memory_mb, args.products)
    out: dict[str, Any] = {"products": args.products, "concurrency": COST_C}
    for name, used_ in (("first", first), ("reimport", reimport)):
        out[name] = {
            "cost_usd_per_100k": figures_["per_100k"][name],
            "wru_per_product": round(used_.wru / args.products, 3),
            "rru_per_product": round(used_.rru / args.products, 3),
            "wru_by_kind": dict(sorted(used_.wru_by_kind.items())),
            "lambda_ms": dict(used_.lambda_ms),
            "lambda_requests": dict(used_.lambda_requests),
            "requests": dict(used_.requests),
        }
    print(json.dumps(out, indent=2))
    return 0


def inventory_only(args: argparse.Namespace) -> int:
    """``--inventory-only``: the C=10 first import, then only the inventory figures; prints them."""
    from apihub_bench.inventory import inventory_figures
    from apihub_bench.stack import BenchStack

    calls = DynamoDBCalls().install()
    stack = BenchStack(products=args.products, latency_ms=LATENCY_MS).start()
    try:
        say(f"C={INVENTORY_C}: {stack.first_import(INVENTORY_C)}")
        started = time.monotonic()
        measured = inventory_figures(stack, calls, slug=f"bench-c{INVENTORY_C}", concurrency=INVENTORY_C)
        say(f"inventory ({time.monotonic() - started:.0f} s)")
    finally:
        stack.stop()
        calls.uninstall()
    print(json.dumps(measured, indent=2))
    return 0


def multi_defaults() -> tuple[int, int]:
    from apihub_bench.multi import PRODUCTS as MULTI_PRODUCTS
    from apihub_bench.multi import SUPPLIERS

    return SUPPLIERS, MULTI_PRODUCTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apihub_bench", description=__doc__)
    parser.add_argument("--products", type=int, default=PRODUCTS)
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCIES))
    parser.add_argument("--list-sizes", type=int, nargs="+", default=list(LIST_SIZES))
    parser.add_argument("--discovery-products", type=int, default=100_000)
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument(
        "--coldstart-only",
        action="store_true",
        help="only the cold imports (a fresh layer build, then --cold-runs rounds); prints them, writes nothing",
    )
    parser.add_argument(
        "--lane", type=int, nargs="*", default=[1, 2], help="concurrencies run in lanes of their own (see lane.py)"
    )
    parser.add_argument("--no-write", action="store_true", help="print the results, write no files")
    parser.add_argument("--change-products", type=int, default=CHANGE_PRODUCTS, help="the change feed's catalog")
    parser.add_argument("--changed", type=int, default=CHANGED, help="products changed for the change feed's lag")
    parser.add_argument(
        "--freshness-only",
        action="store_true",
        help="only the inventory and change feed figures (and the C=10 import they read); prints them, writes nothing",
    )
    parser.add_argument(
        "--cost-only",
        action="store_true",
        help="only the priced first import and re-import at C=10; prints cost per 100k and WRU by item kind",
    )
    parser.add_argument(
        "--inventory-only",
        action="store_true",
        help="only the inventory figures (and the C=10 import they read); prints them, writes nothing",
    )
    parser.add_argument(
        "--real-products", type=int, default=REAL_PRODUCTS, help="issue 27: the priced realistic catalog"
    )
    parser.add_argument(
        "--shape-products", type=int, default=SHAPE_PRODUCTS, help="issue 27: products the shape is measured on"
    )
    parser.add_argument("--multi-suppliers", type=int, default=multi_defaults()[0], help="issue 27: suppliers at once")
    parser.add_argument("--multi-products", type=int, default=multi_defaults()[1], help="issue 27: products each")
    parser.add_argument(
        "--real-only",
        action="store_true",
        help="only issue 27's sections (realistic catalog, its bill, scale model, multi-supplier run); prints them",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="issue 27's sections at a smoke-check size (40 products, 2 x 20); prints them",
    )
    parser.add_argument("--render-only", action="store_true", help="rewrite the doc and plot from the last run's files")
    args = parser.parse_args(argv)
    if args.coldstart_only:
        return coldstart.ratios_only(args.cold_runs, say)

    from apihub_bench import report

    if args.freshness_only:
        return freshness_only(args)
    if args.cost_only:
        return cost_only(args)
    if args.inventory_only:
        return inventory_only(args)
    if args.real_only or args.quick:
        return real_only(args)
    if args.render_only:
        results = json.loads(RESULTS.read_text())
        report.plot(results, PLOT)
        DOC.write_text(report.markdown(results, json.loads(DETAILS.read_text()), plot=PLOT.name))
        return 0 if report.all_budgets_met(results) else 1

    info: dict[str, Any] = {"machine": machine()}
    say(f"machine: {info['machine']}")
    layer_dir = Path(tempfile.mkdtemp(prefix="apihub-bench-layer-")) / "build"
    builder = coldstart.start_layer_build(layer_dir)
    if builder.wait() != 0:
        raise RuntimeError(f"sam build failed, see {layer_dir.with_suffix('.log')}")
    info["layer_bytes"] = coldstart.tree_bytes(layer_dir / "ApihubLayer")
    say(f"layer: {info['layer_bytes']:,} bytes")
    info["parse"] = parse_ms()
    say(f"parse: {info['parse']}")
    info["cold_import_ms"] = coldstart.cold_import_ms(runs=args.cold_runs, layer=layer_dir / "ApihubLayer" / "python")
    info["cold_import_floor_ms"] = info["cold_import_ms"].pop(coldstart.LIBRARIES_FLOOR)
    info["cold_import_floor_paused_ms"] = info["cold_import_ms"].pop(coldstart.LIBRARIES_FLOOR_PAUSED)
    info["cold_runs"] = args.cold_runs
    say(f"cold imports: {info['cold_import_ms']}")

    lanes = start_lanes([c for c in args.concurrency if c in args.lane], args.products)
    calls = DynamoDBCalls().install()
    meter = cost.UsageMeter(memory_mb={}).install()
    from apihub_bench.stack import BenchStack

    stack = BenchStack(products=args.products, latency_ms=LATENCY_MS).start()
    assert stack.hub is not None
    meter_stack(meter, stack)
    say(f"stack up: moto, fake supplier ({args.products} sellable products, {LATENCY_MS} ms per call), API {stack.url}")
    try:
        runs = []
        write_counts: dict[str, Any] = {}
        usage: dict[str, cost.Usage] = {}
        for c in sorted((c for c in args.concurrency if c not in args.lane), reverse=True):
            before, used = calls.snapshot(), meter.snapshot()
            row = stack.first_import(c, latency_for(c))
            delta = calls.snapshot() - before
            usage[f"first_c{c}"] = meter.snapshot() - used
            runs.append(row)
            write_counts[f"first_c{c}"] = (writes(delta), dict(delta))
            say(f"C={c}: {row} ({writes(delta)} DynamoDB writes)")
        main_lane = [c for c in args.concurrency if c not in args.lane]
        top = COST_C if COST_C in main_lane else max(main_lane)
        info["first"] = write_counts[f"first_c{top}"]

        slug = f"bench-c{top}"
        before, used = calls.snapshot(), meter.snapshot()
        reimport = stack.run_import(slug, top)
        delta = calls.snapshot() - before
        usage["reimport"] = meter.snapshot() - used
        info["reimport"] = (writes(delta), dict(delta))
        info["reimport_run"] = figures.throughput_row(top, LATENCY_MS, reimport.job["success_count"], reimport.seconds)
        say(f"re-import at C={top}: {info['reimport_run']} ({writes(delta)} writes)")
        info["cost"] = cost_figures(usage[f"first_c{top}"], usage["reimport"], meter.memory_mb, args.products)
        info["cost"]["concurrency"] = top
        say(f"cost per 100k: {info['cost']['per_100k']}")
        freshness(stack, calls, info, concurrency=INVENTORY_C if INVENTORY_C in main_lane else top, args=args)
        real_catalog(stack, meter, info, args)

        from apihub_bench.reference import import_in_process

        stack.add_promostandards_supplier("bench-reference")
        assert stack.hub is not None
        supplier_id = stack.hub.api("GET", "/api/suppliers/bench-reference").json["id"]
        before = calls.snapshot()
        written, seconds = import_in_process(supplier_id, workers=10)
        delta = calls.snapshot() - before
        info["reference"] = {"products": written, "seconds": seconds, "writes": writes(delta), "workers": 10}
        say(f"reference: {written} products in {seconds:.1f} s ({writes(delta)} writes)")

        assert stack.discovery_pollers is not None
        stack.discovery_pollers.stop(timeout_s=5.0)
        stack.discovery_pollers = None
        from apihub_bench.discovery import discovery_fan_out

        info["discovery"] = discovery_fan_out(stack.hub, products=args.discovery_products)
        say(f"discovery: {info['discovery']}")

        from apihub_bench.listing import list_latency_ms, seed_jobs

        token = stack.hub.admin_token
        seeded = 0
        info["list"] = {}
        for size in sorted(args.list_sizes):
            started = time.monotonic()
            seed_jobs(size - seeded, seeded, supplier_id=supplier_id, supplier_name="Bench bench-reference")
            seeded = size
            seed_s = time.monotonic() - started
            info["list"][str(size)] = list_latency_ms(stack.url, token, requests=30)
            say(f"list with {size} jobs: p50 {info['list'][str(size)]} ms (seeding took {seed_s:.0f} s)")
        info["first_request"] = coldstart.first_request_ms(runs=3, layer=layer_dir / "ApihubLayer" / "python")
        say(f"first request after a cold start: {info['first_request']}")
        info["calls"] = dict(calls.snapshot())  # everything since the hook was installed
    except BaseException:
        for _, process, _ in lanes:
            process.terminate()
        raise
    finally:
        stack.stop()
        calls.uninstall()
        meter.uninstall()
    for lane in finish_lanes(lanes):
        runs.extend(lane["throughput"])
        for name, n in lane["calls"].items():
            info["calls"][name] = info["calls"].get(name, 0) + n
        say(f"lane: {lane['throughput']}")
    info["throughput"] = sorted(runs, key=lambda row: row["concurrency"])
    info["lanes"] = sorted(c for c in args.concurrency if c in args.lane)

    info["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["wall_s"] = round(time.monotonic() - _t0)
    results = report.results(info, products=args.products)
    say(json.dumps(results, indent=2))
    if not args.no_write:
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        DETAILS.write_text(json.dumps(info, indent=2) + "\n")
        report.plot(results, PLOT)
        if report.TEMPLATE:
            DOC.write_text(report.markdown(results, info, plot=PLOT.name))
        say(f"wrote {RESULTS.relative_to(ROOT)}, {DOC.relative_to(ROOT)}, {PLOT.relative_to(ROOT)}")
    return 0 if report.all_budgets_met(results) else 1
