"""The fetch kinds a mode row owns (apihub.modes.fetch): each site that treats a stock job differently
from a product job asks the kind, and a kind that leaves a site out cannot be built."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from apihub.dal.jobs.keys import OUTCOME_ITEMS_PER_TRANSACTION
from apihub.modes.fetch import PRICES, PRODUCT, STOCK, FetchKind, ProductFetch
from apihub.modes.table import MODES, DiscoveryMode
from apihub.settings import Settings


def test_a_kind_missing_a_site_cannot_be_built() -> None:
    class Prices(FetchKind):  # every method but after_finish
        name = "prices"
        read = refs_per_message = outcomes_per_commit = plan_write = stored = ProductFetch.read
        counts_products = ProductFetch.counts_products

    with pytest.raises(TypeError, match="after_finish"):
        Prices()  # type: ignore[abstract]


def test_each_row_names_its_kind_and_only_inventory_reads_stock_and_only_prices_pricing() -> None:
    assert {mode for mode, row in MODES.items() if row.fetches is STOCK} == {DiscoveryMode.inventory}
    assert {mode for mode, row in MODES.items() if row.fetches is PRICES} == {DiscoveryMode.prices}
    assert all(row.fetches in (PRODUCT, STOCK, PRICES) for row in MODES.values())


class Recorder:
    """Stands in for the adapter, the data layer's stores and the pipeline's finished-job work."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> str:
            self.calls.append(name)
            return name

        return call


@pytest.mark.parametrize(
    ("kind", "read", "write", "states", "after"),
    [
        (PRODUCT, "hydrate", "product_write", "product_states", []),
        (STOCK, "inventory", "stock_write", "stock_states", ["summarise_stock"]),
        (PRICES, "pricing", "pricing_write", "pricing_states", []),
    ],
)
def test_each_kind_calls_its_own_supplier_call_store_and_finishing(
    kind: FetchKind, read: str, write: str, states: str, after: list[str]
) -> None:
    seen = Recorder()
    assert kind.read(seen, SimpleNamespace(product_id="P")) == read  # type: ignore[arg-type]
    assert kind.plan_write(seen, None, None, "h", "now") == write  # type: ignore[arg-type]
    assert kind.stored(seen, "s", ["P"]) == states  # type: ignore[arg-type]
    kind.after_finish(seen, None)  # type: ignore[arg-type]
    assert seen.calls == [read, write, states, *after]
    assert kind.counts_products is (kind is PRODUCT)


def test_a_commit_falls_due_within_one_transaction() -> None:
    # A product may bring its write (two items); an unchanged stock SKU its outcome alone.
    assert 2 * PRODUCT.outcomes_per_commit(OUTCOME_ITEMS_PER_TRANSACTION) <= OUTCOME_ITEMS_PER_TRANSACTION
    assert STOCK.outcomes_per_commit(OUTCOME_ITEMS_PER_TRANSACTION) == OUTCOME_ITEMS_PER_TRANSACTION


def test_message_sizes_follow_the_kind() -> None:
    settings = Settings(hydrate_refs_per_message=10, hydrate_refs_per_message_max=50, hydrate_messages_per_slot=4)
    assert STOCK.refs_per_message(settings, 10_000, 1) == settings.hydrate_stock_refs_per_message
    assert PRODUCT.refs_per_message(settings, 10, 4) == 10  # the floor
    assert PRODUCT.refs_per_message(settings, 1_000, 4) == 50  # the cap
    assert PRODUCT.refs_per_message(settings, 600, 4) == 38  # 600 / (4 slots x 4 messages), rounded up


def test_a_prices_commit_leaves_room_for_each_pricing_write() -> None:
    # A changed product brings its pricing item beside its outcome (two items), as a product does.
    assert 2 * PRICES.outcomes_per_commit(OUTCOME_ITEMS_PER_TRANSACTION) <= OUTCOME_ITEMS_PER_TRANSACTION


def test_calls_per_sku_follow_the_suppliers_pricing_setting() -> None:
    # getFobPoints, then one configuration per FOB point x currency x price type (defaults: 1 x 1 x 1)
    assert PRICES.calls_per_sku({}) == 2
    assert PRICES.calls_per_sku({"pricing": {"fob_ids": ["1", "2"], "currencies": ["USD", "CAD"]}}) == 5
    assert PRICES.calls_per_sku({"pricing": {"price_types": ["Net", "List", "Customer"]}}) == 4
    assert STOCK.calls_per_sku({"pricing": {"currencies": ["USD", "CAD"]}}) == 1
