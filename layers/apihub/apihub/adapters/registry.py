"""Maps ``adapter_class`` names stored on suppliers to adapter classes.

The layer knows the real supplier protocols only. Dev code (the local stack's and the tests'
``DemoAdapter``, under ``src/``) adds its own with ``register_adapter`` in the process that needs it,
so a deployed function never accepts a supplier it could not import for real.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from apihub.errors import SupplierNotImportable

if TYPE_CHECKING:  # types only: starting an import checks is_known() without loading any adapter code
    from apihub.adapters.base import AdapterContext, SupplierAdapter
    from apihub.supplier_models import Supplier

# name -> "module:Class"; imported lazily so that one function's cold start pays only for its adapter.
ADAPTERS: dict[str, str] = {
    "PromoStandardsAdapter": "apihub.adapters.promostandards:PromoStandardsAdapter",
    "SanMarAdapter": "apihub.adapters.promostandards:SanMarAdapter",
    "FourOverAdapter": "apihub.adapters.fourover:FourOverAdapter",
}

# Added at run time by the process that needs them (register_adapter); empty in Lambda.
_registered: dict[str, type[SupplierAdapter]] = {}


def register_adapter(name: str, cls: type[SupplierAdapter]) -> None:
    """Make ``name`` a known ``adapter_class`` in this process, built as ``cls``.

    Registering the same class again is a no-op; a name the layer already ships, or one registered
    to another class, raises ``ValueError`` (dev code must never shadow a real protocol)."""
    if name in ADAPTERS:
        raise ValueError(f"adapter_class '{name}' is a built-in adapter and cannot be registered again")
    current = _registered.get(name)
    if current is not None and current is not cls:
        raise ValueError(f"adapter_class '{name}' is already registered to {current.__module__}.{current.__qualname__}")
    _registered[name] = cls


def known_adapters() -> list[str]:
    """Every ``adapter_class`` this process can build, sorted."""
    return sorted({*ADAPTERS, *_registered})


def adapter_class(name: str) -> type[SupplierAdapter]:
    registered = _registered.get(name)
    if registered is not None:
        return registered
    target = ADAPTERS.get(name)
    if target is None:
        raise SupplierNotImportable(f"unknown adapter_class '{name}'; expected one of: {', '.join(known_adapters())}")
    module_name, _, class_name = target.partition(":")
    cls: type[SupplierAdapter] = getattr(importlib.import_module(module_name), class_name)
    return cls


def adapter_capability(name: str, capability: str) -> bool:
    """Whether adapter ``name`` states ``capability`` (a class attribute such as
    ``serves_inventory``); False for an unknown name. Loads that adapter's module only."""
    if not is_known(name):
        return False
    return bool(getattr(adapter_class(name), capability, False))


def is_known(name: str) -> bool:
    return name in ADAPTERS or name in _registered


def build_adapter(supplier: Supplier, context: AdapterContext) -> SupplierAdapter:
    if not supplier.adapter_class:
        raise SupplierNotImportable(
            f"supplier '{supplier.name}' has no adapter_class set; configure one before importing"
        )
    return adapter_class(supplier.adapter_class)(supplier, context)
