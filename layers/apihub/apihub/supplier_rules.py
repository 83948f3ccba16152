"""Supplier rules beyond the schema: adapter names, endpoint URLs and limits."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from apihub.adapters.registry import is_known, known_adapters
from apihub.errors import InvalidInput
from apihub.modes.table import MODES, periodic_modes, schedule_period_s
from apihub.outbound import UnsafeUrl, check_url
from apihub.pricing.models import PricingSettingIn
from apihub.settings import get_settings
from apihub.supplier_models import Supplier, SupplierIn, SupplierPatch

DEFAULT_RATE_PER_S = 5.0  # apihub.ratelimit.DEFAULT_RATE (not imported: it loads the limiter's table code)


def _urls(body: SupplierIn | SupplierPatch) -> list[tuple[str, Any]]:
    config = body.protocol_config or {}
    urls: list[tuple[str, Any]] = [("base_url", body.base_url)]
    endpoints = config.get("endpoints")
    if endpoints is not None and not isinstance(endpoints, dict):
        raise InvalidInput("protocol_config.endpoints: must be an object of service name to URL")
    urls += [(f"protocol_config.endpoints.{name}", url) for name, url in (endpoints or {}).items()]
    for key in ("directory_url", "base_url"):
        if key in config:
            urls.append((f"protocol_config.{key}", config[key]))
    return urls


def _check_limits(config: dict[str, Any]) -> None:
    for key, low, high in (
        ("rate_limit_per_s", 0.01, 100_000),
        ("max_concurrency", 1, 1000),
        ("rate_burst", 1, 100_000),
    ):
        if key not in config:
            continue
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise InvalidInput(f"protocol_config.{key}: must be a number from {low} to {high}")
    if "max_concurrency" in config and not isinstance(config["max_concurrency"], int):
        raise InvalidInput("protocol_config.max_concurrency: must be a whole number")


def _check_pricing(config: dict[str, Any]) -> None:
    """``protocol_config.pricing``: which FOB points, price types and currencies PPC is read for."""
    if config.get("pricing") is None:
        return
    try:
        PricingSettingIn.model_validate(config["pricing"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"protocol_config.pricing{'.' + where if where else ''}: {first['msg']}") from None


# KMS encrypts at most 4096 bytes directly; the other two are stored on the supplier item (400 KB cap).
JSON_LIMITS = (("auth_config", 4096), ("protocol_config", 65_536), ("schedules", 4096))


def _check_sizes(body: SupplierIn | SupplierPatch) -> None:
    for field, limit in JSON_LIMITS:
        value = getattr(body, field)
        size = len(json.dumps(value).encode()) if value else 0
        if size > limit:
            raise InvalidInput(f"{field}: at most {limit} bytes as JSON (got {size})")


def validate_supplier(body: SupplierIn | SupplierPatch) -> None:
    """422 naming the field and the rule for values the schema alone cannot judge."""
    _check_sizes(body)
    if body.adapter_class is not None and not is_known(body.adapter_class):
        raise InvalidInput(f"adapter_class: must be one of {', '.join(known_adapters())}")
    allow_insecure = get_settings().allow_insecure_urls
    for field, url in _urls(body):
        if url in (None, ""):
            continue
        if not isinstance(url, str):
            raise InvalidInput(f"{field}: must be a URL string")
        try:
            # Names that do not resolve right now are judged again at call time.
            check_url(url, allow_insecure=allow_insecure, resolve_names=False)
        except UnsafeUrl as exc:
            raise InvalidInput(f"{field}: {exc}") from None
    _check_limits(body.protocol_config or {})
    _check_pricing(body.protocol_config or {})


def check_schedules(body: SupplierIn | SupplierPatch, current: Supplier | None) -> None:
    """A periodic schedule (``schedules.inventory``, ``schedules.prices``: the rows with
    ``periods``) must leave time for one run over the supplier's products at its rate limit
    (products x the mode's supplier calls per product / ``rate_limit_per_s`` seconds): a shorter
    one would only pile up skipped runs. Judged on the settings after this write (the body's, else
    the stored ones)."""
    schedules = body.schedules if body.schedules is not None else (current.schedules if current else {})
    config = body.protocol_config if body.protocol_config is not None else (current.protocol_config if current else {})
    rate = float((config or {}).get("rate_limit_per_s", DEFAULT_RATE_PER_S))
    products = current.product_count if current else 0
    for mode in periodic_modes():
        period = schedule_period_s(mode, schedules)
        if period is None:
            continue
        calls = MODES[mode].fetches.calls_per_sku(config or {})
        needed = products * calls / rate
        if period < needed:
            every = schedules[mode.value]["every"]
            per = f" x {calls} supplier calls each" if calls > 1 else ""
            raise InvalidInput(
                f"schedules.{mode.value}.every: {every} ({period:,} s) is shorter than one pass over the "
                f"supplier's {products:,} products{per} at rate_limit_per_s {rate:g} ({needed:,.0f} s); "
                "choose a longer period or a higher rate limit"
            )
