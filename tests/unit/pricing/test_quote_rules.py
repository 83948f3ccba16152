"""The quote engine, one test per rule of docs/pricing.md "Quotes" (each fails without its rule)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from apihub.errors import InvalidInput
from apihub.pricing.models import ProductPricing, QuoteRequest
from apihub.pricing.quote import quote


def pricing(**changes: Any) -> ProductPricing:
    """A tee at one FOB point: breaks at 12/48/144, screen print on the front, embroidery on the
    left chest (only part A may be embroidered)."""
    data: dict[str, Any] = {
        "product_id": "TEE",
        "fob_id": "1",
        "currency": "USD",
        "price_type": "Net",
        "parts": [
            {
                "part_id": "A",
                "description": "Tee navy L",
                "location_ids": ["1", "2"],
                "prices": [
                    {"min_quantity": 12, "price": "10.00"},
                    {"min_quantity": 48, "price": "9.75"},
                    {"min_quantity": 144, "price": "9.00"},
                ],
            },
            {"part_id": "B", "location_ids": ["1"], "prices": [{"min_quantity": 1, "price": "0.125"}]},
        ],
        "locations": [
            {
                "location_id": "1",
                "name": "Front",
                "max_decorations": 1,
                "decorations": [
                    {
                        "decoration_id": "10",
                        "name": "Screen Print",
                        "units_included": 1,
                        "units_max": 6,
                        "ltm_min_quantity": 6,
                        "charges": [
                            {
                                "charge_id": "S",
                                "name": "Screen",
                                "type": "Setup",
                                "per_color": 1,
                                "prices": [{"x_min_qty": 1, "y_min_qty": 1, "price": "40.00", "repeat_price": "20.00"}],
                            },
                            {
                                "charge_id": "R",
                                "name": "Extra colour",
                                "type": "RUN",
                                "per_color": 1,
                                "prices": [
                                    {"x_min_qty": 12, "y_min_qty": 1, "price": "0.45"},
                                    {"x_min_qty": 72, "y_min_qty": 1, "price": "0.35"},
                                ],
                            },
                            {
                                "charge_id": "L",
                                "name": "LTM",
                                "type": "order",
                                "applies_ltm": True,
                                "prices": [{"x_min_qty": 1, "y_min_qty": 1, "price": "50.00"}],
                            },
                        ],
                    }
                ],
            },
            {
                "location_id": "2",
                "name": "Left chest",
                "decorations": [
                    {
                        "decoration_id": "20",
                        "name": "Embroidery",
                        "units_max": 15000,
                        "charges": [
                            {
                                "charge_id": "D",
                                "name": "Digitizing",
                                "type": "setup",
                                "per_location": 2,
                                "prices": [
                                    {"x_min_qty": 1, "y_min_qty": 1, "price": "50.00"},
                                    {"x_min_qty": 1, "y_min_qty": 8000, "price": "75.00"},
                                ],
                            },
                            {
                                "charge_id": "E",
                                "name": "Stitching",
                                "type": "run",
                                "prices": [
                                    {"x_min_qty": 12, "y_min_qty": 1, "price": "3.50"},
                                    {"x_min_qty": 12, "y_min_qty": 8000, "price": "4.25"},
                                    {"x_min_qty": 72, "y_min_qty": 1, "price": "3.00"},
                                    {"x_min_qty": 72, "y_min_qty": 8000, "price": "3.75"},
                                ],
                            },
                        ],
                    }
                ],
            },
        ],
    }
    data.update(changes)
    return ProductPricing.model_validate(data)


def ask(quantity: int, *decorations: tuple[str, str, int], part_id: str = "A", **extra: Any) -> QuoteRequest:
    return QuoteRequest(
        part_id=part_id,
        quantity=quantity,
        decorations=[{"location_id": loc, "decoration_id": deco, "units": units} for loc, deco, units in decorations],
        **extra,
    )


def lines(result: Any) -> list[tuple[str, str | None, str, str, str]]:
    return [(line.kind, line.charge_id, line.unit_price, line.multiplier, line.amount) for line in result.lines]


# --- Rule 1: the blank line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit"), [(12, "10.00"), (47, "10.00"), (48, "9.75"), (143, "9.75"), (1000, "9.00")]
)
def test_blank_line_uses_the_largest_break_at_or_below_the_quantity(quantity: int, unit: str) -> None:
    result = quote(pricing(), ask(quantity))

    assert lines(result) == [("blank", None, unit, str(quantity), str(Decimal(unit) * quantity))]
    assert result.ltm is False and result.total == str(Decimal(unit) * quantity)


def test_the_example_of_the_issue() -> None:
    result = quote(pricing(), ask(144))
    assert (result.total, result.unit_total, result.lines[0].amount) == ("1296.00", "9.0000", "1296.00")
    assert quote(pricing(), ask(144)).lines[0].name == "Tee navy L"


# --- Rule 2: less than minimum ---------------------------------------------------------------------


def test_below_the_minimum_without_decorations_is_refused_naming_quantity_and_the_minimum() -> None:
    with pytest.raises(InvalidInput, match=r"quantity: 6 is below the minimum 12"):
        quote(pricing(), ask(6))


def test_below_the_minimum_with_decorations_allowing_it_is_an_ltm_order() -> None:
    result = quote(pricing(), ask(6, ("1", "10", 1)))

    assert result.ltm is True
    assert lines(result)[0] == ("blank", None, "10.00", "6", "60.00")


def test_ltm_needs_every_decoration_to_allow_the_quantity() -> None:
    # Embroidery lists no itemPartQuantityLTM: it never allows less than minimum
    with pytest.raises(InvalidInput, match="quantity: 6 is below the minimum 12"):
        quote(pricing(), ask(6, ("1", "10", 1), ("2", "20", 5000)))
    with pytest.raises(InvalidInput, match=r"quantity: 5 is below the minimum 12.*from 6"):
        quote(pricing(), ask(5, ("1", "10", 1)))


# --- Rule 3: choices are checked -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ask(24, part_id="Z"), r"part_id: 'Z' is not a part of product 'TEE'; allowed: A, B"),
        (ask(24, ("2", "20", 100), part_id="B"), r"decorations\[0\]\.location_id: '2' .* allowed: 1$"),
        (ask(24, ("9", "10", 1)), r"decorations\[0\]\.location_id: '9' .* allowed: 1, 2"),
        (ask(24, ("1", "20", 1)), r"decorations\[0\]\.decoration_id: '20' .* allowed: 10"),
        (ask(24, ("1", "10", 0)), r"decorations\[0\]\.units: 0 .*1 to 6"),
        (ask(24, ("2", "20", 16000)), r"decorations\[0\]\.units: 16000 .*1 to 15000"),
        (ask(24, ("1", "10", 1), ("1", "10", 2)), r"decorations: 2 decorations at location '1'; allowed: at most 1"),
    ],
)
def test_choices_outside_the_pricing_are_refused_naming_field_and_allowed(request_: QuoteRequest, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        quote(pricing(), request_)


def test_a_part_listing_no_locations_may_use_every_location() -> None:
    open_part = pricing().parts[1].model_copy(update={"location_ids": []})
    result = quote(pricing(parts=[pricing().parts[0], open_part]), ask(24, ("2", "20", 1), part_id="B"))
    assert [line.kind for line in result.lines] == ["blank", "setup", "run"]


def test_decorations_per_location_within_max_are_fine() -> None:
    more = pricing().locations[0].model_copy(update={"max_decorations": 2})
    result = quote(pricing(locations=[more, pricing().locations[1]]), ask(24, ("1", "10", 1), ("1", "10", 2)))
    assert [line.kind for line in result.lines].count("setup") == 2


# --- Rule 4: charges -------------------------------------------------------------------------------


def test_setup_per_colour_counts_every_colour() -> None:
    result = quote(pricing(), ask(24, ("1", "10", 3)))
    assert lines(result)[1] == ("setup", "S", "40.00", "3", "120.00")


def test_run_per_colour_charges_only_colours_beyond_those_included() -> None:
    # 3 colours, 1 included: 2 chargeable x 24 pieces x 0.45
    result = quote(pricing(), ask(24, ("1", "10", 3)))
    assert lines(result)[2] == ("run", "R", "0.45", "48", "21.60")


def test_run_per_colour_with_nothing_beyond_the_included_has_no_line() -> None:
    result = quote(pricing(), ask(24, ("1", "10", 1)))
    assert [line.charge_id for line in result.lines] == [None, "S"]


def test_run_row_is_picked_by_quantity() -> None:
    result = quote(pricing(), ask(100, ("1", "10", 2)))
    assert lines(result)[2] == ("run", "R", "0.35", "100", "35.00")


def test_run_without_per_colour_is_priced_by_units_per_piece() -> None:
    # 9000 stitches at 100 pieces: the y=8000 row of the x=72 column
    result = quote(pricing(), ask(100, ("2", "20", 9000)))
    assert lines(result)[2] == ("run", "E", "3.75", "100", "375.00")


def test_charge_row_prefers_the_largest_y_then_the_largest_x() -> None:
    result = quote(pricing(), ask(50, ("2", "20", 9000)))  # x=72 rows do not fit 50 pieces
    assert lines(result)[2] == ("run", "E", "4.25", "50", "212.50")


def with_charge(location_index: int, charge_index: int, **changes: Any) -> ProductPricing:
    """The fixture with one charge changed."""
    base = pricing()
    location = base.locations[location_index]
    decoration = location.decorations[0]
    charges = list(decoration.charges)
    charges[charge_index] = type(charges[charge_index]).model_validate(
        {**charges[charge_index].model_dump(), **changes}
    )
    decoration = decoration.model_copy(update={"charges": charges})
    locations = list(base.locations)
    locations[location_index] = location.model_copy(update={"decorations": [decoration]})
    return base.model_copy(update={"locations": locations})


def test_charge_row_y_wins_over_x_when_the_grid_has_gaps() -> None:
    # rows (x 1, y 8000) and (x 72, y 1): 100 pieces of 9000 stitches take the y=8000 row
    grid = [
        {"x_min_qty": 1, "y_min_qty": 8000, "price": "4.00"},
        {"x_min_qty": 72, "y_min_qty": 1, "price": "3.00"},
    ]
    result = quote(with_charge(1, 1, prices=grid), ask(100, ("2", "20", 9000)))
    assert lines(result)[2] == ("run", "E", "4.00", "100", "400.00")


def test_run_without_per_colour_multiplies_by_per_location() -> None:
    result = quote(with_charge(1, 1, per_location=2), ask(100, ("2", "20", 100)))
    assert lines(result)[2] == ("run", "E", "3.00", "200", "600.00")


def test_run_per_colour_with_nothing_chargeable_has_no_line_even_with_a_zero_row() -> None:
    zero_row = [{"x_min_qty": 1, "y_min_qty": 0, "price": "0.45"}]
    result = quote(with_charge(0, 1, prices=zero_row), ask(24, ("1", "10", 1)))
    assert [line.charge_id for line in result.lines] == [None, "S"]


def test_setup_without_per_colour_uses_per_location_and_units_pick_the_row() -> None:
    result = quote(pricing(), ask(24, ("2", "20", 9000)))
    assert lines(result)[1] == ("setup", "D", "75.00", "2", "150.00")


def test_a_charge_with_no_fitting_row_does_not_apply() -> None:
    # The extra-colour run starts at 12 pieces; an LTM order of 6 gets no run line
    result = quote(pricing(), ask(6, ("1", "10", 3)))
    assert [line.charge_id for line in result.lines] == [None, "S", "L"]


def test_ltm_charges_apply_only_to_ltm_orders() -> None:
    assert "L" in [line.charge_id for line in quote(pricing(), ask(6, ("1", "10", 1))).lines]
    assert "L" not in [line.charge_id for line in quote(pricing(), ask(12, ("1", "10", 1))).lines]


def test_order_charge_is_the_row_price_once() -> None:
    result = quote(pricing(), ask(6, ("1", "10", 1)))
    assert lines(result)[-1] == ("order", "L", "50.00", "1", "50.00")


def test_repeat_uses_the_repeat_price_where_a_row_has_one() -> None:
    repeat = quote(pricing(), ask(24, ("1", "10", 2), ("2", "20", 100), repeat=True))
    assert lines(repeat)[1] == ("setup", "S", "20.00", "2", "40.00")
    # the digitizing rows have no repeat price: the price stands
    assert lines(repeat)[3] == ("setup", "D", "50.00", "2", "100.00")


# --- Rule 5: line order ----------------------------------------------------------------------------


def test_lines_follow_the_requested_decorations_then_the_supplier_charges() -> None:
    result = quote(pricing(), ask(100, ("2", "20", 100), ("1", "10", 2)))
    assert [(line.kind, line.charge_id, line.location_id) for line in result.lines] == [
        ("blank", None, None),
        ("setup", "D", "2"),
        ("run", "E", "2"),
        ("setup", "S", "1"),
        ("run", "R", "1"),
    ]


# --- Rule 6: money ---------------------------------------------------------------------------------


def test_each_line_rounds_half_up_to_cents() -> None:
    # 0.125 x 1: half-up gives 0.13 where banker's rounding would give 0.12
    result = quote(pricing(), ask(1, part_id="B"))
    assert result.lines[0].amount == "0.13" and result.total == "0.13"


def test_total_is_the_sum_of_rounded_lines_and_unit_total_has_four_places() -> None:
    # 7 x 0.125 = 0.875 -> 0.88; unit 0.88 / 7 = 0.125714... -> 0.1257
    result = quote(pricing(), ask(7, part_id="B"))
    assert (result.total, result.unit_total) == ("0.88", "0.1257")


def test_as_of_and_choice_of_pricing_are_reported() -> None:
    from datetime import UTC, datetime

    stamp = datetime(2026, 12, 1, tzinfo=UTC)
    result = quote(pricing(as_of=stamp, fob_id="2", currency="CAD", price_type="List"), ask(12))
    assert (result.as_of, result.fob_id, result.currency, result.price_type) == (stamp, "2", "CAD", "List")
