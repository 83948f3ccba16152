"""Properties of quotes and markup over generated pricing (hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apihub.errors import InvalidInput
from apihub.pricing.markup import sell
from apihub.pricing.models import MarkupRule, ProductPricing, QuoteRequest
from apihub.pricing.quote import quote
from hypothesis import assume, given, settings
from hypothesis import strategies as st

money = st.decimals(min_value=0, max_value=500, places=4, allow_nan=False, allow_infinity=False).map(str)


@st.composite
def charge(draw: st.DrawFn, *, single_x: bool) -> dict[str, Any]:
    xs = [1] if single_x else draw(st.lists(st.integers(1, 500), min_size=1, max_size=3, unique=True))
    ys = draw(st.lists(st.integers(1, 10), min_size=1, max_size=3, unique=True))
    return {
        "charge_id": str(draw(st.integers(1, 999))),
        "type": draw(st.sampled_from(["Setup", "run", "ORDER"])),
        "applies_ltm": draw(st.booleans()),
        "per_location": draw(st.sampled_from([None, 0, 1, 2])),
        "per_color": draw(st.sampled_from([None, 0, 1, 2])),
        "prices": [
            {"x_min_qty": x, "y_min_qty": y, "price": draw(money), "repeat_price": draw(st.none() | money)}
            for x in xs
            for y in ys
        ],
    }


@st.composite
def priced_request(draw: st.DrawFn, *, single_x: bool = False) -> tuple[ProductPricing, QuoteRequest]:
    mins = sorted(draw(st.lists(st.integers(1, 1000), min_size=1, max_size=4, unique=True)))
    decoration = {
        "decoration_id": "d",
        "units_included": draw(st.none() | st.integers(0, 3)),
        "units_max": 8,
        "ltm_min_quantity": draw(st.none() | st.integers(0, 50)),
        "charges": draw(st.lists(charge(single_x=single_x), max_size=4)),
    }
    pricing = ProductPricing.model_validate(
        {
            "product_id": "P",
            "fob_id": "1",
            "currency": "USD",
            "price_type": "Net",
            "parts": [{"part_id": "A", "prices": [{"min_quantity": m, "price": draw(money)} for m in mins]}],
            "locations": [{"location_id": "l", "decorations": [decoration]}],
        }
    )
    decorations = [{"location_id": "l", "decoration_id": "d", "units": draw(st.integers(1, 8))}] * draw(
        st.integers(0, 2)
    )
    request = QuoteRequest(
        part_id="A", quantity=draw(st.integers(1, 2000)), repeat=draw(st.booleans()), decorations=decorations
    )
    return pricing, request


def priced(pricing: ProductPricing, request: QuoteRequest) -> Any:
    try:
        return quote(pricing, request)
    except InvalidInput:
        return None


@settings(max_examples=150, deadline=None)
@given(case=priced_request())
def test_total_is_the_sum_of_lines_and_nothing_is_negative(case: tuple[ProductPricing, QuoteRequest]) -> None:
    result = priced(*case)
    assume(result is not None)
    amounts = [Decimal(line.amount) for line in result.lines]
    assert Decimal(result.total) == sum(amounts)
    assert all(amount >= 0 for amount in amounts) and Decimal(result.unit_total) >= 0
    assert all(Decimal(line.amount) == Decimal(line.amount).quantize(Decimal("0.01")) for line in result.lines)


@settings(max_examples=150, deadline=None)
@given(case=priced_request(single_x=True), extra=st.integers(1, 500))
def test_total_is_monotone_in_quantity_within_one_break(case: tuple[ProductPricing, QuoteRequest], extra: int) -> None:
    pricing, request = case
    mins = [row.min_quantity for row in pricing.parts[0].prices]
    larger = request.model_copy(update={"quantity": request.quantity + extra})
    # the same break: no break starts in (quantity, quantity + extra]
    assume(not any(request.quantity < m <= larger.quantity for m in mins))
    small, big = priced(pricing, request), priced(pricing, larger)
    assume(small is not None and big is not None and small.ltm == big.ltm)
    assert Decimal(small.total) <= Decimal(big.total)


@settings(max_examples=150, deadline=None)
@given(
    case=priced_request(),
    markup=st.decimals(min_value=0, max_value=300, places=2),
    margin=st.none() | st.decimals(min_value=0, max_value=95, places=2),
    rounding=st.sampled_from(["none", "up_99", "up_whole"]),
)
def test_markup_never_sells_below_cost_nor_below_the_margin(
    case: tuple[ProductPricing, QuoteRequest], markup: Decimal, margin: Decimal | None, rounding: str
) -> None:
    result = priced(*case)
    assume(result is not None)
    rule = MarkupRule(rule_id="r", scope="all", markup_pct=markup, min_margin_pct=margin, rounding=rounding)  # type: ignore[arg-type]
    side = sell(result, rule)
    cost, total = Decimal(result.total), Decimal(side.total)
    assert total >= cost
    assert Decimal(side.unit_total) * result.quantity == total
    if margin is not None and total > 0:
        assert (total - cost) / total >= margin / 100
