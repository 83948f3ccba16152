"""``make bench``'s figures of issues 14 (inventory) and 15 (change feed): the per-table write
count, the stream's end, and their keys, budgets and sections in bench/results.json and the page."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from apihub_bench import cost, report
from apihub_bench.awscalls import DynamoDBCalls, written_items, written_tables
from apihub_bench.changes import stream_end
from apihub_bench.run import DETAILS, RESULTS, cost_figures

INVENTORY = {
    "products": 2000,
    "concurrency": 10,
    "latency_ms": 200,
    "products_per_s": 41.0,
    "limit_per_s": 50.0,
    "ratio": 0.82,
    "seconds": 48.8,
    "rerun_writes_per_product": {"inventory": 0.0, "all": 0.04, "all_items": 1.03},
    "rerun_writes_by_table": {"apihub-local-JobsTable": 720},
    "rerun_seconds": 50.1,
    "live_reads": 20,
    "live_read_ms_p50": 402.6,
    "live_read_added_ms_p50": 202.6,
    "stored_read_ms_p50": 74.1,
}
CHANGES = {
    "products": 100,
    "fake_latency_ms": 20,
    "changed_products": 50,
    "events": 50,
    "events_by_type": {"product.updated": 50},
    "lag_ms_p50": 1076.1,
    "lag_ms_p95": 1226.9,
    "lag_ms_max": 1246.8,
    "events_per_changed_product": 1.0,
    "events_on_unchanged_reimport": 0,
}


def test_written_tables_names_each_table_a_write_request_touches() -> None:
    assert written_tables("PutItem", {"TableName": "a"}) == {"a"}
    assert written_tables("UpdateItem", {"TableName": "a"}) == {"a"}
    assert written_tables("BatchWriteItem", {"RequestItems": {"a": [], "b": []}}) == {"a", "b"}
    transaction = {
        "TransactItems": [
            {"Put": {"TableName": "a"}},
            {"Update": {"TableName": "a"}},
            {"ConditionCheck": {"TableName": "c"}},  # checked, not written
        ]
    }
    assert written_tables("TransactWriteItems", transaction) == {"a"}
    assert written_items("TransactWriteItems", transaction) == {"a": 2}  # items: one by one
    assert written_items("BatchWriteItem", {"RequestItems": {"a": [{}, {}, {}]}}) == {"a": 3}
    assert written_items("GetItem", {"TableName": "a"}) == {}
    assert written_tables("GetItem", {"TableName": "a"}) == set()
    assert written_tables("Query", {"TableName": "a"}) == set()


def test_the_hook_counts_write_requests_per_table() -> None:
    # Given the hook installed, and a client made after it (as the stack's are)
    calls = DynamoDBCalls().install()
    try:
        client = boto3.Session(region_name="us-east-1").client(
            "dynamodb",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        with Stubber(client) as stub:
            stub.add_response("put_item", {})
            stub.add_response("get_item", {})
            stub.add_response("transact_write_items", {})
            # When it writes one table, reads it, and writes two in one transaction
            client.put_item(TableName="inventory", Item={"pk": {"S": "1"}})
            client.get_item(TableName="inventory", Key={"pk": {"S": "1"}})
            client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "inventory", "Item": {"pk": {"S": "2"}}}},
                    {"Put": {"TableName": "jobs", "Item": {"pk": {"S": "3"}}}},
                ]
            )
    finally:
        calls.uninstall()
    # Then each write request counts once for each table it wrote, reads not at all
    assert calls.table_writes() == {"inventory": 2, "jobs": 1}
    # And each item once: the transaction wrote one item to each table
    assert calls.table_items() == {"inventory": 2, "jobs": 1}


class _Streams:
    """A stream with ``n`` records from sequence number ``start`` (as moto numbers them)."""

    def __init__(self, start: int, n: int) -> None:
        self.start, self.n, self.reads = start, n, 0

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {
            "StreamDescription": {
                "Shards": [{"ShardId": "s", "SequenceNumberRange": {"StartingSequenceNumber": str(self.start)}}]
            }
        }

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        return {"ShardIterator": kwargs["SequenceNumber"]}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.reads += 1
        seq = int(ShardIterator)
        return {"Records": [{"dynamodb": {"SequenceNumber": str(seq)}}] if seq < self.start + self.n else []}


class _Mapping:
    def __init__(self, streams: _Streams) -> None:
        self.streams, self.stream_arn = streams, "arn"


@pytest.mark.parametrize("n", [0, 1, 2, 5, 1000, 12_345])
def test_stream_end_is_the_next_sequence_number(n: int) -> None:
    streams = _Streams(1_100_000_000_017_454_423_009, n)
    assert stream_end(_Mapping(streams)) == streams.start + n
    assert streams.reads <= 2 * n.bit_length() + 2  # a search, not a read of every record


def _info() -> dict[str, Any]:
    """The last run's figures, with issue 16's (as tests/tooling/test_bench_cost.py makes them)."""
    info = json.loads(DETAILS.read_text())
    used = cost.Usage(
        lambda_requests=Counter({"HydrateFunction": 40}),
        lambda_ms=Counter({"HydrateFunction": 160_000}),
        wru=8_000,
        rru=2_000,
        requests=Counter({"sqs": 300}),
    )
    info["cost"] = cost_figures(used, used, {"HydrateFunction": 512}, 2000)
    return info


def test_results_and_page_carry_the_inventory_and_change_feed_figures() -> None:
    # Given the last run's figures with the two new sections
    info = _info() | {"inventory": copy.deepcopy(INVENTORY), "changes": copy.deepcopy(CHANGES)}
    # When the results and the page are made
    results = report.results(info, products=2000)
    page = report.markdown(results, info, plot="plot.png")
    # Then every earlier key is kept, and the new keys hold the figures
    assert set(json.loads(RESULTS.read_text())) - {"inventory", "changes"} <= set(results)
    assert results["inventory"] == {
        "products": 2000,
        "concurrency": 10,
        "ratio": 0.82,
        "products_per_s": 41.0,
        "limit_per_s": 50.0,
        "rerun_writes_per_product": {"inventory": 0.0, "all": 0.04, "all_items": 1.03},
        "live_read_added_ms_p50": 202.6,
    }
    assert results["changes"] == {
        "lag_ms_p50": 1076.1,
        "lag_ms_p95": 1226.9,
        "events_per_changed_product": 1.0,
        "events_on_unchanged_reimport": 0,
    }
    # And the page shows both sections and their budgets, judged over every table
    assert "## Inventory freshness (issue 14)" in page and "## Change feed (issue 15)" in page
    assert "ratio **0.82**" in page and "**202.6 ms** over the supplier's own 200 ms" in page
    assert "p50 **1076.1 ms**, p95 **1226.9 ms**" in page
    assert "**0.04** DynamoDB write requests per product over every table" in page and "**1.03** per product" in page
    rows = {name: met for name, _, _, met in report.budgets(results)}
    assert rows["inventory job ratio, 2,000 products, C=10"]
    assert rows["inventory re-run, write requests per product (all tables)"]
    assert rows["inventory re-run, items written per product (all tables)"] is False
    assert rows["change events per changed product"] and rows["change events, unchanged re-import"]


@pytest.mark.parametrize(
    ("section", "key", "value", "row"),
    [
        ("inventory", "ratio", 0.79, "inventory job ratio, 2,000 products, C=10"),
        (
            "inventory",
            "rerun_writes_per_product",
            {"inventory": 0.06, "all": 0.4},
            "inventory re-run, write requests per product (all tables)",
        ),
        (  # the inventory table's writes alone are not the goal: every table's are
            "inventory",
            "rerun_writes_per_product",
            {"inventory": 0.0, "all": 0.247},
            "inventory re-run, write requests per product (all tables)",
        ),
        ("changes", "events_per_changed_product", 1.02, "change events per changed product"),
        ("changes", "events_on_unchanged_reimport", 1, "change events, unchanged re-import"),
    ],
)
def test_a_missed_goal_is_a_missed_budget(section: str, key: str, value: Any, row: str) -> None:
    figures = {"inventory": copy.deepcopy(INVENTORY), "changes": copy.deepcopy(CHANGES)}
    figures[section][key] = value
    results = report.results(_info() | figures, products=2000)
    rows = {name: met for name, _, _, met in report.budgets(results)}
    assert rows[row] is False
    assert not report.all_budgets_met(results)


def test_a_run_without_the_new_figures_still_renders() -> None:
    info = {k: v for k, v in _info().items() if k not in ("inventory", "changes")}
    results = report.results(info, products=2000)
    page = report.markdown(results, info, plot="plot.png")
    assert "inventory" not in results and "changes" not in results
    assert "## Inventory freshness" not in page and "## Change feed (issue 15)" not in page
