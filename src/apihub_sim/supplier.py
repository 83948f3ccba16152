"""A simulated supplier: the demo catalog, answered in virtual time by a scripted supplier.

``SimAdapter`` (``adapter_class: "SimAdapter"``, registered in the simulating process only, like
the demo adapter) builds the same products as ``DemoAdapter`` but every call goes the way a call
of the layer's HTTP client goes (``apihub.adapters.http.HttpClient._request_once``):

1. when the pipeline gave the call a deadline (``guard.time_left()``, where the layer has one) and
   less than ``call_min_s`` is left, the call is not made (``OutOfTime``);
2. ``guard.before_call()``: the per-supplier limiter (slots, tokens, 429 penalties) may wait
   (virtual time) or raise ``Throttled``;
3. the supplier takes its latency. A call slower than the read timeout ends at the read timeout
   with a ``TransientError`` (timeout); one that meets the invocation's deadline first ends there
   with ``OutOfTime`` (when the layer gives a deadline);
4. ``guard.after_call(status, retry_after)``; 429 and 5xx become ``TransientError`` (with the
   ``Retry-After`` hint), as the HTTP client raises them.

The script (``SupplierScript``) says how slow each call is, which discovery calls fail, and until
when every product call answers 429. ``protocol_config["sim_supplier"]`` names the script.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from apihub import errors
from apihub.adapters.base import DiscoveryPage, DiscoveryRequest
from apihub.adapters.http import DEFAULT_READ_TIMEOUT
from apihub.adapters.registry import register_adapter
from apihub.errors import TransientError
from apihub.models import DiscoveryMode, Product, ProductRef

from apihub_fakes.demo_adapter import DemoAdapter, demo_sku
from apihub_sim.kernel import Kernel

SCRIPTS: dict[str, SupplierScript] = {}
_lock = threading.Lock()


@dataclass
class SupplierScript:
    """How one simulated supplier answers (virtual seconds)."""

    name: str
    kernel: Kernel
    products: int = 50
    hydrate_latency_s: float = 0.2
    discover_latency_s: float = 1.0
    page_size: int = 1000
    read_timeout_s: float = DEFAULT_READ_TIMEOUT
    # The first ``discover_failures`` discovery calls answer HTTP 503.
    discover_failures: int = 0
    # Until this virtual second every product call answers 429 with ``Retry-After: retry_after_s``.
    throttle_until_s: float | None = None
    retry_after_s: int = 900
    calls: Counter[str] = field(default_factory=Counter)

    def skus(self) -> list[str]:
        return [demo_sku(i) for i in range(1, self.products + 1)]

    def protocol_config(self, **limits: Any) -> dict[str, Any]:
        """The supplier's ``protocol_config``: the script's name, the catalog size, the limits."""
        return {"sim_supplier": self.name, "products": self.products, "page_size": self.page_size, **limits}


def register_script(script: SupplierScript) -> SupplierScript:
    with _lock:
        SCRIPTS[script.name] = script
    register_adapter(SimAdapter.name, SimAdapter)
    return script


def forget_scripts() -> None:
    """Drop the scripts and the adapter class: nothing of a run stays known in the process."""
    from apihub.adapters import registry

    with _lock:
        SCRIPTS.clear()
        if registry._registered.get(SimAdapter.name) is SimAdapter:
            del registry._registered[SimAdapter.name]


class SimAdapter(DemoAdapter):
    name = "SimAdapter"

    @property
    def script(self) -> SupplierScript:
        return SCRIPTS[str(self._cfg["sim_supplier"])]

    # ------------------------------------------------------------------ one call, like HttpClient's
    def _call(self, operation: str, latency: float, status: int = 200, retry_after: float | None = None) -> None:
        script = self.script
        kernel = script.kernel
        guard = self.context.guard
        script.calls[f"{operation}:attempted"] += 1
        self._check_time_left(guard)
        if guard is not None:
            guard.before_call()
        self._check_time_left(guard)
        left = _time_left(guard)
        limit = script.read_timeout_s if left is None else min(script.read_timeout_s, left)
        answered: int | None = None
        hint: float | None = None
        try:
            if latency > limit:
                kernel.sleep(limit)
                if left is not None and left <= script.read_timeout_s:
                    script.calls[f"{operation}:out_of_time"] += 1
                    raise _out_of_time(f"this invocation's deadline came before the supplier answered {operation}")
                script.calls[f"{operation}:timed_out"] += 1
                raise TransientError(f"supplier call timed out (ReadTimeoutError) calling {operation}")
            kernel.sleep(latency)
            answered, hint = status, retry_after
        finally:
            if guard is not None:
                guard.after_call(answered, hint)
        script.calls[f"{operation}:{answered}"] += 1
        if answered == 429 or answered >= 500:
            raise TransientError(
                f"supplier answered HTTP {answered} for {operation}", code=str(answered), retry_after=hint
            )

    def _check_time_left(self, guard: Any) -> None:
        left = _time_left(guard)
        if left is not None and left < _call_min_s():
            self.script.calls["not_called:out_of_time"] += 1
            raise _out_of_time(f"{max(0.0, left):.1f} s left before this invocation's deadline; not called")

    # ------------------------------------------------------------------ the adapter interface
    def discover(self, request: DiscoveryRequest, cursor: str | None = None) -> Iterator[DiscoveryPage]:
        script = self.script
        if request.mode is DiscoveryMode.explicit_list:
            yield from super().discover(request, cursor)
            return
        for page in super().discover(request, cursor):
            failing = script.calls["discover:attempted"] < script.discover_failures
            self._call("discover", script.discover_latency_s, status=503 if failing else 200)
            yield page

    def hydrate(self, ref: ProductRef) -> Product:
        script = self.script
        until = script.throttle_until_s
        if until is not None and script.kernel.now < until:
            self._call("hydrate", script.hydrate_latency_s, status=429, retry_after=script.retry_after_s)
        else:
            self._call("hydrate", script.hydrate_latency_s)
        return super().hydrate(ref)


def _time_left(guard: Any) -> float | None:
    """The deadline the pipeline gave this invocation's supplier calls, where the layer has one."""
    time_left = getattr(guard, "time_left", None)
    return time_left() if callable(time_left) else None


def _call_min_s() -> float:
    from apihub.settings import get_settings

    return float(getattr(get_settings(), "call_min_s", 1.0))


def _out_of_time(message: str) -> Exception:
    out_of_time = getattr(errors, "OutOfTime", None)
    if out_of_time is None:  # a layer without per-call deadlines cannot get here (no time_left)
        return TransientError(message)
    return out_of_time(message)  # type: ignore[no-any-return]  # looked up by name (getattr): mypy sees Any
