"""Markup rules: the most specific rule wins, margin floor, price endings (docs/pricing.md "Markup")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from apihub.pricing.markup import matching_rule, sell, sell_unit
from apihub.pricing.models import MarkupRule, MarkupRuleInput, Quote
from pydantic import ValidationError


def rule(rule_id: str, scope: str = "all", markup: str = "40", **extra: Any) -> MarkupRule:
    return MarkupRule(rule_id=rule_id, scope=scope, markup_pct=Decimal(markup), **extra)  # type: ignore[arg-type]


RULES = [
    rule("r-all", "all", "20"),
    rule("r-sup", "supplier", "30", supplier_id="S1"),
    rule("r-cat", "category", "35", category="T-Shirts"),
    rule("r-prod", "product", "50", supplier_id="S1", product_id="TEE"),
]


@pytest.mark.parametrize(
    ("supplier_id", "product_id", "categories", "expected"),
    [
        ("S1", "TEE", ["t-shirts"], "r-prod"),
        ("S1", "POLO", ["T-Shirts"], "r-cat"),
        ("S1", "POLO", ["Polos"], "r-sup"),
        ("S2", "TEE", ["Polos"], "r-all"),  # a product rule belongs to its supplier
        ("S2", "POLO", ["T-SHIRTS"], "r-cat"),
    ],
)
def test_most_specific_matching_rule_wins(
    supplier_id: str, product_id: str, categories: list[str], expected: str
) -> None:
    found = matching_rule(RULES, supplier_id=supplier_id, product_id=product_id, categories=categories)
    assert found is not None and found.rule_id == expected


def test_no_matching_rule_is_none_and_ties_go_to_the_lowest_rule_id() -> None:
    assert matching_rule(RULES[1:], supplier_id="S9", product_id="X") is None
    tied = [rule("b", "category", category="Tees"), rule("a", "category", category="Caps")]
    found = matching_rule(tied, supplier_id="S", product_id="X", categories=["Tees", "Caps"])
    assert found is not None and found.rule_id == "a"


def test_markup_only() -> None:
    assert sell_unit(Decimal("10.00"), rule("r", markup="40")) == Decimal("14.00")


def test_min_margin_raises_the_price_until_the_margin_holds() -> None:
    # 10% markup on 10.00 is 11.00, a 9.1% margin; a 25% margin needs 13.333.. -> 13.34 (rounded up)
    price = sell_unit(Decimal("10.00"), rule("r", markup="10", min_margin_pct=Decimal("25")))
    assert price == Decimal("13.34")
    assert (price - 10) / price >= Decimal("0.25")


def test_min_margin_already_met_changes_nothing() -> None:
    assert sell_unit(Decimal("10.00"), rule("r", markup="50", min_margin_pct=Decimal("25"))) == Decimal("15.00")


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        ("9.75", "13.99"),
        ("10.00", "14.99"),
        ("9.2785", "12.99"),
        ("10.6429", "14.99"),
        ("10.7143", "15.99"),
        ("10.7107", "15.99"),
    ],
)
def test_up_99_rounds_up_to_the_next_x99(cost: str, expected: str) -> None:
    assert sell_unit(Decimal(cost), rule("r", markup="40", rounding="up_99")) == Decimal(expected)


def test_up_whole_rounds_up_to_the_next_unit() -> None:
    assert sell_unit(Decimal("9.75"), rule("r", markup="40", rounding="up_whole")) == Decimal("14.00")
    assert sell_unit(Decimal("10.00"), rule("r", markup="40", rounding="up_whole")) == Decimal("14.00")


def test_no_rounding_rounds_up_to_the_cent_never_down() -> None:
    assert sell_unit(Decimal("1.0001"), rule("r", markup="0")) == Decimal("1.01")


def test_sell_total_is_sell_unit_times_quantity() -> None:
    quote = Quote(
        product_id="TEE",
        part_id="A",
        quantity=144,
        fob_id="1",
        currency="USD",
        price_type="Net",
        ltm=False,
        lines=[],
        total="1404.00",
        unit_total="9.7500",
    )
    result = sell(quote, rule("r-1", markup="40", rounding="up_99"))
    assert (result.rule_id, result.unit_total, result.total) == ("r-1", "13.99", "2014.56")


def test_sell_is_computed_from_the_exact_cost_not_the_rounded_unit_total() -> None:
    # 1000.01 / 1000 = 1.00001 shows as 1.0000; at 0% the sell total must still cover 1000.01
    quote = Quote(
        product_id="P",
        part_id="A",
        quantity=1000,
        fob_id="1",
        currency="USD",
        price_type="Net",
        ltm=False,
        lines=[],
        total="1000.01",
        unit_total="1.0000",
    )
    assert Decimal(sell(quote, rule("r", markup="0")).total) >= Decimal("1000.01")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"scope": "supplier", "markup_pct": 10}, "supplier_id is required"),
        ({"scope": "product", "supplier_id": "S", "markup_pct": 10}, "product_id is required"),
        ({"scope": "all", "category": "Tees", "markup_pct": 10}, "category is not allowed"),
        ({"scope": "all", "markup_pct": -1}, "greater than or equal to 0"),
        ({"scope": "all", "markup_pct": 10, "min_margin_pct": 100}, "less than 100"),
        ({"scope": "all", "markup_pct": 10, "rounding": "down"}, "rounding"),
    ],
)
def test_rule_input_is_checked(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MarkupRuleInput.model_validate(body)
