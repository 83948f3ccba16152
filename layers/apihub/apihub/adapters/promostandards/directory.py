"""Endpoint lookup in the PromoStandards company directory, cached on the supplier for 24 h.

``GET {directory_url}/companies/{code}/endpoints`` answers a JSON list of
``{"Service": {"ServiceType": {"Code": ...}, "Version": ..., "Status": ...}, "URL": ..., "TestURL": ...}``.
We keep the production ``URL`` of Product Data 2.0.0 (service type ``Product``), PPC 1.0.0,
Media Content 1.1.0 and Inventory 2.0.0.

The adapter never touches DynamoDB: the cache lives in ``protocol_config["directory_cache"]``
(``{"code", "fetched_at", "endpoints"}``) and a refreshed cache is handed to
``AdapterContext.on_config_update`` for the caller to persist.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from apihub.adapters.http import HttpClient
from apihub.errors import ProductError, TransientError
from apihub.models import iso, parse_iso

DEFAULT_DIRECTORY_URL = "https://services.promostandards.org/WebServiceRepository/WebServiceRepository.svc/json"
CACHE_TTL = timedelta(hours=24)

# endpoint key in protocol_config["endpoints"] -> (directory service type code, version we speak)
SERVICES: dict[str, tuple[str, str]] = {
    "product_data": ("Product", "2.0.0"),
    "pricing": ("PPC", "1.0.0"),
    "media": ("MED", "1.1.0"),
    "inventory": ("INV", "2.0.0"),
}


def endpoints_from_directory(entries: Any) -> dict[str, str]:
    """The endpoints we can use from a directory answer (unknown shapes are skipped, not fatal)."""
    found: dict[str, str] = {}
    if not isinstance(entries, list):
        return found
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        service = entry.get("Service") or {}
        service_type = (service.get("ServiceType") or {}).get("Code")
        version = service.get("Version")
        url = entry.get("URL")
        if not isinstance(url, str) or not url.strip():
            continue
        for key, (code, wanted) in SERVICES.items():
            if service_type == code and version == wanted and key not in found:
                found[key] = url.strip()
    return found


def cache_is_fresh(cache: Any, code: str, now: datetime) -> bool:
    if not isinstance(cache, dict) or cache.get("code") != code or not isinstance(cache.get("endpoints"), dict):
        return False
    try:
        fetched = parse_iso(cache.get("fetched_at"))
    except (TypeError, ValueError):
        return False
    return fetched is not None and timedelta(0) <= now - fetched < CACHE_TTL


def resolve_endpoints(
    client: HttpClient,
    *,
    code: str,
    directory_url: str,
    cache: Any,
    on_update: Callable[[dict[str, Any]], None] | None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Endpoints for company ``code``: from a fresh cache, else from the directory (then cached).

    When the directory cannot be reached but a stale cache exists, the stale endpoints are used:
    a supplier's endpoints rarely move, and the directory being down should not stop imports.
    """
    now = now or datetime.now(UTC)
    if cache_is_fresh(cache, code, now):
        return dict(cache["endpoints"])
    url = f"{directory_url.rstrip('/')}/companies/{quote(code, safe='')}/endpoints"
    try:
        response = client.request("GET", url, headers={"Accept": "application/json"})
        if response.status != 200:
            raise TransientError(f"PromoStandards directory answered HTTP {response.status} for company '{code}'")
        try:
            entries = json.loads(response.body)
        except ValueError:
            raise TransientError(f"PromoStandards directory sent invalid JSON for company '{code}'") from None
    except TransientError:
        if isinstance(cache, dict) and cache.get("code") == code and isinstance(cache.get("endpoints"), dict):
            return dict(cache["endpoints"])
        raise
    endpoints = endpoints_from_directory(entries)
    if "product_data" not in endpoints:
        raise ProductError(
            f"PromoStandards directory lists no Product Data 2.0.0 endpoint for company '{code}'; "
            "set protocol_config.endpoints.product_data"
        )
    fresh = {"code": code, "fetched_at": iso(now), "endpoints": endpoints}
    if on_update is not None:
        on_update({"directory_cache": fresh})
    return endpoints
