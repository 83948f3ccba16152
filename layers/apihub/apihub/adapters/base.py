"""The adapter interface every supplier protocol implements (docs/architecture.md, Invariants: the adapter error classes)."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from apihub.adapters.http import DEFAULT_MAX_BYTES, HttpClient
from apihub.errors import ProductError
from apihub.inventory.models import Inventory
from apihub.models import DiscoveryMode, Product, ProductRef
from apihub.modes.table import Listing, mode_spec
from apihub.supplier_models import Supplier

if TYPE_CHECKING:
    from apihub.pricing.models import PricingRead


@dataclass(frozen=True)
class DiscoveryPage:
    """One page of discovered refs. ``cursor`` resumes discovery after this page (None: last page)."""

    refs: list[ProductRef]
    cursor: str | None = None


@dataclass(frozen=True)
class DiscoveryRequest:
    """What to list. Adapters switch on ``listing`` (the mode's row says which), never on ``mode``;
    ``limit`` caps the distinct refs when set."""

    mode: DiscoveryMode
    limit: int | None = None
    explicit_list: list[str] | None = None
    since: datetime | None = None

    @property
    def listing(self) -> Listing:
        return mode_spec(self.mode).listing


@dataclass
class AdapterContext:
    """What an adapter gets besides the supplier: decrypted credentials and knobs."""

    credentials: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    # Adapters never write storage themselves; when one learns something worth keeping on the
    # supplier (e.g. a refreshed endpoint cache) it hands a partial ``protocol_config`` update here.
    on_config_update: Callable[[dict[str, Any]], object] | None = None  # what it returns is ignored
    # Consulted around every supplier call; the pipeline points it at the per-supplier limiter.
    guard: Any = None


class SupplierAdapter(abc.ABC):
    """Talks to one supplier. Raises only ``AuthError``, ``ProductError`` and ``TransientError``.

    ``discover`` yields pages so that a long listing can be resumed from ``cursor`` in a later
    invocation (Lambda's 15-minute limit); adapters whose listing is one call yield one page.
    """

    name: ClassVar[str]
    # The most supplier calls one ``hydrate`` makes: one product's worst case in time is this many
    # calls x (connect + read timeout) + as many limiter waits (tests/infrastructure/test_timing.py).
    calls_per_product: ClassVar[int] = 1
    # Whether the protocol has an inventory service (the ``inventory`` mode and live stock reads).
    serves_inventory: ClassVar[bool] = False
    # Whether the protocol has a Pricing and Configuration service (the ``prices`` mode).
    serves_pricing: ClassVar[bool] = False

    def __init__(self, supplier: Supplier, context: AdapterContext) -> None:
        self.supplier = supplier
        self.context = context

    @abc.abstractmethod
    def discover(self, request: DiscoveryRequest, cursor: str | None = None) -> Iterator[DiscoveryPage]:
        """Yield the refs for ``request.mode``, page by page, starting after ``cursor``."""

    @abc.abstractmethod
    def hydrate(self, ref: ProductRef) -> Product:
        """Fetch one product in full and return it in canonical form."""

    def inventory(self, ref: ProductRef) -> Inventory:
        """Read one product's stock levels now. Adapters whose protocol has an inventory service set
        ``serves_inventory`` and override this; the API refuses the mode for the others (422)."""
        raise ProductError(f"{type(self).__name__} has no inventory service", code="unsupported_mode")

    def pricing(self, ref: ProductRef) -> PricingRead:
        """Read one product's Pricing and Configuration now. Adapters whose protocol has one set
        ``serves_pricing`` and override this; the API refuses the mode for the others (422)."""
        raise ProductError(f"{type(self).__name__} has no pricing service", code="unsupported_mode")

    def new_http_client(self, *, connect_timeout: float, read_timeout: float) -> HttpClient:
        """The HTTP client every adapter uses: URL policy, size cap and the call guard included."""
        config = self.supplier.protocol_config or {}
        return HttpClient(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_bytes=int(config.get("max_response_bytes", DEFAULT_MAX_BYTES)),
            guard=self.context.guard,
        )

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections (called once per invocation)."""


def unsupported_listing(adapter: SupplierAdapter, request: DiscoveryRequest) -> ProductError:
    """The error for a listing an adapter has no call for: the job fails saying so, rather than
    quietly listing something else (a new mode's row names the adapters that support it)."""
    return ProductError(
        f"{type(adapter).__name__} cannot list '{request.listing.value}' (mode {request.mode.value})",
        code="unsupported_mode",
    )


def explicit_pages(request: DiscoveryRequest) -> Iterator[DiscoveryPage]:
    """``explicit_list`` needs no supplier call: the refs are the SKUs asked for."""
    yield DiscoveryPage(refs=[ProductRef(product_id=sku) for sku in request.explicit_list or []])
