"""What one SKU's work in a hydrate message is, for each kind of mode: a ``FetchKind`` object that a
mode row owns (``ModeSpec.fetches``). Everything that treats a stock job differently from a product
job asks the row's kind, never tests which kind it is.

Adding a kind: subclass ``FetchKind`` and implement every abstract method (mypy and
Python refuse to build the instance until each is there), give a row ``fetches=<instance>``, and
add what the kind's methods call on the ports below to the protocol and to its one implementation
(``apihub.dal.fetch_stores.FetchStores``, ``apihub.pipeline.finalise.AfterJob``; mypy names each one
missing). docs/architecture.md, "A job mode".

The kinds sit below the data layer and the pipeline, so they never import them: what they need from
those layers comes in as an argument typed by a port (``WriteStores``, ``FinishedJobs``), which the
layer above implements. Standard library only (``apihub.models`` and ``apihub.dal`` import this)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from apihub.models import ProductRef, SyncJob
    from apihub.settings import Settings


class SupplierReads(Protocol):
    """The supplier calls a kind may make for one SKU (``SupplierAdapter`` has them all)."""

    def hydrate(self, ref: ProductRef) -> Any: ...

    def inventory(self, ref: ProductRef) -> Any: ...

    def pricing(self, ref: ProductRef) -> Any: ...


class WriteStores(Protocol):
    """The data layer's side of each kind: the change-only write of one fetched SKU (a write object
    with ``item``, ``size``, ``content_hash``, ``body_ref`` and ``condition(known)``, or the reason it
    cannot be stored), and what its table holds for a supplier's SKUs (``dal.stored.StoredState`` by
    SKU). One pair per kind."""

    def product_write(self, job: Any, outcome: Any, content_hash: str, now: str) -> Any: ...

    def product_states(self, supplier_id: str, skus: Iterable[str]) -> Mapping[str, Any]: ...

    def stock_write(self, job: Any, outcome: Any, content_hash: str, now: str) -> Any: ...

    def stock_states(self, supplier_id: str, skus: Iterable[str]) -> Mapping[str, Any]: ...

    def pricing_write(self, job: Any, outcome: Any, content_hash: str, now: str) -> Any: ...

    def pricing_states(self, supplier_id: str, skus: Iterable[str]) -> Mapping[str, Any]: ...


class FinishedJobs(Protocol):
    """What the pipeline does for a finished job of a kind that needs more than its ending."""

    def summarise_stock(self, job: SyncJob) -> None: ...


class FetchKind(ABC):
    """What hydrate does with one SKU of a job of this kind, and what its commit writes and counts.

    The whole interface, one method per place that differs (each place calls it on the row's kind):

    - ``read``: the supplier call for one SKU (``pipeline.hydrate``).
    - ``refs_per_message``: SKUs per hydrate message (``pipeline.discover``).
    - ``outcomes_per_commit``: pending outcomes that make a commit due (``pipeline.commits``).
    - ``plan_write``: the change-only write a successful outcome needs (``dal.jobs.writes.prepare``).
    - ``stored``: what the kind's table holds for the SKUs, compared before writing (``dal.jobs.outcomes``).
    - ``counts_products``: whether a new item adds to the supplier's ``product_count`` (``dal.jobs.outcomes``).
    - ``after_finish``: the kind's own work once a job of it has ended (``pipeline.finalise``).
    """

    name: str

    @abstractmethod
    def read(self, supplier: SupplierReads, ref: ProductRef) -> Any:
        """The supplier's answer for ``ref`` (it has ``product_id`` and ``compute_hash()``)."""

    @abstractmethod
    def refs_per_message(self, settings: Settings, total: int, slots: int) -> int:
        """SKUs per hydrate message for a job of ``total`` SKUs at a supplier with ``slots`` slots."""

    @abstractmethod
    def outcomes_per_commit(self, outcome_items: int) -> int:
        """Pending outcomes that make a commit due, given the items a transaction has for outcomes."""

    @abstractmethod
    def plan_write(self, stores: WriteStores, job: Any, outcome: Any, content_hash: str, now: str) -> Any:
        """The write of ``outcome``'s changed content, or the reason it cannot be stored (a str)."""

    @abstractmethod
    def stored(self, stores: WriteStores, supplier_id: str, skus: Iterable[str]) -> Mapping[str, Any]:
        """What the kind's table holds for these SKUs (``StoredState`` by SKU; absent: nothing)."""

    @property
    @abstractmethod
    def counts_products(self) -> bool:
        """Whether a first write of a SKU is a new product of the supplier (``product_count``)."""

    @abstractmethod
    def after_finish(self, jobs: FinishedJobs, job: SyncJob) -> None:
        """The kind's work once a job of it has ended (after the ending transaction)."""

    def calls_per_sku(self, protocol_config: Mapping[str, Any]) -> int:
        """Supplier calls one SKU's read makes at a supplier with this ``protocol_config``: what a
        scheduled run's length is judged by (``supplier_rules.check_schedules``)."""
        return 1

    def __repr__(self) -> str:
        return f"<fetch {self.name}>"


# A product may need its product write beside its outcome (two items of a transaction), and its
# body may be large: a commit falls due at this many, well inside one transaction's items and bytes.
PRODUCTS_PER_COMMIT = 45


class ProductFetch(FetchKind):
    """The product in full (``adapter.hydrate``), written to the products table when its content changed."""

    name = "product"

    def read(self, supplier: SupplierReads, ref: ProductRef) -> Any:
        return supplier.hydrate(ref)

    def refs_per_message(self, settings: Settings, total: int, slots: int) -> int:
        # As many SKUs as give each of the supplier's slots ``hydrate_messages_per_slot`` messages,
        # between the two bounds: every invocation pays a fixed cost whatever its batch holds, so
        # bigger messages spread it; few messages leave slots idle (docs/benchmarks.md, "Message size").
        wanted = -(-total // (max(1, slots) * settings.hydrate_messages_per_slot))
        return min(settings.hydrate_refs_per_message_max, max(settings.hydrate_refs_per_message, wanted))

    def outcomes_per_commit(self, outcome_items: int) -> int:
        return min(PRODUCTS_PER_COMMIT, outcome_items // 2)

    def plan_write(self, stores: WriteStores, job: Any, outcome: Any, content_hash: str, now: str) -> Any:
        return stores.product_write(job, outcome, content_hash, now)

    def stored(self, stores: WriteStores, supplier_id: str, skus: Iterable[str]) -> Mapping[str, Any]:
        return stores.product_states(supplier_id, skus)

    @property
    def counts_products(self) -> bool:
        return True

    def after_finish(self, jobs: FinishedJobs, job: SyncJob) -> None:
        return None


class StockFetch(FetchKind):
    """The stock levels (``adapter.inventory``), written to the inventory table when they changed: a
    stock change never rewrites the product."""

    name = "inventory"

    def read(self, supplier: SupplierReads, ref: ProductRef) -> Any:
        return supplier.inventory(ref)

    def refs_per_message(self, settings: Settings, total: int, slots: int) -> int:
        # One small call per SKU: the fixed number (docs/inventory.md, "Throughput").
        return settings.hydrate_stock_refs_per_message

    def outcomes_per_commit(self, outcome_items: int) -> int:
        # An unchanged SKU (the common case: stock is read every few minutes) costs one item at
        # most, so a commit waits for a whole transaction's worth; a changed one splits it.
        return outcome_items

    def plan_write(self, stores: WriteStores, job: Any, outcome: Any, content_hash: str, now: str) -> Any:
        return stores.stock_write(job, outcome, content_hash, now)

    def stored(self, stores: WriteStores, supplier_id: str, skus: Iterable[str]) -> Mapping[str, Any]:
        return stores.stock_states(supplier_id, skus)

    @property
    def counts_products(self) -> bool:
        return False

    def after_finish(self, jobs: FinishedJobs, job: SyncJob) -> None:
        # Health's stock figures, summarised once per job rather than per request (docs/inventory.md).
        jobs.summarise_stock(job)


class PriceFetch(FetchKind):
    """The product's Pricing and Configuration (``adapter.pricing``: every configured FOB point,
    currency and price type), written to the pricing table when its content changed: a price change
    never rewrites the product."""

    name = "prices"

    def read(self, supplier: SupplierReads, ref: ProductRef) -> Any:
        return supplier.pricing(ref)

    def calls_per_sku(self, protocol_config: Mapping[str, Any]) -> int:
        # getFobPoints, then one getConfigurationAndPricing per FOB point x currency x price type of
        # the supplier's ``pricing`` setting (docs/pricing.md, "Which FOB points, currencies and
        # price types"; the defaults: the first FOB point, USD, Net). Refusals asked again are not
        # counted: they are the exception.
        setting = protocol_config.get("pricing") or {}
        if not isinstance(setting, Mapping):
            setting = {}
        fob_points = max(1, len(setting.get("fob_ids") or ()))
        currencies = max(1, len(setting.get("currencies") or ()))
        price_types = max(1, len(setting.get("price_types") or ()))
        return 1 + fob_points * currencies * price_types

    def refs_per_message(self, settings: Settings, total: int, slots: int) -> int:
        # A few calls per SKU (FOB points, then one per configuration), each like a stock read: the
        # stock kind's fixed number (docs/pricing.md, "The prices mode").
        return settings.hydrate_stock_refs_per_message

    def outcomes_per_commit(self, outcome_items: int) -> int:
        # A changed SKU brings its pricing item beside its outcome, as a product does.
        return min(PRODUCTS_PER_COMMIT, outcome_items // 2)

    def plan_write(self, stores: WriteStores, job: Any, outcome: Any, content_hash: str, now: str) -> Any:
        return stores.pricing_write(job, outcome, content_hash, now)

    def stored(self, stores: WriteStores, supplier_id: str, skus: Iterable[str]) -> Mapping[str, Any]:
        return stores.pricing_states(supplier_id, skus)

    @property
    def counts_products(self) -> bool:
        return False

    def after_finish(self, jobs: FinishedJobs, job: SyncJob) -> None:
        return None


PRODUCT = ProductFetch()
STOCK = StockFetch()
PRICES = PriceFetch()
