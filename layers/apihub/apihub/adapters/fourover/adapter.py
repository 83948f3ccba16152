"""FourOverAdapter: discovery and hydration against a 4Over-style REST API signed with HMAC.

Resources (docs/adapters/fourover.md):

- ``GET {base}/printproducts/products?offset=&perPage=[&status=active][&closeout=true][&modified_since=]``
  lists products page by page (``entities``, ``totalResults``, ``maximumPages``, ``currentPage``).
- ``GET {base}/printproducts/products/{uuid}``, ``.../{uuid}/optiongroups``, ``.../{uuid}/baseprices``.

Every call goes through ``HttpClient`` (timeouts, size cap, 429/5xx -> TransientError with
``retry_after``); this module adds the signature and the 4Over-specific status mapping.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from apihub.adapters.base import (
    AdapterContext,
    DiscoveryPage,
    DiscoveryRequest,
    SupplierAdapter,
    explicit_pages,
    unsupported_listing,
)
from apihub.adapters.fourover import mapping
from apihub.adapters.fourover.signing import auth_headers
from apihub.adapters.http import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, HttpClient, HttpResponse
from apihub.errors import AuthError, ProductError, TransientError
from apihub.models import Product, ProductRef, iso
from apihub.modes.table import Listing
from apihub.supplier_models import Supplier

logger = logging.getLogger(__name__)

PRODUCTS_PATH = "/printproducts/products"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
# A listing that never ends is a supplier bug; stop instead of looping for the whole invocation.
MAX_PAGES = 100_000
SUPPLIER_MESSAGE_CHARS = 200


class FourOverAdapter(SupplierAdapter):
    """4Over-style REST supplier. ``supplier.base_url`` (or ``protocol_config.base_url``) is the API root;
    ``context.credentials`` holds ``api_key`` and ``private_key``. ``protocol_config`` knobs:
    ``page_size`` (listing page size, default 100, max 500), ``connect_timeout`` / ``read_timeout``
    (seconds, default 5 / 30)."""

    name = "FourOverAdapter"
    calls_per_product = 3  # product, option groups, base prices

    def __init__(
        self,
        supplier: Supplier,
        context: AdapterContext,
        *,
        http: HttpClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(supplier, context)
        self._http = http
        self._clock = clock

    # ----------------------------------------------------------------------------------------------
    # configuration
    # ----------------------------------------------------------------------------------------------

    @property
    def _cfg(self) -> dict[str, Any]:
        return self.supplier.protocol_config or {}

    def _base_url(self) -> str:
        base = self.supplier.base_url or self._cfg.get("base_url")
        if not base or not isinstance(base, str):
            raise ProductError("supplier has no base_url for the 4Over API; set base_url", code="config")
        return base.rstrip("/")

    def _keys(self) -> tuple[str, str]:
        creds = self.context.credentials or {}
        missing = [name for name in ("api_key", "private_key") if not creds.get(name)]
        if missing:
            raise AuthError(f"supplier credentials incomplete: missing {', '.join(missing)}", code="credentials")
        return creds["api_key"], creds["private_key"]

    def _number(self, key: str, default: float) -> float:
        value = self._cfg.get(key, default)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if number <= 0:
            raise ProductError(f"protocol_config.{key} must be a positive number of seconds", code="config")
        return number

    def _page_size(self) -> int:
        try:
            size = int(self._cfg.get("page_size", DEFAULT_PAGE_SIZE))
        except (TypeError, ValueError):
            size = 0
        if size <= 0:
            raise ProductError("protocol_config.page_size must be a positive integer", code="config")
        return min(size, MAX_PAGE_SIZE)

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            self._http = self.new_http_client(
                connect_timeout=self._number("connect_timeout", DEFAULT_CONNECT_TIMEOUT),
                read_timeout=self._number("read_timeout", DEFAULT_READ_TIMEOUT),
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    # ----------------------------------------------------------------------------------------------
    # one signed call
    # ----------------------------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str] | None = None) -> HttpResponse:
        """Signed GET of ``base + path``. Raises AuthError on 401/403; TransientError comes from HttpClient."""
        api_key, private_key = self._keys()
        url = self._base_url() + path
        # Sign the path exactly as it goes on the wire (base path prefix included, query excluded).
        signed_path = urlsplit(url).path
        if params:
            url = f"{url}?{urlencode(params)}"
        timestamp = str(int(self._clock()))
        headers = {"Accept": "application/json", **auth_headers(api_key, private_key, "GET", signed_path, timestamp)}
        logger.debug("4over GET %s", signed_path)
        resp = self.http.request("GET", url, headers=headers)
        if resp.status in (401, 403):
            raise AuthError(
                f"supplier rejected credentials (HTTP {resp.status}) for GET {signed_path}"
                f"{_supplier_message(resp, private_key)}",
                code=str(resp.status),
            )
        return resp

    # ----------------------------------------------------------------------------------------------
    # discovery
    # ----------------------------------------------------------------------------------------------

    def discover(self, request: DiscoveryRequest, cursor: str | None = None) -> Iterator[DiscoveryPage]:
        """List products page by page. The cursor is ``"<offset>:<emitted>"``: the listing offset of the
        next page and (with a ``limit``) how many distinct refs earlier pages already yielded."""
        if request.listing is Listing.given:
            yield from explicit_pages(request)
            return
        params: dict[str, str] = {"status": "active"}
        if request.listing is Listing.closeouts:
            params["closeout"] = "true"
        elif request.listing is Listing.changed and request.since is not None:
            params["modified_since"] = iso(request.since) or ""
        elif request.listing not in (Listing.sellable, Listing.changed):  # changed with no since: all
            raise unsupported_listing(self, request)
        limit = request.limit

        offset, emitted = parse_cursor(cursor)
        page_size = self._page_size()
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            payload = self._list_page({**params, "offset": str(offset), "perPage": str(page_size)})
            rows = [row for row in payload["entities"] if isinstance(row, dict)]
            refs: list[ProductRef] = []
            for row in rows:
                product_id = mapping.text(row.get("product_uuid"))
                if not product_id or product_id in seen:
                    continue
                if limit is not None and emitted + len(refs) >= limit:
                    break
                seen.add(product_id)
                refs.append(ProductRef(product_id=product_id))
            emitted += len(refs)
            offset += page_size
            done = (
                not rows
                or (limit is not None and emitted >= limit)
                or not _has_more(payload, offset, len(rows), page_size)
            )
            yield DiscoveryPage(refs=refs, cursor=None if done else f"{offset}:{emitted}")
            if done:
                return
        raise TransientError(f"product listing did not end after {MAX_PAGES} pages", code="pagination")

    def _list_page(self, params: dict[str, str]) -> dict[str, Any]:
        resp = self._get(PRODUCTS_PATH, params)
        if resp.status != 200:
            raise ProductError(
                f"supplier answered HTTP {resp.status} listing products{_supplier_message(resp, self._keys()[1])}",
                code=str(resp.status),
            )
        try:
            payload = json.loads(resp.body)
        except ValueError:
            # A broken listing page is more likely a hiccup than a permanent state; retry discovery.
            raise TransientError("malformed JSON in product listing", code="malformed") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("entities"), list):
            raise TransientError("malformed product listing: no 'entities' list", code="malformed")
        return payload

    # ----------------------------------------------------------------------------------------------
    # hydration
    # ----------------------------------------------------------------------------------------------

    def hydrate(self, ref: ProductRef) -> Product:
        """Product + option groups (-> parts) + base prices (-> part and product prices).

        The product and its option groups are required; base prices are not: if they are missing or
        malformed the product is kept without prices and the reason is noted on it."""
        product_id = ref.product_id
        if product_id in (".", ".."):
            raise ProductError(f"invalid product id '{product_id}'", code="400")
        path = f"{PRODUCTS_PATH}/{quote(product_id, safe='')}"
        product = self._product_json(path, product_id, "product")
        if not isinstance(product, dict):
            raise ProductError(f"malformed product response for {product_id}: not an object", code="malformed")
        # Some APIs wrap single resources in ``entities``; accept both shapes.
        if isinstance(product.get("entities"), list) and product["entities"]:
            product = product["entities"][0] if isinstance(product["entities"][0], dict) else {}
        groups = self._product_json(f"{path}/optiongroups", product_id, "option groups")

        notes: list[str] = []
        prices: list[mapping.BasePrice] | None
        try:
            prices = mapping.base_prices(self._product_json(f"{path}/baseprices", product_id, "base prices"))
        except ProductError as exc:
            prices = None
            notes.append(f"base prices unavailable: {exc.message}")
        return mapping.to_product(product_id, product, groups, prices, base_url=self._base_url(), notes=notes)

    def _product_json(self, path: str, product_id: str, what: str) -> Any:
        resp = self._get(path)
        if resp.status == 404:
            raise ProductError(f"404 {what} not found: {product_id}", code="404")
        if resp.status != 200:
            raise ProductError(
                f"supplier answered HTTP {resp.status} for {what} {product_id}"
                f"{_supplier_message(resp, self._keys()[1])}",
                code=str(resp.status),
            )
        try:
            return json.loads(resp.body)
        except ValueError:
            # Deterministic for this product (the same bytes come back on retry): fail it, not the job.
            raise ProductError(f"malformed JSON in {what} response for {product_id}", code="malformed") from None


def parse_cursor(cursor: str | None) -> tuple[int, int]:
    """``"<offset>:<emitted>"`` (or a bare offset) -> (offset, emitted). Only this adapter writes cursors,
    so an unreadable one is a bug or tampering; it fails discovery rather than silently restarting."""
    if not cursor:
        return 0, 0
    offset_text, _, emitted_text = cursor.partition(":")
    try:
        offset, emitted = int(offset_text), int(emitted_text or 0)
    except ValueError:
        offset = emitted = -1
    if offset < 0 or emitted < 0:
        raise ProductError(f"invalid discovery cursor '{cursor[:40]}'", code="cursor")
    return offset, emitted


def _has_more(payload: dict[str, Any], next_offset: int, rows: int, page_size: int) -> bool:
    """Trust ``totalResults`` when given, then ``maximumPages``/``currentPage``, else a full page."""
    total = payload.get("totalResults")
    if isinstance(total, int) and not isinstance(total, bool):
        return next_offset < total
    pages, current = payload.get("maximumPages"), payload.get("currentPage")
    if isinstance(pages, int) and isinstance(current, int):
        return current < pages
    return rows >= page_size


def _supplier_message(resp: HttpResponse, private_key: str) -> str:
    """A short excerpt of the supplier's error message for the job's error text, never the private key."""
    try:
        payload = json.loads(resp.body)
    except ValueError:
        return ""
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, str) or not message.strip():
        return ""
    text = " ".join(message.split())[:SUPPLIER_MESSAGE_CHARS]
    if private_key:
        text = text.replace(private_key, "***")
    return f": {text}"
