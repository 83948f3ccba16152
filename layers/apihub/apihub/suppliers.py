"""Supplier rules beyond the schema: adapter names and endpoint URLs."""

from __future__ import annotations

from apihub.adapters.registry import ADAPTERS
from apihub.errors import InvalidInput
from apihub.models import SupplierIn, SupplierPatch


def validate_supplier(body: SupplierIn | SupplierPatch) -> None:
    """422 naming the field and the rule for values the schema alone cannot judge."""
    if body.adapter_class is not None and body.adapter_class not in ADAPTERS:
        raise InvalidInput(f"adapter_class: must be one of {', '.join(sorted(ADAPTERS))}")
    config = body.protocol_config or {}
    endpoints = config.get("endpoints")
    if endpoints is not None and not isinstance(endpoints, dict):
        raise InvalidInput("protocol_config.endpoints: must be an object of service name to URL")
