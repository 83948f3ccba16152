"""The layer's adapter registry names the real protocols only; dev code registers its own adapters
(the DemoAdapter) in the process that needs them, and only there are they accepted."""

from __future__ import annotations

import pytest
from apihub.adapters import registry
from apihub.adapters.base import AdapterContext
from apihub.errors import InvalidInput, SupplierNotImportable
from apihub.models import Protocol
from apihub.supplier_models import Supplier, SupplierIn
from apihub.supplier_rules import validate_supplier

from apihub_fakes.demo_adapter import DemoAdapter, register_demo_adapter

REAL = ["FourOverAdapter", "PromoStandardsAdapter", "SanMarAdapter"]


@pytest.fixture
def unregistered(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as Lambda runs it: nothing registered (other tests' harnesses registered the demo)."""
    monkeypatch.setattr(registry, "_registered", {})


def _supplier(adapter_class: str) -> Supplier:
    return Supplier(
        id="s",
        name="S",
        slug="s",
        protocol=Protocol.promostandards,
        adapter_class=adapter_class,
        protocol_config={},
        created_at="2026-01-01T00:00:00Z",
    )


def test_the_layer_ships_the_real_protocols_only(unregistered) -> None:
    assert sorted(registry.ADAPTERS) == REAL
    assert registry.known_adapters() == REAL
    assert not registry.is_known("DemoAdapter")


def test_an_unregistered_demo_adapter_is_refused_with_the_field_and_the_choices(unregistered) -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_supplier(SupplierIn(name="d", slug="d", adapter_class="DemoAdapter"))
    assert exc.value.detail == f"adapter_class: must be one of {', '.join(REAL)}"
    with pytest.raises(SupplierNotImportable, match="unknown adapter_class 'DemoAdapter'"):
        registry.build_adapter(_supplier("DemoAdapter"), AdapterContext())


def test_a_registered_adapter_is_known_validated_and_built(unregistered) -> None:
    register_demo_adapter()
    assert registry.is_known("DemoAdapter")
    assert registry.known_adapters() == sorted([*REAL, "DemoAdapter"])
    validate_supplier(SupplierIn(name="d", slug="d", adapter_class="DemoAdapter"))  # no InvalidInput
    assert isinstance(registry.build_adapter(_supplier("DemoAdapter"), AdapterContext()), DemoAdapter)


def test_registering_the_same_class_again_is_harmless(unregistered) -> None:
    register_demo_adapter()
    register_demo_adapter()  # every Harness registers it
    assert registry.adapter_class("DemoAdapter") is DemoAdapter


def test_dev_code_cannot_shadow_a_real_protocol_or_another_registration(unregistered) -> None:
    with pytest.raises(ValueError, match="built-in"):
        registry.register_adapter("PromoStandardsAdapter", DemoAdapter)
    assert registry.adapter_class("PromoStandardsAdapter") is not DemoAdapter
    register_demo_adapter()

    class OtherDemo(DemoAdapter):
        pass

    with pytest.raises(ValueError, match="already registered"):
        registry.register_adapter("DemoAdapter", OtherDemo)
    assert registry.adapter_class("DemoAdapter") is DemoAdapter
