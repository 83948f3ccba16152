"""A fake 4Over-style REST supplier on loopback that verifies HMAC signatures.

Routes (GET only, JSON): ``/printproducts/products`` (paginated listing with ``offset``, ``perPage``,
``status``, ``closeout``, ``modified_since``), ``/printproducts/products/{uuid}``, and its
``/optiongroups`` and ``/baseprices``. Every request must carry ``Authorization: hmac <api_key>:<sig>``
and ``X-Timestamp``; a missing or wrong signature, an unknown key or a timestamp more than
``max_skew_s`` off answers 401. Faults are per product id (and ``list_fault`` for the listing).

Verification is written here independently of ``apihub.adapters.fourover.signing`` on purpose: a fake
that imported the adapter's signer would agree with any bug in it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from apihub_fakes.fourover.catalog import FakeCatalog, generate_catalog
from apihub_fakes.http import LOOPBACK, FakeHandler, FakeServer, FaultCountdown

PRODUCTS = "/printproducts/products"
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 500
DEFAULT_CREDENTIALS = {"api_key": "fake-4over-api-key", "private_key": "fake-4over-private-key"}
RESOURCES = ("product", "optiongroups", "baseprices")
FAULT_KINDS = ("404", "403", "500", "503", "429", "malformed", "slow")


@dataclass(frozen=True)
class Fault:
    """What goes wrong for one product (or the listing).

    ``kind``: ``404``, ``403``, ``500``, ``503``, ``429`` (with ``Retry-After: retry_after``),
    ``malformed`` (truncated JSON with status 200) or ``slow`` (answers after ``delay_s``).
    ``resources``: which of the product's endpoints misbehave. ``times``: fire only that many times,
    then serve normally (None: always).
    """

    kind: str
    retry_after: int | None = 30
    delay_s: float = 2.0
    resources: tuple[str, ...] = RESOURCES
    times: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")


FaultLike = Fault | str


def as_fault(value: FaultLike) -> Fault:
    return value if isinstance(value, Fault) else Fault(kind=str(value))


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the fake saw it. ``time`` is ``time.monotonic()`` on arrival."""

    method: str
    path: str
    query: str
    time: float
    status: int = 0
    product_id: str | None = None


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(payload).encode(), headers or {})


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> _Reply:
    return _json(status, {"status_code": status, "message": message}, headers)


