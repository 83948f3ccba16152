"""The benchmark's arithmetic (make bench): the supplier-bound limit, ratios, medians."""

from __future__ import annotations

import pytest

from apihub_bench.figures import limit_per_s, mb, p50, per_product, throughput_row


def test_supplier_bound_limit_is_concurrency_over_latency() -> None:
    assert limit_per_s(1, 200) == 5.0
    assert limit_per_s(10, 200) == 50.0
    with pytest.raises(ValueError):
        limit_per_s(0, 200)


def test_throughput_row_compares_the_measured_rate_with_the_limit() -> None:
    # Given 2,000 products in 50 s at C=10 and 200 ms per call (limit 50/s)
    row = throughput_row(10, 200, 2000, 50.0)
    # Then 40 products/s is 0.8 of the limit
    assert row == {
        "concurrency": 10,
        "latency_ms": 200,
        "products": 2000,
        "products_per_s": 40.0,
        "limit_per_s": 50.0,
        "ratio": 0.8,
    }


def test_p50_is_the_median() -> None:
    assert p50([3.0, 1.0, 2.0]) == 2.0
    assert p50([4.0, 1.0, 2.0, 3.0]) == 2.5
    with pytest.raises(ValueError):
        p50([])


def test_per_product_and_megabytes() -> None:
    assert per_product(260, 2000) == 0.13
    assert mb(45_123_456) == 45.1
