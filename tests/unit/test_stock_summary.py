"""Health's stock summary (apihub.inventory.freshness.StockSummary): two ``as_of`` times stored when
an inventory job ends give, at any later time, the same p50/p95 ages as every product's age would."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from apihub.inventory.freshness import StockSummary
from apihub.models import iso
from hypothesis import given
from hypothesis import strategies as st

BASE = datetime(2026, 11, 30, tzinfo=UTC)


def _nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(round(share * len(ordered), 9))) - 1]


@given(
    st.lists(st.integers(min_value=0, max_value=86_400 * 30), min_size=1, max_size=300),
    st.integers(min_value=0, max_value=86_400 * 10),
)
def test_the_summary_answers_the_percentiles_of_every_products_age_at_a_later_time(
    offsets: list[int], later_s: int
) -> None:
    # Given products confirmed at these times, summarised
    as_ofs = [iso(BASE + timedelta(seconds=s)) or "" for s in offsets]
    summary = StockSummary.from_item(StockSummary.of(as_ofs, "job").as_item())
    assert summary is not None
    # When health asks at some later time
    now = BASE + timedelta(seconds=max(offsets) + later_s)
    fresh = summary.freshness(now)
    # Then it answers the nearest-rank p50/p95 of every product's age then
    ages = [(now - (BASE + timedelta(seconds=s))).total_seconds() for s in offsets]
    assert fresh.products == len(offsets)
    assert fresh.age_p50_s == _nearest_rank(ages, 0.50)
    assert fresh.age_p95_s == _nearest_rank(ages, 0.95)


def test_no_stock_has_no_ages() -> None:
    fresh = StockSummary.of([]).freshness(BASE)
    assert (fresh.products, fresh.age_p50_s, fresh.age_p95_s) == (0, None, None)
    assert StockSummary.from_item(None) is None
