"""Builds the adapter for a supplier with its decrypted credentials (cached per warm container),
and wraps it in the supplier's shared rate limit and the invocation's deadline (``limit_calls``)."""

from __future__ import annotations

from collections.abc import Callable

from apihub.adapters.base import AdapterContext, SupplierAdapter
from apihub.adapters.registry import build_adapter
from apihub.dal.suppliers import SuppliersRepository
from apihub.ratelimit import GuardProxy, Limits, SupplierLimiter
from apihub.settings import get_settings
from apihub.supplier_models import Supplier

_cache: dict[str, tuple[str | None, SupplierAdapter]] = {}


def adapter_for(supplier_id: str, supplier: Supplier | None = None) -> SupplierAdapter:
    """The supplier's adapter, built once per container and settings version (``updated_at``).
    The cached one is checked against the item without decrypting its credentials (a KMS call),
    or against ``supplier`` when the caller has just read it (no read at all); credentials are
    decrypted only to build an adapter."""
    repo = SuppliersRepository()
    cached = _cache.get(supplier_id)
    if cached is not None:
        current = supplier if supplier is not None else repo.get(supplier_id)
        if cached[0] == current.updated_at:
            return cached[1]
    supplier = repo.get_with_credentials(supplier_id)
    context = AdapterContext(
        credentials=supplier.auth_config or {},
        on_config_update=lambda changes: repo.update_protocol_config(supplier_id, changes),
        guard=GuardProxy(),
    )
    adapter = build_adapter(supplier, context)
    if cached:
        cached[1].close()
    _cache[supplier_id] = (supplier.updated_at, adapter)
    return adapter


def forget_adapters() -> None:
    for _, adapter in _cache.values():
        adapter.close()
    _cache.clear()


def limit_calls(
    adapter: SupplierAdapter,
    *,
    lease_s: float,
    on_throttled: Callable[[float], None] | None = None,
    time_left: Callable[[], float] | None = None,
    calls_in_flight: int = 1,
) -> SupplierLimiter:
    """Put this invocation's calls through the supplier's limiter, and under its deadline
    (``time_left``: seconds before the calls must be done); ``close()`` it when done.
    ``calls_in_flight``: slots to hold (threads that will call through it at once)."""
    limiter = SupplierLimiter(
        adapter.supplier.id,
        Limits.from_config(adapter.supplier.protocol_config or {}),
        lease_s=lease_s,
        on_throttled=on_throttled,
        max_wait_s=get_settings().limiter_max_wait_s,
        time_left=time_left,
        calls_in_flight=calls_in_flight,
    )
    adapter.context.guard.target = limiter
    return limiter
