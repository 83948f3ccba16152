"""4Over JSON -> canonical Product: option groups to parts, run-size base prices to unit price breaks."""

import pytest
from apihub.adapters.fourover.mapping import base_prices, option_groups, to_product
from apihub.errors import ProductError
from hypothesis import given, settings
from hypothesis import strategies as st

PRODUCT = {
    "product_uuid": "p-1",
    "product_code": "BC-1",
    "product_name": "Classic Tee",
    "product_description": "  A plain tee.  ",
    "brand": "Northwind",
    "closeout": True,
    "modified_on": "2024-06-01T12:00:00Z",
    "categories": [{"category_name": "T-Shirts"}, {"category_name": ""}],
    "images": [{"image_url": "/img/bc-1.jpg", "type": "Primary"}, {"image_url": "img/back.jpg"}],
}

GROUPS = {
    "entities": [
        {"product_option_group_name": "Stock", "options": [{"option_uuid": "st", "option_name": "16pt"}]},
        {
            "product_option_group_name": "COLOUR",
            "options": [
                {"option_uuid": "c-blk", "option_code": "BLK", "option_name": "Black"},
                {"option_uuid": "c-wht", "option_name": "White"},
            ],
        },
        {
            "product_option_group_name": "Size",
            "options": [
                {"option_uuid": "s-m", "option_code": "M", "option_name": "M"},
                {"option_uuid": "s-2xl", "option_code": "2XL", "option_name": "2XL"},
            ],
        },
    ]
}

PRICES = {
    "entities": [
        {"runsize": "100", "product_baseprice": "450.00"},
        {"runsize": "25", "product_baseprice": "125.00"},
        {"runsize": "25", "product_baseprice": "150.00", "option_uuids": ["s-2xl"]},
        {"runsize": "25", "product_baseprice": "175.00", "option_uuids": ["s-2xl", "c-blk"]},
    ]
}


def _product():
    return to_product("p-1", PRODUCT, GROUPS, base_prices(PRICES), base_url="https://api.example.test/v1")


def test_colour_and_size_groups_become_parts_and_other_groups_are_ignored():
    colors, sizes = option_groups(GROUPS)
    assert [c.name for c in colors] == ["Black", "White"]
    assert [s.code for s in sizes] == ["M", "2XL"]
    parts = _product().parts
    assert [(p.part_id, p.color, p.size) for p in parts] == [
        ("BC-1-BLK-M", "Black", "M"),
        ("BC-1-BLK-2XL", "Black", "2XL"),
        ("BC-1-White-M", "White", "M"),  # no option_code: the name stands in
        ("BC-1-White-2XL", "White", "2XL"),
    ]
    assert all(p.is_closeout for p in parts)


def test_product_without_variant_groups_has_one_part_named_after_the_product():
    product = to_product("p-1", PRODUCT, {"entities": []}, [], base_url="https://x.test")
    assert [(p.part_id, p.color, p.size) for p in product.parts] == [("BC-1", None, None)]


def test_run_size_totals_become_unit_price_breaks_up_to_the_next_run_size():
    group = _product().prices
    assert len(group) == 1 and group[0].group_name == "Base" and group[0].currency == "USD"
    assert [(b.quantity_min, b.quantity_max, b.price, b.price_type) for b in group[0].prices] == [
        (25, 99, 5.0, "Net"),
        (100, None, 4.5, "Net"),
    ]


def test_each_part_takes_the_most_specific_price_that_applies():
    by_id = {p.part_id: [(b.quantity_min, b.price) for b in p.prices] for p in _product().parts}
    assert by_id["BC-1-White-M"] == [(25, 5.0), (100, 4.5)]
    assert by_id["BC-1-White-2XL"] == [(25, 6.0), (100, 4.5)]
    assert by_id["BC-1-BLK-2XL"] == [(25, 7.0), (100, 4.5)]


def test_product_fields_map_to_canonical_values():
    product = _product()
    assert product.product_id == "p-1"
    assert product.name == "Classic Tee"
    assert product.brand == "Northwind"
    assert product.description == "A plain tee."
    assert product.categories == ["T-Shirts"]
    assert product.is_closeout is True
    assert product.model_dump(mode="json")["last_change_date"] == "2024-06-01T12:00:00.000Z"
    assert [(i.url, i.is_primary) for i in product.images] == [
        ("https://api.example.test/img/bc-1.jpg", True),
        ("https://api.example.test/v1/img/back.jpg", False),
    ]


def test_unreadable_modified_on_is_noted_not_fatal():
    product = to_product("p-1", {**PRODUCT, "modified_on": "yesterday"}, GROUPS, [], base_url="https://x.test")
    assert product.last_change_date is None
    assert any("modified_on" in note for note in product.notes)


@pytest.mark.parametrize(
    "entity",
    [
        {"runsize": "ten", "product_baseprice": "1.00"},
        {"runsize": "0", "product_baseprice": "1.00"},
        {"runsize": "10", "product_baseprice": "NaN"},
        {"runsize": "10", "product_baseprice": "-1"},
        {"runsize": "1000000001", "product_baseprice": "1.00"},  # over the quantity rule's 10^9
        {"runsize": "10", "product_baseprice": "1e27"},  # past what a unit price can be rounded from
        {"runsize": "10", "product_baseprice": "Infinity"},
    ],
)
def test_malformed_base_price_entries_are_product_errors(entity):
    with pytest.raises(ProductError) as err:
        base_prices({"entities": [entity]})
    assert err.value.code == "malformed"


@given(
    st.one_of(st.integers(min_value=-(10**12), max_value=10**30).map(str), st.text(max_size=8)),
    st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(["1e27", "1e999999", "-0", "9" * 40]),
        st.text(max_size=8),
    ),
)
@settings(max_examples=200, deadline=None)
def test_any_base_price_gives_a_unit_price_in_range_or_a_product_error(runsize, price):
    """Replies by rule (docs/inventory.md): a 4Over run size is a quantity (1..10^9); whatever the
    entry says, the unit price is computed or the product fails with a ProductError, nothing else."""
    try:
        (found,) = base_prices({"entities": [{"runsize": runsize, "product_baseprice": price}]})
    except ProductError:
        return
    assert 1 <= found.runsize <= 10**9
    assert found.unit_price >= 0


def test_response_without_entities_is_a_product_error():
    with pytest.raises(ProductError, match="no 'entities' list"):
        option_groups({"groups": []})
