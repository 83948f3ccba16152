"""Maps ``adapter_class`` names stored on suppliers to adapter classes."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from apihub.errors import SupplierNotImportable

if TYPE_CHECKING:  # types only: starting an import checks is_known() without loading any adapter code
    from apihub.adapters.base import AdapterContext, SupplierAdapter
    from apihub.models import Supplier

# name -> "module:Class"; imported lazily so that one function's cold start pays only for its adapter.
ADAPTERS: dict[str, str] = {
    "DemoAdapter": "apihub.adapters.demo:DemoAdapter",
    "PromoStandardsAdapter": "apihub.adapters.promostandards:PromoStandardsAdapter",
    "SanMarAdapter": "apihub.adapters.promostandards:SanMarAdapter",
    "FourOverAdapter": "apihub.adapters.fourover:FourOverAdapter",
}


def adapter_class(name: str) -> type[SupplierAdapter]:
    target = ADAPTERS.get(name)
    if target is None:
        known = ", ".join(sorted(ADAPTERS))
        raise SupplierNotImportable(f"unknown adapter_class '{name}'; expected one of: {known}")
    module_name, _, class_name = target.partition(":")
    cls: type[SupplierAdapter] = getattr(importlib.import_module(module_name), class_name)
    return cls


def is_known(name: str) -> bool:
    return name in ADAPTERS


def build_adapter(supplier: Supplier, context: AdapterContext) -> SupplierAdapter:
    if not supplier.adapter_class:
        raise SupplierNotImportable(
            f"supplier '{supplier.name}' has no adapter_class set; configure one before importing"
        )
    return adapter_class(supplier.adapter_class)(supplier, context)
