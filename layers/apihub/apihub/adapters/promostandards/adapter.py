"""PromoStandardsAdapter and SanMarAdapter: Product Data 2.0.0 discovery and hydration, enriched
with Pricing and Configuration 1.0.0 and Media Content 1.1.0 where the supplier offers them, and
stock levels from Inventory 2.0.0 (``inventory``, one ``getInventoryLevels`` call per product).

``supplier.protocol_config`` knobs (all optional):

- ``endpoints``: ``{"product_data", "pricing", "media", "inventory"}`` URLs. An empty value switches
  that service off. Without ``endpoints.product_data`` the endpoints come from the company directory
  (``SanMarAdapter``: from SanMar's published endpoints).
- ``company_code`` (default ``supplier.promostandards_code``), ``directory_url``, ``directory_cache``.
- ``connect_timeout`` (5 s), ``read_timeout`` (30 s), ``page_size`` (1000 refs per discovery page).
- ``image_base_url``: base for relative image URLs (default: the endpoint that returned them).
- ``fob_id``: FOB point for pricing when ``getProduct`` lists none (default ``"1"``).
- ``pricing``: ``{"fob_ids": [...], "price_types": ["Net"], "currencies": ["USD"]}``: what Pricing and
  Configuration is read for (``ppc.PricingSetting``, docs/pricing.md).

Credentials: ``id`` and ``password`` from ``context.credentials``; they are sent as the standard
request fields and scrubbed from every error message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, ClassVar, Literal, TypeVar

from apihub.adapters.answers import answered_product
from apihub.adapters.base import (
    AdapterContext,
    DiscoveryPage,
    DiscoveryRequest,
    SupplierAdapter,
    explicit_pages,
    unsupported_listing,
)
from apihub.adapters.http import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, HttpClient, raise_for_auth_status
from apihub.adapters.promostandards import inventory, media, ppc, pricing
from apihub.adapters.promostandards.directory import DEFAULT_DIRECTORY_URL, resolve_endpoints
from apihub.adapters.promostandards.product import parse_product_ids, read_get_product
from apihub.adapters.promostandards.soap import PRODUCT_DATA, format_timestamp, service_request, soap_headers
from apihub.errors import AdapterError, AuthError, ProductError, TransientError
from apihub.inventory.models import Inventory
from apihub.models import PriceBreak, Product, ProductImage, ProductPart, ProductRef, utcnow
from apihub.modes.table import Listing
from apihub.pricing.models import PricingRead
from apihub.supplier_models import Supplier

DEFAULT_PAGE_SIZE = 1000
DEFAULT_FOB_ID = "1"
T = TypeVar("T")

# SanMar publishes fixed endpoints (SanMar Web Services Integration Guide 24.3). The corpus in
# ../shared/promostandards has no copy of that table; these URLs are the ones public SanMar
# integrations use (see docs/adapters/promostandards.md). Override with protocol_config.endpoints.
SANMAR_ENDPOINTS: dict[str, str] = {
    "product_data": "https://ws.sanmar.com:8080/promostandards/ProductDataServiceBindingV2",
    "pricing": "https://ws.sanmar.com:8080/promostandards/PricingAndConfigurationServiceBinding",
    "media": "https://ws.sanmar.com:8080/promostandards/MediaContentServiceBinding",
    "inventory": "https://ws.sanmar.com:8080/promostandards/InventoryServiceBindingV2final",
}


class PromoStandardsAdapter(SupplierAdapter):
    """Any PromoStandards supplier: endpoints from ``protocol_config`` or the company directory."""

    name = "PromoStandardsAdapter"
    default_endpoints: ClassVar[dict[str, str]] = {}
    # getProduct, pricing, media (the endpoint lookup is discovery's, cached on the supplier).
    # An inventory job makes one call per product (getInventoryLevels, plus at most one directory
    # lookup when no cache exists yet): below this worst case, so it does not raise it.
    calls_per_product = 3
    serves_inventory = True
    serves_pricing = True

    def __init__(self, supplier: Supplier, context: AdapterContext) -> None:
        super().__init__(supplier, context)
        self._client: HttpClient | None = None
        self._endpoints: dict[str, str] | None = None

    # ------------------------------------------------------------------ configuration

    @property
    def config(self) -> dict[str, Any]:
        return self.supplier.protocol_config or {}

    @property
    def client(self) -> HttpClient:
        if self._client is None:
            self._client = self.new_http_client(
                connect_timeout=float(self.config.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)),
                read_timeout=float(self.config.get("read_timeout", DEFAULT_READ_TIMEOUT)),
            )
        return self._client

    def endpoints(self) -> dict[str, str]:
        """Service -> URL. Configured values win; empty configured values switch a service off."""
        if self._endpoints is None:
            configured = self.config.get("endpoints") or {}
            if not isinstance(configured, dict):
                raise ProductError("protocol_config.endpoints must be an object of service -> URL")
            if configured.get("product_data") or self.default_endpoints:
                base = dict(self.default_endpoints)
            else:
                base = self._directory_endpoints()
            merged = {**base, **configured}
            self._endpoints = {key: str(url).strip() for key, url in merged.items() if url and str(url).strip()}
        return self._endpoints

    def _directory_endpoints(self) -> dict[str, str]:
        code = self.config.get("company_code") or self.supplier.promostandards_code
        if not code:
            raise ProductError(
                "no PromoStandards endpoints: set protocol_config.endpoints.product_data or the supplier's "
                "promostandards_code (for the company directory)"
            )
        return resolve_endpoints(
            self.client,
            code=str(code),
            directory_url=str(self.config.get("directory_url") or DEFAULT_DIRECTORY_URL),
            cache=self.config.get("directory_cache"),
            on_update=self._remember_config,
        )

    def _remember_config(self, update: dict[str, Any]) -> None:
        # Keep this invocation's copy current too, then let the caller persist it.
        self.supplier.protocol_config = {**self.config, **update}
        if self.context.on_config_update is not None:
            self.context.on_config_update(update)

    def _credentials(self) -> tuple[str, str | None]:
        account = (self.context.credentials or {}).get("id")
        if not account:
            raise AuthError("110 Authentication Credentials required (auth_config has no 'id')", code="110")
        return account, (self.context.credentials or {}).get("password") or None

    # ------------------------------------------------------------------ discovery

    def discover(self, request: DiscoveryRequest, cursor: str | None = None) -> Iterator[DiscoveryPage]:
        if request.listing is Listing.given:
            yield from explicit_pages(request)
            return
        with self._scrubbed():
            product_ids = self._list_products(request)
        if request.limit is not None:
            product_ids = product_ids[: request.limit]
        page_size = max(1, int(self.config.get("page_size", DEFAULT_PAGE_SIZE)))
        start = int(cursor or 0)
        if start >= len(product_ids):
            yield DiscoveryPage(refs=[])
            return
        while start < len(product_ids):
            end = start + page_size
            refs = [ProductRef(product_id=pid) for pid in product_ids[start:end]]
            yield DiscoveryPage(refs=refs, cursor=str(end) if end < len(product_ids) else None)
            start = end

    def _list_products(self, request: DiscoveryRequest) -> list[str]:
        credentials = self._credentials()
        fields: list[tuple[str, str | None]]
        if request.listing is Listing.closeouts:
            operation, element, fields = "getProductCloseOut", "GetProductCloseOutRequest", []
        elif request.listing is Listing.changed and request.since is not None:
            operation, element = "getProductDateModified", "GetProductDateModifiedRequest"
            fields = [("changeTimeStamp", format_timestamp(request.since))]
        elif request.listing in (Listing.sellable, Listing.changed):
            # Every sellable product (also a change listing with no previous sync to start from).
            operation, element = "getProductSellable", "GetProductSellableRequest"
            fields = [("isSellable", "true")]
        else:
            raise unsupported_listing(self, request)
        body = self._post("product_data", operation, service_request(PRODUCT_DATA, element, credentials, fields))
        return parse_product_ids(body, operation)

    # ------------------------------------------------------------------ hydration

    def hydrate(self, ref: ProductRef) -> Product:
        with self._scrubbed():
            return self._hydrate(ref)

    def _hydrate(self, ref: ProductRef) -> Product:
        credentials = self._credentials()  # before endpoints(): missing credentials fail without a directory call
        endpoints = self.endpoints()
        request = service_request(
            PRODUCT_DATA,
            "GetProductRequest",
            credentials,
            [("localizationCountry", "US"), ("localizationLanguage", "en"), ("productId", ref.product_id)],
        )
        body = self._post("product_data", "getProduct", request)
        try:
            base_url = self.config.get("image_base_url") or endpoints["product_data"]
            reply = read_get_product(body, image_base_url=base_url)
        except AdapterError:
            raise
        except ValueError as exc:  # pydantic validation of odd supplier values
            raise ProductError(f"getProduct: reply could not be normalised ({type(exc).__name__})") from None
        product = reply.product
        notes = list(product.notes)
        asked = answered_product(ref.product_id, product.product_id, "getProduct")  # another product's: an error
        product = product.model_copy(update={"product_id": asked})
        fob_id = reply.fob_ids[0] if reply.fob_ids else str(self.config.get("fob_id", DEFAULT_FOB_ID))
        update: dict[str, Any] = {"notes": notes}
        parts = self._optional("pricing", notes, lambda: self._priced_parts(product, fob_id, notes))
        if parts is not None:
            update["parts"] = parts
        images = self._optional("media", notes, lambda: self._merged_images(product))
        if images is not None:
            update["images"] = images
        return product.model_copy(update=update)

    def _optional(self, service: str, notes: list[str], call: Callable[[], T]) -> T | None:
        """Pricing and media only enrich a product: without an endpoint for ``service`` they are
        skipped (None), and when they fail the product still imports, with the reason as a note."""
        if service not in self.endpoints():
            return None
        try:
            return call()
        except AdapterError as exc:
            notes.append(f"{service} not imported: {self._scrub(exc).describe()}")
            return None

    def _priced_parts(self, product: Product, fob_id: str, notes: list[str]) -> list[ProductPart]:
        body = self._post(
            "pricing",
            pricing.SOAP_ACTION,
            pricing.pricing_request(self._credentials(), product.product_id, fob_id),
        )
        prices: dict[str, list[PriceBreak]] = self._parse(lambda: pricing.parse_part_prices(body), "pricing")
        missing = [part.part_id for part in product.parts if part.part_id not in prices]
        if product.parts and missing:
            notes.append(f"pricing: no Net price for {len(missing)} of {len(product.parts)} parts")
        return [part.model_copy(update={"prices": prices.get(part.part_id, [])}) for part in product.parts]

    def _merged_images(self, product: Product) -> list[ProductImage]:
        endpoint = self.endpoints()["media"]
        body = self._post("media", media.SOAP_ACTION, media.media_request(self._credentials(), product.product_id))
        found: list[ProductImage] = self._parse(
            lambda: media.parse_images(body, base_url=self.config.get("image_base_url") or endpoint), "media"
        )
        images = list(product.images)
        known = {image.url for image in images}
        has_primary = any(image.is_primary for image in images)
        for image in found:
            if image.url in known:
                continue
            known.add(image.url)
            if image.is_primary and has_primary:
                image = image.model_copy(update={"is_primary": False})
            has_primary = has_primary or image.is_primary
            images.append(image)
        return images

    @staticmethod
    def _parse(parse: Any, what: str) -> Any:
        try:
            return parse()
        except AdapterError:
            raise
        except ValueError as exc:
            raise ProductError(f"{what}: reply could not be normalised ({type(exc).__name__})") from None

    # ------------------------------------------------------------------ inventory

    def inventory(self, ref: ProductRef) -> Inventory:
        """Stock levels of every part of ``ref`` now: one Inventory 2.0.0 ``getInventoryLevels``."""
        with self._scrubbed():
            credentials = self._credentials()  # before endpoints(): no directory call without credentials
            if not self._inventory_endpoint():
                raise ProductError(
                    "no Inventory 2.0.0 endpoint: set protocol_config.endpoints.inventory or list the service "
                    "in the PromoStandards company directory",
                    code="no_inventory_endpoint",
                )
            body = self._post(
                "inventory", inventory.SOAP_ACTION, inventory.inventory_request(credentials, ref.product_id)
            )
            found: Inventory = self._parse(lambda: inventory.parse_inventory(body, ref.product_id), inventory.OPERATION)
            return found

    def _inventory_endpoint(self) -> str | None:
        """The Inventory 2.0.0 URL: configured, else from the company directory, also when the other
        services are configured by hand (stock is often added to a supplier later). An empty
        configured value switches inventory off."""
        endpoints = self.endpoints()
        if "inventory" in endpoints:
            return endpoints["inventory"]
        configured = self.config.get("endpoints") or {}
        if "inventory" in configured or not (self.config.get("company_code") or self.supplier.promostandards_code):
            return None
        url = self._directory_endpoints().get("inventory")
        if url:
            endpoints["inventory"] = url
        return url

    # ------------------------------------------------------------------ pricing

    def pricing(self, ref: ProductRef) -> PricingRead:
        """Every configured FOB point, currency and price type of ``ref`` (the supplier's
        ``pricing`` setting), from Pricing and Configuration 1.0.0 (docs/pricing.md)."""
        with self._scrubbed():
            credentials = self._credentials()
            setting = self._parse(lambda: ppc.PricingSetting.from_config(self.config), "pricing setting")
            records = ppc.read_product_pricing(
                lambda action, body: self._post("pricing", action, body),
                credentials,
                ref.product_id,
                setting,
                as_of=utcnow(),
            )
            return PricingRead(product_id=ref.product_id, records=records)

    # ------------------------------------------------------------------ transport

    def _post(self, service: str, action: str, body: bytes) -> bytes:
        url = self.endpoints().get(service)
        if not url:
            raise ProductError(f"no '{service}' endpoint configured")
        response = self.client.request("POST", url, body=body, headers=soap_headers(action))
        raise_for_auth_status(response.status, action)
        if response.status == 408:
            raise TransientError(f"{action}: supplier answered HTTP 408", code="408")
        # A 4xx carrying a SOAP fault is classified by the parsers; anything else is a refusal.
        if not 200 <= response.status < 300 and b"Fault" not in response.body:
            raise ProductError(f"{action}: supplier answered HTTP {response.status}", code=str(response.status))
        return response.body

    def _scrubbed(self) -> _Scrubber:
        return _Scrubber(self)

    def _scrub(self, error: AdapterError) -> AdapterError:
        """The same error with any credential value (a supplier may echo it) masked."""
        secrets = [value for value in (self.context.credentials or {}).values() if value and len(value) >= 3]
        message = error.message
        for secret in secrets:
            message = message.replace(secret, "***")
        if message == error.message:
            return error
        if isinstance(error, TransientError):
            return TransientError(message, code=error.code, retry_after=error.retry_after)
        return type(error)(message, code=error.code)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class _Scrubber:
    """Context manager: adapter errors leave with credentials masked, other bugs stay visible."""

    def __init__(self, adapter: PromoStandardsAdapter) -> None:
        self.adapter = adapter

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if isinstance(exc, AdapterError):
            scrubbed = self.adapter._scrub(exc)
            if scrubbed is not exc:
                raise scrubbed from None
        return False


class SanMarAdapter(PromoStandardsAdapter):
    """SanMar: the PromoStandards protocol with SanMar's published endpoints as defaults."""

    name = "SanMarAdapter"
    default_endpoints: ClassVar[dict[str, str]] = SANMAR_ENDPOINTS
