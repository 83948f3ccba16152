"""The fake PromoStandards supplier: a small threaded HTTP server on 127.0.0.1.

Routes (``fake.base_url`` + ...):

- ``POST /productdata``: Product Data 2.0.0 (getProductSellable, getProductDateModified,
  getProductCloseOut, getProduct); ``POST /pricing``: PPC 1.0.0 getConfigurationAndPricing (Blank:
  the Net breaks catalog imports read; Decorated: the demo pricing of ``ppc.py``), getFobPoints,
  getAvailableLocations, getAvailableCharges, getDecorationColors;
  ``POST /media``: Media Content 1.1.0 getMediaContent; ``POST /inventory``: Inventory 2.0.0
  getInventoryLevels (deterministic stock, ``stock.py``). The operation is read from the body.
- ``GET /productdata?wsdl`` (and ``/pricing?wsdl``, ``/media?wsdl``, ``/inventory?wsdl``), ``GET /wsdl/<dir>/<file>``:
  the official WSDL/XSD files, served as static files.
- ``GET /control/stats``: calls answered, the most started within one second, the most in flight.
- ``GET /directory/companies/{code}/endpoints``: a PromoStandards company-directory answer for
  ``fake.company_code`` (so the adapter's directory lookup can be tested end to end).

Knobs: ``fault_skus`` maps a product id to one fault: ``"130"`` (Product Id not found),
``"malformed"`` (cut-off XML), ``"http500"`` (HTTP 500 + SOAP Server fault), ``"slow"`` (answers
after ``slow_ms``), ``"pricing_error"`` (PPC answers HTTP 500), ``"media_error"`` (Media answers
errorMessage 130), and for ``getInventoryLevels`` only, a ServiceMessage with that code:
``"600"``, ``"630"`` (Error: the product fails), ``"100"``, ``"104"``, ``"105"``, ``"110"``
(credentials), ``"999"`` (general error), or ``"610"``, ``"620"``, ``"125"`` (a Warning next to the
full stock; the adapter keeps it as a note); ``"130"`` answers 600 there. ``fault_times`` maps a product id to how many of its calls the fault hits
before the fake answers normally (a supplier that recovers); without an entry it never stops.
``fail_operations`` maps an operation name (e.g. ``"getProductSellable"``) to
``"http500"``, ``"malformed"`` or ``"slow"``. Any other id/password than ``fake.credentials`` gets
ServiceMessage 105 (110 without a password). ``latency_ms`` delays every SOAP call.
``revoke_after`` (N): after N SOAP calls the credentials are revoked, every later call gets 105.
``shape``: ``"toy"`` (default) or ``"realistic"`` (``catalog_of_shape``). ``stock_churn``: share of a product's parts whose stock changes on each of its inventory calls
(default: ``APIHUB_DEMO_STOCK_CHURN``, else ``stock.DEFAULT_STOCK_CHURN``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring

from apihub_fakes.http import FakeHandler, FakeServer, FaultCountdown
from apihub_fakes.promostandards import ppc
from apihub_fakes.promostandards import responses as r
from apihub_fakes.promostandards.catalog import Catalog, FakeProduct, generate_catalog
from apihub_fakes.promostandards.realistic import generate_realistic_catalog
from apihub_fakes.promostandards.stock import StockLedger, stock_churn_from_env

WSDL_DIR = Path(__file__).parent / "wsdl"
WSDL_FILES = {
    "/productdata": "ProductData-2.0.0/ProductDataService.wsdl",
    "/pricing": "PricingAndConfiguration-1.0.0/PricingAndConfiguration.wsdl",
    "/media": "MediaContent-1.1.0/MediaContentService.wsdl",
    "/inventory": "Inventory-2.0.0RC4/InventoryService.wsdl",
}
# ServiceMessage codes getInventoryLevels can be made to answer (with their spec descriptions).
INVENTORY_CODES = {
    "100": "ID (customerID) not found",
    "104": "This account is unauthorized to use this service",
    "105": "Authentication Credentials failed",
    "110": "Authentication Credentials required",
    "125": "Not Supported: FutureAvailabilityArray",
    "600": "Product Id not found",
    "610": "Data violation: quantityAvailable recalculated from the locations",
    "620": "Field is not supported: attributeSelection",
    "630": "Part Id not found",
    "999": "General Error - Contact the System Service Provider",
}
INVENTORY_NOTE_CODES = frozenset({"610", "620", "125"})
PRODUCT_FAULTS = frozenset({"130", "malformed", "http500", "slow", "pricing_error", "media_error", *INVENTORY_CODES})
OPERATION_FAULTS = frozenset({"http500", "malformed", "slow"})
DEFAULT_COMPANY_CODE = "FAKEPS"
SHAPES = ("toy", "realistic")


def catalog_of_shape(shape: str, products: int, seed: int) -> Catalog:
    """``toy``: the small generated catalog (``catalog.py``); ``realistic``: the shape of real
    suppliers' catalogs (``realistic.py``)."""
    if shape == "realistic":
        return generate_realistic_catalog(products, seed)
    if shape == "toy":
        return generate_catalog(products=products, seed=seed)
    raise ValueError(f"unknown catalog shape '{shape}'; expected one of {list(SHAPES)}")


