"""Builds the adapter for a supplier with its decrypted credentials (cached per warm container)."""

from __future__ import annotations

from apihub.adapters.base import AdapterContext, SupplierAdapter
from apihub.adapters.registry import build_adapter
from apihub.dal.suppliers import SuppliersRepository

_cache: dict[str, tuple[str | None, SupplierAdapter]] = {}


def adapter_for(supplier_id: str) -> SupplierAdapter:
    repo = SuppliersRepository()
    supplier = repo.get_with_credentials(supplier_id)
    cached = _cache.get(supplier_id)
    if cached and cached[0] == supplier.updated_at:
        return cached[1]
    context = AdapterContext(credentials=supplier.auth_config or {})
    if hasattr(context, "on_config_update"):
        context.on_config_update = lambda changes: repo.update_protocol_config(supplier_id, changes)  # type: ignore[attr-defined]
    adapter = build_adapter(supplier, context)
    if cached:
        cached[1].close()
    _cache[supplier_id] = (supplier.updated_at, adapter)
    return adapter


def forget_adapters() -> None:
    for _, adapter in _cache.values():
        adapter.close()
    _cache.clear()
