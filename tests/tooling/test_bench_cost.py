"""The arithmetic of ``make bench``'s cost per import (issue 16): DynamoDB's rounding of request
units, SQS's 64 KB chunks, prices, and that the page renders the new figures."""

from __future__ import annotations

from collections import Counter

import pytest

from apihub_bench import cost


def test_item_size_counts_names_and_values_as_dynamodb_does() -> None:
    item = {"pk": {"S": "JOB#1"}, "n": {"N": "12345"}, "b": {"B": b"\x00" * 10}, "ok": {"BOOL": True}}
    # names 2 + 1 + 1 + 2, values 5 + (1 + 3) + 10 + 1
    assert cost.item_size(item) == 6 + 5 + 4 + 10 + 1


def test_request_units_round_up_per_kilobyte_and_per_four_kilobytes() -> None:
    assert [cost.write_units(n) for n in (1, 1024, 1025, 4000)] == [1, 1, 2, 4]
    assert cost.read_units(4096, consistent=True) == 1 and cost.read_units(4097, consistent=True) == 2
    assert cost.read_units(100, consistent=False) == 0.5


def test_a_transaction_costs_twice_and_remembers_the_sizes_it_wrote() -> None:
    meter = cost.UsageMeter({}, key_names={"jobs": ["pk", "sk"]})
    big = {"pk": {"S": "J"}, "sk": {"S": "P#1"}, "data": {"B": b"x" * 1500}}
    meter._dynamodb(
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "jobs", "Item": big}},
                {"Update": {"TableName": "jobs", "Key": {"pk": {"S": "J"}, "sk": {"S": "META"}}}},
            ]
        },
        {},
    )
    assert meter._usage.wru == 2 * 2 + 2 * 1  # a 1.5 KB put (2 WRU) and a 1 KB-or-less update, doubled
    # And a projected read of that item later costs its whole size, as in DynamoDB
    meter._dynamodb("BatchGetItem", {"RequestItems": {"jobs": {"Keys": [{"pk": {"S": "J"}, "sk": {"S": "P#1"}}]}}}, {})
    assert meter._usage.rru == 0.5


def test_sqs_bills_each_64_kb_chunk_of_a_send() -> None:
    assert cost._sqs_requests("SendMessageBatch", {"Entries": [{"MessageBody": "x" * 40_000}] * 2}) == 2
    assert cost._sqs_requests("ReceiveMessage", {}) == 1


def test_dollars_price_lambda_by_memory_and_time() -> None:
    usage = cost.Usage(lambda_requests=Counter({"HydrateFunction": 2}), lambda_ms=Counter({"HydrateFunction": 2000}))
    prices = cost.load_prices()
    usd = cost.dollars(usage, {"HydrateFunction": 512}, prices)
    p = prices["prices"]
    assert usd["lambda"] == pytest.approx(2 * p["lambda_request"] + 1.0 * p["lambda_gb_s"])
    assert cost.per_100k(usd, 1000)["total"] == pytest.approx(round(usd["lambda"] * 100, 4))


def test_the_page_and_results_carry_the_new_figures_and_every_earlier_key() -> None:
    import json

    from apihub_bench import report
    from apihub_bench.run import DETAILS, RESULTS, cost_figures

    # Given the last run's figures, with what issue 16 adds
    info = json.loads(DETAILS.read_text())
    used = cost.Usage(
        lambda_requests=Counter({"HydrateFunction": 40, "DiscoverFunction": 1}),
        lambda_ms=Counter({"HydrateFunction": 160_000, "DiscoverFunction": 2_000}),
        wru=8_000,
        rru=2_000,
        requests=Counter({"sqs": 300, "kms": 40}),
    )
    info["cost"] = cost_figures(used, used, {"HydrateFunction": 512, "DiscoverFunction": 1024}, 2000)
    info["cost"]["concurrency"] = 10
    info["first_request"] = {"get_supplier": {"ms": 80.0, "dynamodb_clients": 1}}
    # When the results and the page are made
    results = report.results(info, products=2000)
    page = report.markdown(results, info, plot="plot.png")
    # Then every earlier key is kept, and the new ones are there
    assert set(json.loads(RESULTS.read_text())) <= set(results)
    assert {"vs_reference", "cost_usd_per_100k", "first_request_ms"} <= set(results)
    assert set(results["cost_usd_per_100k"]) == {"first", "reimport"}
    assert "## Cost per import" in page and "## A 1,000,000-product catalog across 20 suppliers" in page
    assert "| `get_supplier` | 80.0 | 1 |" in page