class _Handler(FakeHandler):
    server_version = "FakeFourOver/1.0"

    def _serve(self) -> None:
        arrived = time.monotonic()
        self.read_body()
        reply, product_id = self.fake.handle(self.command, self.path, self.headers)
        parts = urlsplit(self.path)
        self.fake.record(LoggedRequest(self.command, parts.path, parts.query, arrived, reply.status, product_id))
        self.reply(reply.status, reply.body, "application/json", reply.headers)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class FakeFourOver(FakeServer):
    """The fake supplier. Use ``running_fake_fourover(...)`` or ``with FakeFourOver(...) as fake``."""

    handler = _Handler
    thread_name = "fake-4over"

    def __init__(
        self,
        *,
        products: int = 100,
        seed: int = 1,
        faults: Mapping[str, FaultLike] | None = None,
        list_fault: FaultLike | None = None,
        latency_ms: float = 0,
        bad_credentials: bool = False,
        credentials: Mapping[str, str] | None = None,
        max_skew_s: float = 300,
        clock: Callable[[], float] = time.time,
        path_prefix: str = "",
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port, latency_ms=latency_ms)
        self.catalog: FakeCatalog = generate_catalog(products, seed)
        self.bad_credentials = bad_credentials
        self.max_skew_s = max_skew_s
        self.path_prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""
        self._credentials = dict(credentials or DEFAULT_CREDENTIALS)
        self._clock = clock
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {k: as_fault(v) for k, v in (faults or {}).items()}
        self._fired = FaultCountdown()
        self._list_fault = as_fault(list_fault) if list_fault is not None else None
        self._log: list[LoggedRequest] = []

    # ---- public surface ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.origin}{self.path_prefix}"

    @property
    def credentials(self) -> dict[str, str]:
        """The keys this fake accepts: ``{"api_key": ..., "private_key": ...}`` (a copy)."""
        return dict(self._credentials)

    @property
    def request_log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log.append(entry)

    def set_fault(self, product_id: str, fault: FaultLike | None) -> None:
        """Add, replace or (with None) remove the fault for one product while running."""
        with self._lock:
            self._fired.reset(product_id)
            if fault is None:
                self._faults.pop(product_id, None)
            else:
                self._faults[product_id] = as_fault(fault)

    # ---- request handling (called from handler threads) -----------------------------------------

    def _verify(self, method: str, raw_path: str, headers: Mapping[str, str]) -> str | None:
        """None when the request is signed with our keys inside the time window, else why not."""
        if self.bad_credentials:
            return "invalid credentials"
        auth, stamp = headers.get("Authorization"), headers.get("X-Timestamp")
        if not auth or not stamp:
            return "missing Authorization or X-Timestamp header"
        scheme, _, rest = auth.partition(" ")
        api_key, _, signature = rest.strip().rpartition(":")
        if scheme.lower() != "hmac" or not api_key or not signature:
            return "Authorization must be 'hmac <api_key>:<signature>'"
        if not hmac.compare_digest(api_key, self._credentials["api_key"]):
            return "unknown api key"
        try:
            skew = abs(self._clock() - int(stamp))
        except ValueError:
            return "X-Timestamp must be Unix seconds"
        if skew > self.max_skew_s:
            return "X-Timestamp outside the allowed window"
        message = f"{method.upper()}{raw_path}{stamp}".encode()
        expected = hmac.new(self._credentials["private_key"].encode(), message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.lower(), expected):
            return "signature mismatch"
        return None

    def _fault_for(self, key: str, resource: str) -> Fault | None:
        with self._lock:
            fault = self._list_fault if key == "__list__" else self._faults.get(key)
            if fault is None or (key != "__list__" and resource not in fault.resources):
                return None
            return fault if self._fired.fires(key, fault.times) else None

    def _apply(self, fault: Fault | None, ok: Callable[[], _Reply]) -> _Reply:
        if fault is None:
            return ok()
        if fault.kind == "slow":
            self.pause(fault.delay_s)
            return ok()
        if fault.kind == "malformed":
            body = ok().body  # a truncated document: what a half-written response looks like
            return _Reply(200, body[: max(1, len(body) // 2)])
        headers = {"Retry-After": str(fault.retry_after)} if fault.kind in ("429", "503") and fault.retry_after else {}
        messages = {"404": "product not found", "403": "forbidden", "429": "too many requests"}
        return _error(int(fault.kind), messages.get(fault.kind, "internal error"), headers)

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> tuple[_Reply, str | None]:
        """Answer one request: (reply, product id it concerned)."""
        self.pause_for_latency()
        parts = urlsplit(target)
        raw_path = parts.path
        why = self._verify(method, raw_path, headers)
        if why is not None:
            return _error(401, why), None
        if method != "GET":
            return _error(405, "method not allowed", {"Allow": "GET"}), None
        if not raw_path.startswith(self.path_prefix + PRODUCTS):
            return _error(404, "resource not found"), None
        rest = raw_path[len(self.path_prefix + PRODUCTS) :]
        if rest in ("", "/"):
            return self._apply(self._fault_for("__list__", "list"), lambda: self._listing(parts.query)), None
        segments = rest.strip("/").split("/")
        product_id = unquote(segments[0])
        resource = segments[1] if len(segments) == 2 else "product" if len(segments) == 1 else ""
        if resource not in RESOURCES:
            return _error(404, "resource not found"), product_id
        product = self.catalog.get(product_id)

        def render() -> _Reply:
            if product is None:
                return _error(404, "product not found")
            payload = {
                "product": product.product_json,
                "optiongroups": product.optiongroups_json,
                "baseprices": product.baseprices_json,
            }[resource]()
            return _json(200, payload)

        # Faults apply to any id, so tests can also make an unknown product slow or throttled.
        return self._apply(self._fault_for(product_id, resource), render), product_id

    def _listing(self, query: str) -> _Reply:
        args = {k: v[-1] for k, v in parse_qs(query).items()}
        try:
            offset = int(args.get("offset", 0))
            per_page = int(args.get("perPage", DEFAULT_PER_PAGE))
            since = datetime.fromisoformat(args["modified_since"]) if "modified_since" in args else None
        except ValueError:
            return _error(400, "offset/perPage must be integers, modified_since ISO 8601")
        if offset < 0 or per_page <= 0:
            return _error(400, "offset must be >= 0 and perPage > 0")
        per_page = min(per_page, MAX_PER_PAGE)
        status, closeout = args.get("status"), args.get("closeout")
        rows = self.catalog.select(
            active=None if status is None else status == "active",
            closeout=None if closeout is None else closeout == "true",
            modified_since=since,
        )
        page = rows[offset : offset + per_page]
        total = len(rows)
        next_offset = offset + per_page
        return _json(
            200,
            {
                "entities": [p.listing_row() for p in page],
                "totalResults": total,
                "offset": offset,
                "perPage": per_page,
                "currentPage": offset // per_page + 1,
                "maximumPages": max(1, -(-total // per_page)),
                "next": f"{self.path_prefix}{PRODUCTS}?offset={next_offset}&perPage={per_page}"
                if next_offset < total
                else None,
            },
        )


@contextmanager
def running_fake_fourover(**kwargs: Any) -> Iterator[FakeFourOver]:
    """Start a fake on a free loopback port for the ``with`` block; see ``FakeFourOver`` for the knobs."""
    with FakeFourOver(**kwargs) as fake:
        yield fake
