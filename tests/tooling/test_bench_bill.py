"""Issue 27's bill: every billed item counted from recorded calls, at known prices -> known dollars
(index copies, INIT, arm64, EventBridge entries, X-Ray traces, CloudWatch Logs and metrics)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest

from apihub_bench import cost

# Round prices, so every expected figure below is arithmetic one can check by hand.
PRICES = {
    "prices": {
        "lambda_request": 1e-6,
        "lambda_gb_s": 1e-5,
        "lambda_gb_s_arm64": 8e-6,
        "dynamodb_wru": 1e-6,
        "dynamodb_rru": 1e-7,
        "sqs_request": 1e-6,
        "kms_request": 1e-5,
        "s3_put": 1e-5,
        "s3_get": 1e-6,
        "secretsmanager_request": 1e-5,
        "eventbridge_event": 1e-6,
        "xray_trace": 1e-5,
        "logs_ingested_gb": 1.0,
        "kms_key_month": 1.0,
        "secretsmanager_secret_month": 0.4,
        "cloudwatch_metric_month": 0.3,
    }
}
S = {"S": "x"}


def meter_with_indexes() -> cost.UsageMeter:
    return cost.UsageMeter(
        {},
        key_names={"products": ["supplier_id", "product_id"], "changes": ["id"]},
        indexes={
            "products": [cost.IndexDef("product_ids", ("supplier_id", "product_id"), "KEYS_ONLY")],
            "changes": [
                cost.IndexDef("ByDay", ("gsi_all", "log_sort"), "INCLUDE", ("event",)),
                cost.IndexDef("ByJob", ("gsi_job", "log_sort"), "INCLUDE", ("event",)),
            ],
        },
    )


def test_a_put_writes_every_index_copy_at_the_size_the_index_holds() -> None:
    meter = meter_with_indexes()
    product = {"supplier_id": {"S": "sup"}, "product_id": {"S": "P1"}, "data": {"B": b"z" * 3000}}
    meter._dynamodb("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "products", "Item": product}}]}, {})
    # the item: 3 KB -> 3 WRU, twice in a transaction; its keys-only copy: 1 WRU
    assert meter._usage.wru == 2 * 3 + 1
    assert meter._usage.wru_by_kind["products.product_ids"] == 1
    event = {"id": S, "log_sort": S, "gsi_all": S, "gsi_job": S, "event": {"S": "e" * 1500}}
    meter._dynamodb("PutItem", {"TableName": "changes", "Item": event}, {})
    # a 1.5 KB event item (2 WRU) and two copies that include the event (2 WRU each)
    assert meter._usage.wru == 7 + 2 + 2 * 2


def test_an_update_writes_an_index_copy_only_when_it_changes_what_the_index_holds() -> None:
    meter = meter_with_indexes()
    key = {"supplier_id": {"S": "sup"}, "product_id": {"S": "P1"}}
    meter._dynamodb("PutItem", {"TableName": "products", "Item": {**key, "data": {"B": b"z"}}}, {})
    before = meter._usage.wru
    meter._dynamodb(
        "UpdateItem",
        {
            "TableName": "products",
            "Key": key,
            "UpdateExpression": "SET #d = :d",
            "ExpressionAttributeNames": {"#d": "data"},
        },
        {},
    )
    assert meter._usage.wru - before == 1  # the item only: a keys-only index holds no `data`
    assert meter._usage.wru_by_kind["products.product_ids"] == 1  # the put's copy, none since


def test_a_delete_removes_the_items_index_copies() -> None:
    meter = meter_with_indexes()
    key = {"supplier_id": {"S": "sup"}, "product_id": {"S": "P1"}}
    meter._dynamodb("PutItem", {"TableName": "products", "Item": {**key, "data": {"B": b"z"}}}, {})
    meter._dynamodb("DeleteItem", {"TableName": "products", "Key": key}, {})
    assert meter._usage.wru_by_kind["products.product_ids"] == 2  # written, then removed


def test_updated_names_reads_every_clause() -> None:
    params = {
        "UpdateExpression": "SET #a = if_not_exists(#a, :z) + :one, b.c = :v ADD counts :n REMOVE gone, #x[0] DELETE tags :t",
        "ExpressionAttributeNames": {"#a": "success_count", "#x": "errors"},
    }
    assert cost.updated_names(params) == {"success_count", "b", "counts", "gone", "errors", "tags"}


def test_eventbridge_bills_each_entry_per_64_kb() -> None:
    entries = [{"Detail": "x" * 10}, {"Detail": "y" * 70_000}]
    assert cost._eventbridge_events("PutEvents", {"Entries": entries}) == 1 + 2


def test_emf_lines_name_each_metric_with_its_dimensions() -> None:
    line = json.dumps(
        {
            "_aws": {
                "CloudWatchMetrics": [
                    {
                        "Namespace": "apihub",
                        "Dimensions": [["service", "status"]],
                        "Metrics": [{"Name": "JobsFinished"}],
                    }
                ]
            },
            "service": "apihub",
            "status": "success",
            "JobsFinished": [1],
        }
    )
    assert cost.emf_metrics(line) == {"apihub/JobsFinished{service=apihub,status=success}"}


def test_each_environment_started_pays_init_once() -> None:
    # Given two invocations of one function in flight at once, then a third after them
    meter = cost.UsageMeter({"HydrateFunction": 512})
    gate = threading.Event()

    class Functions:
        def invoke(self, logical_id: str, event: dict[str, Any]) -> None:
            gate.wait(5)

    functions = Functions()
    meter.watch_functions(functions)
    threads = [threading.Thread(target=functions.invoke, args=("HydrateFunction", {})) for _ in range(2)]
    for t in threads:
        t.start()
    while meter._in_flight["HydrateFunction"] < 2:
        pass
    gate.set()
    for t in threads:
        t.join()
    functions.invoke("HydrateFunction", {})
    # Then two environments started (the third invocation reused one)
    assert meter.snapshot().lambda_inits["HydrateFunction"] == 2
    # And after a cold start (a fresh deployment) the next invocation starts one again
    before = meter.snapshot()
    meter.cold_start()
    functions.invoke("HydrateFunction", {})
    assert (meter.snapshot() - before).lambda_inits["HydrateFunction"] == 1


def test_recorded_calls_give_known_dollars() -> None:
    # Given what a run recorded: 10 hydrate invocations of 2 s at 512 MB, 2 environments started
    # with a 400 ms INIT, 1,000 WRU, 2,000 RRU, 50 SQS requests, 100 events, 3 KMS requests,
    # and 1 GB of log lines
    usage = cost.Usage(
        lambda_requests=Counter({"HydrateFunction": 10}),
        lambda_ms=Counter({"HydrateFunction": 20_000}),
        wru=1000,
        rru=2000,
        requests=Counter({"sqs": 50, "events": 100, "kms": 3}),
        lambda_inits=Counter({"HydrateFunction": 2}),
        log_bytes=Counter({"HydrateFunction": cost.GB - 10 * cost.PLATFORM_LOG_BYTES_PER_INVOCATION}),
    )
    usd = cost.bill(usage, {"HydrateFunction": 512}, PRICES, {"HydrateFunction": 400.0})
    # Then: Lambda 10 requests + (10 GB-s invoking + 0.4 GB-s INIT) at 1e-5
    assert usd["lambda"] == pytest.approx(10e-6 + 10.4 * 1e-5)
    assert usd["dynamodb"] == pytest.approx(1000e-6 + 2000e-7)
    assert usd["sqs"] == pytest.approx(50e-6)
    assert usd["eventbridge"] == pytest.approx(100e-6)
    assert usd["kms"] == pytest.approx(3e-5)
    assert usd["xray"] == pytest.approx(10 * 1e-5)  # one trace per invocation
    assert usd["logs"] == pytest.approx(1.0)  # the functions' lines and Lambda's own: 1 GB
    assert cost.lambda_arm64(usage, {"HydrateFunction": 512}, PRICES, {"HydrateFunction": 400.0}) == pytest.approx(
        10e-6 + 10.4 * 8e-6
    )
    per = cost.per_100k(usd, 1000)
    assert per["total"] == pytest.approx(sum(usd.values()) * 100, abs=1e-3)


def test_fixed_costs_count_the_templates_keys_and_secrets_and_the_metrics_seen() -> None:
    class Template:
        def of_type(self, kind: str) -> dict[str, Any]:
            return {"AWS::KMS::Key": {"A": {}, "B": {}, "C": {}}, "AWS::SecretsManager::Secret": {"S": {}}}.get(
                kind, {}
            )

    usage = cost.Usage(
        metrics=frozenset({"apihub/ProductsHydrated{service=apihub}", "apihub/ProductsFailed{service=apihub}"})
    )
    assert cost.fixed_per_month(Template(), usage, PRICES) == {
        "kms_keys": 3,
        "kms_usd": 3.0,
        "secrets": 1,
        "secretsmanager_usd": 0.4,
        "custom_metrics": 2,
        "metrics_usd": 0.6,
    }


def test_the_prices_file_names_a_source_and_a_date_for_every_price() -> None:
    prices = cost.load_prices()
    assert set(PRICES["prices"]) <= set(prices["prices"])
    for name in prices["prices"]:
        assert prices["sources"][name].startswith("https://aws.amazon.com/"), name
        assert prices["read"][name][:4].isdigit(), name


def test_logs_are_counted_at_the_level_given_as_powertools_writes_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from apihub.observability import logger

    monkeypatch.setattr(cost, "_current_function", lambda: "HydrateFunction")
    emf = (
        '{"_aws":{"CloudWatchMetrics":[{"Namespace":"apihub","Dimensions":[["service"]],'
        '"Metrics":[{"Name":"ProductsHydrated"}]}]},"service":"apihub","ProductsHydrated":[5]}'
    )
    quiet, meter = cost.UsageMeter({}), cost.UsageMeter({})
    stop = quiet.watch_logs("INFO")
    try:
        logger.debug("not at INFO")
    finally:
        stop()
    stop = meter.watch_logs("INFO")
    try:
        logger.info("recorded outcomes", extra={"recorded": 5})
        print(emf)
    finally:
        stop()
    assert quiet.snapshot().log_bytes == Counter()  # DEBUG is below the level: nothing ingested
    used = meter.snapshot()
    # the EMF line and one JSON line for the INFO record, each with its newline
    info_line = used.log_bytes["HydrateFunction"] - (len(emf) + 1)
    assert info_line > len('{"level":"INFO","message":"recorded outcomes","recorded":5}')
    assert used.metrics == {"apihub/ProductsHydrated{service=apihub}"}
    assert "_aws" not in capsys.readouterr().out  # counted, not shown


def test_logs_of_the_benchs_own_requests_are_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    from apihub.observability import logger

    monkeypatch.setattr(cost, "_current_function", lambda: "GetSyncJobFunction")  # the bench polling its job
    meter = cost.UsageMeter({})
    stop = meter.watch_logs("INFO")
    try:
        logger.info("job read")
    finally:
        stop()
    assert meter.snapshot().log_bytes == Counter()