@dataclass(frozen=True)
class Call:
    """One SOAP call the fake answered (for assertions)."""

    path: str
    operation: str
    product_id: str | None
    status: int


@dataclass(frozen=True)
class Reply:
    operation: str
    status: int
    body: bytes
    # False for the deliberately broken replies (malformed XML, SOAP faults): nothing to validate.
    schema_valid: bool = True


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _fields(request: Element) -> dict[str, str]:
    return {_local(child.tag): (child.text or "").strip() for child in request}


class _Handler(FakeHandler):
    timeout = 10  # idle keep-alive connections end by themselves after the server stops

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.query.lower() == "wsdl" and url.path in WSDL_FILES:
            self._static(WSDL_FILES[url.path])
        elif url.path.startswith("/wsdl/"):
            self._static(url.path.removeprefix("/wsdl/"))
        elif url.path == "/control/stats":
            self.reply(200, json.dumps(self.fake.call_stats()).encode(), "application/json")
        elif url.path.startswith("/directory/companies/") and url.path.endswith("/endpoints"):
            code = url.path.removeprefix("/directory/companies/").removesuffix("/endpoints")
            self.reply(200, json.dumps(self.fake.directory_answer(code)).encode(), "application/json")
        else:
            self.reply(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        if urlsplit(self.path).path == "/control/change":
            self._control(self.read_body())
            return
        reply = self.fake.answer(urlsplit(self.path).path, self.read_body())
        if self.fake.stopping:
            return  # shutting down: do not answer a slow call
        self.reply(reply.status, reply.body, "text/xml; charset=utf-8")

    def _control(self, body: bytes) -> None:
        """``POST /control/change {"reprice": N, "drop": M, "restore": bool}``: change the catalog
        between two imports (``Catalog.change``), so a newcomer sees the change feed move."""
        try:
            knobs = json.loads(body or b"{}")
            result = self.fake.change_catalog(
                int(knobs.get("reprice", 0)), int(knobs.get("drop", 0)), bool(knobs.get("restore", False))
            )
        except (ValueError, TypeError, AttributeError) as exc:
            self.reply(422, json.dumps({"detail": f"body: {exc}"}).encode(), "application/json")
            return
        self.reply(200, json.dumps(result).encode(), "application/json")

    def _static(self, relative: str) -> None:
        root = WSDL_DIR.resolve()
        target = (root / relative).resolve()
        if root not in target.parents or not target.is_file():
            self.reply(404, b"not found", "text/plain")
            return
        self.reply(200, target.read_bytes(), "text/xml; charset=utf-8")


class FakePromoStandards(FakeServer):
    """The fake supplier. Use ``with FakePromoStandards(...) as fake`` or ``running_fake_promostandards``."""

    handler = _Handler
    thread_name = "fake-promostandards"

    def __init__(
        self,
        products: int = 100,
        seed: int = 1,
        *,
        fault_skus: dict[str, str] | None = None,
        fault_times: dict[str, int] | None = None,
        fail_operations: dict[str, str] | None = None,
        latency_ms: int = 0,
        slow_ms: int = 3000,
        port: int = 0,
        company_code: str = DEFAULT_COMPANY_CODE,
        record: bool = False,
        lifetime_s: float | None = None,
        revoke_after: int | None = None,
        stock_churn: float | None = None,
        shape: str = "toy",
    ) -> None:
        super().__init__(port=port, latency_ms=latency_ms, lifetime_s=lifetime_s)
        self.revoke_after = revoke_after
        self._answered = 0
        self.catalog: Catalog = catalog_of_shape(shape, products, seed)
        self.stock = StockLedger(seed, stock_churn_from_env() if stock_churn is None else stock_churn)
        self.fault_skus = dict(fault_skus or {})
        for sku, fault in self.fault_skus.items():
            if fault not in PRODUCT_FAULTS:
                raise ValueError(f"unknown fault '{fault}' for {sku}; expected one of {sorted(PRODUCT_FAULTS)}")
        self.fault_times = dict(fault_times or {})
        self._fired = FaultCountdown()
        self.fail_operations = dict(fail_operations or {})
        for operation, fault in self.fail_operations.items():
            if fault not in OPERATION_FAULTS:
                raise ValueError(f"unknown fault '{fault}' for {operation}; expected one of {sorted(OPERATION_FAULTS)}")
        self.slow_ms = slow_ms
        self.company_code = company_code
        self.credentials = {"id": "fake-account", "password": f"fake-secret-{seed}"}
        self.record = record
        self.calls: list[Call] = []
        self.replies: list[Reply] = []
        self.directory_calls = 0
        self._lock = threading.Lock()
        self._started_at: list[float] = []  # monotonic start of every SOAP call
        self._in_flight = 0
        self._max_in_flight = 0

    # ------------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        return self.origin

    @property
    def endpoints(self) -> dict[str, str]:
        """For ``supplier.protocol_config["endpoints"]``."""
        return {
            "product_data": f"{self.base_url}/productdata",
            "pricing": f"{self.base_url}/pricing",
            "media": f"{self.base_url}/media",
            "inventory": f"{self.base_url}/inventory",
        }

    @property
    def directory_url(self) -> str:
        return f"{self.base_url}/directory"

    def protocol_config(self, **extra: Any) -> dict[str, Any]:
        """A ready ``protocol_config`` pointing at this fake (``extra`` keys are added)."""
        return {"endpoints": self.endpoints, **extra}

    def calls_for(self, operation: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.operation == operation]

    # ------------------------------------------------------------------ answering

    def change_catalog(self, reprice: int = 0, drop: int = 0, restore: bool = False) -> dict[str, list[str]]:
        """``Catalog.change`` under the fake's lock (answers read the catalog concurrently)."""
        with self._lock:
            return self.catalog.change(reprice, drop, restore)

    def call_stats(self) -> dict[str, int]:
        """``GET /control/stats``: SOAP calls answered, the most started within any one second, and
        the most in flight at once (what a supplier's rate limit and ``max_concurrency`` bound)."""
        with self._lock:
            starts = list(self._started_at)
            most_in_flight = self._max_in_flight
        most, first = 0, 0
        for last, at in enumerate(starts):
            while at - starts[first] >= 1.0:
                first += 1
            most = max(most, last - first + 1)
        return {"calls": len(starts), "max_calls_in_1s": most, "max_in_flight": most_in_flight}

    def answer(self, path: str, body: bytes) -> Reply:
        with self._lock:
            self._started_at.append(time.monotonic())
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            return self._answer(path, body)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, path: str, body: bytes) -> Reply:
        try:
            root = fromstring(body)
            soap_body = next(child for child in root if _local(child.tag) == "Body")
            request = next(iter(soap_body))
        except Exception:
            return Reply("unknown", 500, r.soap_fault("Client", "request is not a SOAP envelope"), False)
        name = _local(request.tag)
        fields = _fields(request)
        operation = name[0].lower() + name[1:].removesuffix("Request")
        product_id = fields.get("productId") or None
        reply = self._dispatch(path, operation, fields, product_id)
        with self._lock:
            self.calls.append(Call(path, operation, product_id, reply.status))
            if self.record:
                self.replies.append(reply)
        return reply

    def _dispatch(self, path: str, operation: str, fields: dict[str, str], product_id: str | None) -> Reply:
        self.pause_for_latency()
        routes = {
            "/productdata": {"getProductSellable", "getProductDateModified", "getProductCloseOut", "getProduct"},
            "/pricing": {
                "getConfigurationAndPricing",
                "getFobPoints",
                "getAvailableLocations",
                "getAvailableCharges",
                "getDecorationColors",
            },
            "/media": {"getMediaContent"},
            "/inventory": {"getInventoryLevels"},
        }
        if operation not in routes.get(path, set()):
            return Reply(operation, 500, r.soap_fault("Client", f"operation {operation} not served at {path}"), False)
        auth = self._auth_error(path, operation, fields)
        if auth is not None:
            return auth
        fault = self.fail_operations.get(operation)
        if fault is None and product_id is not None:
            fault = self._product_fault(product_id)
        if fault == "slow":
            self.pause(self.slow_ms / 1000)
        elif fault == "http500" or (fault == "pricing_error" and path == "/pricing"):
            return Reply(operation, 500, r.soap_fault("Server", "simulated server failure"), False)
        elif fault == "malformed":
            return Reply(operation, 200, r.malformed(f"{operation[0].upper()}{operation[1:]}Response"), False)
        handler = getattr(self, f"_{operation}")
        return handler(fields, product_id, fault)

    def _product_fault(self, product_id: str) -> str | None:
        fault = self.fault_skus.get(product_id)
        if fault is None or not self._fired.fires(product_id, self.fault_times.get(product_id)):
            return None
        return fault

    def _auth_error(self, path: str, operation: str, fields: dict[str, str]) -> Reply | None:
        account, password = fields.get("id"), fields.get("password")
        with self._lock:
            self._answered += 1
            revoked = self.revoke_after is not None and self._answered > self.revoke_after
        if account == self.credentials["id"] and password == self.credentials["password"] and not revoked:
            return None
        code, text = (
            (110, "Authentication Credentials required") if not password else (105, "Authentication Credentials failed")
        )
        if path == "/pricing":
            return Reply(operation, 200, ppc.ppc_error(f"{operation[0].upper()}{operation[1:]}Response", code, text))
        if path == "/media":
            return Reply(operation, 200, r.media_error(code, text))
        if path == "/inventory":
            return Reply(operation, 200, r.inventory_error(code, text))
        response = f"{operation[0].upper()}{operation[1:]}Response"
        return Reply(operation, 200, r.pd_error(response, code, text))

    def _getProductSellable(self, fields: dict[str, str], product_id: str | None, fault: str | None) -> Reply:
        sellable = fields.get("isSellable", "true").lower() in ("true", "1")
        rows = self.catalog.sellable_rows(sellable)
        if product_id:
            rows = [row for row in rows if row[0] == product_id]
        return Reply("getProductSellable", 200, r.sellable_response(rows))

    def _getProductDateModified(self, fields: dict[str, str], product_id: str | None, fault: str | None) -> Reply:
        raw = fields.get("changeTimeStamp", "")
        try:
            since = datetime.fromisoformat(raw)
        except ValueError:
            return Reply(
                "getProductDateModified",
                200,
                r.pd_error(
                    "GetProductDateModifiedResponse", 120, "The following field(s) are required [changeTimeStamp]"
                ),
            )
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return Reply("getProductDateModified", 200, r.date_modified_response(self.catalog.modified_rows(since)))

    def _getProductCloseOut(self, fields: dict[str, str], product_id: str | None, fault: str | None) -> Reply:
        return Reply("getProductCloseOut", 200, r.closeout_response(self.catalog.closeout_rows()))

    def _getProduct(self, fields: dict[str, str], product_id: str | None, fault: str | None) -> Reply:
        product = self.catalog.get(product_id or "")
        if product is None or fault == "130":
            return Reply("getProduct", 200, r.pd_error("GetProductResponse", 130, "Product Id not found"))
        return Reply("getProduct", 200, r.product_response(product))

    def _getConfigurationAndPricing(self, fields: dict[str, str], product_id: str | None, fault: str | None) -> Reply:
        product = self.catalog.get(product_id or "")
        if product is None or fault == "130":
            return Reply("getConfigurationAndPricing", 200, r.ppc_error(400, "productID not found"))
        if fields.get("fobId") not in product.fob_ids:
            return Reply("getConfigurationAndPricing", 200, r.ppc_error(403, "fobId not found"))
        if fields.get("configurationType") == "Decorated":
            try:
                pricing = ppc.demo_pricing(
                    product, fields["fobId"], fields.get("currency") or "USD", fields.get("priceType") or "Net"
                )
            except KeyError:
                return Reply("getConfigurationAndPricing", 200, r.ppc_error(125, "Not Supported: currency"))
            return Reply("getConfigurationAndPricing", 200, ppc.configuration_response(pricing))
        return Reply(
            "getConfigurationAndPricing",
            200,
            r.pricing_response(product, fields["fobId"], fields.get("priceType") or "Net"),
        )

    def _ppc_product(self, operation: str, product_id: str | None, fault: str | None) -> FakeProduct | Reply:
        product = self.catalog.get(product_id or "")
        if product is None or fault == "130":
            response = f"{operation[0].upper()}{operation[1:]}Response"
            return Reply(operation, 200, ppc.ppc_error(response, 130, "Product Id not found"))
        return product

    def _getFobPoints(self, fields: dict[str, str], product_id: str | None, fault: str | None) -> Reply:
        product = self._ppc_product("getFobPoints", product_id, fault)
        if isinstance(product, Reply):
            return product
        points = [point for point in ppc.fob_points() if point.fob_id in product.fob_ids]
        return Reply("getFobPoints", 200, ppc.fob_points_response([product.product_id], points))

    def _getAvailableLocations(self, fields: dict[str, str], product_id: str | None, fault: str | None) -> Reply:
        product = self._ppc_product("getAvailableLocations", product_id, fault)
        if isinstance(product, Reply):
            return product
        return Reply("getAvailableLocations", 200, ppc.available_locations_response(ppc.demo_pricing(product, "1")))

    def _getAvailableCharges(self, fields: dict[str, str], product_id: str | None, fault: str | None) -> Reply:
        product = self._ppc_product("getAvailableCharges", product_id or self.catalog.products[0].product_id, fault)
        if isinstance(product, Reply):
            return product
        return Reply("getAvailableCharges", 200, ppc.available_charges_response(ppc.demo_pricing(product, "1")))

    def _getDecorationColors(self, fields: dict[str, str], product_id: str | None, fault: str | None) -> Reply:
        product = self._ppc_product("getDecorationColors", product_id, fault)
        if isinstance(product, Reply):
            return product
        pricing = ppc.demo_pricing(product, "1")
        reply = ppc.decoration_colors_response(product.product_id, fields.get("locationId") or "1", pricing)
        return Reply("getDecorationColors", 200, reply)

    def _getMediaContent(self, fields: dict[str, str], product_id: str | None, fault: str | None) -> Reply:
        product = self.catalog.get(product_id or "")
        if product is None or fault in ("130", "media_error"):
            return Reply("getMediaContent", 200, r.media_error(130, "Product Id not found"))
        return Reply("getMediaContent", 200, r.media_response(product))

    def _getInventoryLevels(self, fields: dict[str, str], product_id: str | None, fault: str | None) -> Reply:
        product = self.catalog.get(product_id or "")
        if product is None or fault == "130":
            return Reply("getInventoryLevels", 200, r.inventory_error(600, INVENTORY_CODES["600"]))
        if fault in INVENTORY_CODES and fault not in INVENTORY_NOTE_CODES:
            return Reply("getInventoryLevels", 200, r.inventory_error(int(fault), INVENTORY_CODES[fault]))
        notes = [(int(fault), INVENTORY_CODES[fault])] if fault in INVENTORY_NOTE_CODES else []
        return Reply("getInventoryLevels", 200, r.inventory_response(product, self.stock.read(product), notes))

    def directory_answer(self, code: str) -> list[dict[str, Any]]:
        with self._lock:
            self.directory_calls += 1
        if code.lower() != self.company_code.lower():
            return []
        endpoints = self.endpoints

        def entry(service: str, name: str, version: str, url: str) -> dict[str, Any]:
            return {
                "Service": {"ServiceType": {"Code": service, "Name": name}, "Status": "Production", "Version": version},
                "TestURL": None,
                "URL": url,
            }

        return [
            entry("Product", "Product Data", "1.0.0", endpoints["product_data"] + "/v1-not-served"),
            entry("Product", "Product Data", "2.0.0", endpoints["product_data"]),
            entry("PPC", "Product Pricing and Configuration", "1.0.0", endpoints["pricing"]),
            entry("MED", "Media Content", "1.1.0", endpoints["media"]),
            entry("INV", "Inventory", "1.2.1", endpoints["inventory"] + "/v1-not-served"),
            entry("INV", "Inventory", "2.0.0", endpoints["inventory"]),
        ]


@contextmanager
def running_fake_promostandards(products: int = 100, seed: int = 1, **knobs: Any) -> Iterator[FakePromoStandards]:
    """Start the fake on a free loopback port for the ``with`` block; it stops on exit (see
    ``FakePromoStandards`` for the knobs)."""
    with FakePromoStandards(products, seed, **knobs) as fake:
        yield fake
