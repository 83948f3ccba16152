"""The supplier's ``protocol_config.pricing``: checked when saved, read with its defaults."""

from __future__ import annotations

from typing import Any

import pytest
from apihub.adapters.promostandards.ppc import PricingSetting
from apihub.errors import InvalidInput
from apihub.supplier_models import SupplierIn
from apihub.supplier_rules import validate_supplier


def supplier(pricing: Any) -> SupplierIn:
    return SupplierIn(name="Acme", slug="acme", protocol_config={"pricing": pricing})


@pytest.mark.parametrize(
    ("pricing", "message"),
    [
        (
            {"price_types": ["Wholesale"]},
            r"protocol_config\.pricing\.price_types\.0: Input should be 'List', 'Net' or 'Customer'",
        ),
        ({"price_types": []}, r"protocol_config\.pricing\.price_types: List should have at least 1 item"),
        ({"currencies": ["usd"]}, r"protocol_config\.pricing\.currencies\.0: String should match pattern"),
        ({"fob_ids": [""]}, r"protocol_config\.pricing\.fob_ids\.0: String should have at least 1 character"),
        ({"fob": ["1"]}, r"protocol_config\.pricing\.fob: Extra inputs are not permitted"),
        (["Net"], r"protocol_config\.pricing: Input should be a valid dictionary"),
    ],
)
def test_a_bad_pricing_setting_is_refused_naming_the_field(pricing: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_supplier(supplier(pricing))


def test_a_good_setting_passes_and_reads_with_defaults() -> None:
    validate_supplier(supplier({"fob_ids": ["1", "2", "1"], "currencies": ["USD", "CAD"]}))

    read = PricingSetting.from_config({"pricing": {"fob_ids": ["1", "2", "1"], "currencies": ["USD", "CAD"]}})

    assert read == PricingSetting(fob_ids=("1", "2"), price_types=("Net",), currencies=("USD", "CAD"))
    assert PricingSetting.from_config({}) == PricingSetting()
