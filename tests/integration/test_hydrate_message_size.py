"""How many SKUs a hydrate message carries (``apihub.pipeline.discover.refs_per_message``): enough to
give each of the supplier's slots ``hydrate_messages_per_slot`` messages, between the floor and the
ceiling of the settings; a stock job keeps its own size (docs/benchmarks.md, "Message size")."""

from __future__ import annotations

from typing import Any

import pytest
from apihub.dal.tables import JobItem
from apihub.pipeline import discover
from apihub.settings import get_settings


def _sizes(hub: Any, monkeypatch: pytest.MonkeyPatch, products: int, max_concurrency: int) -> list[int]:
    """The SKU count of every hydrate message a full import of ``products`` sends."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(discover.queues, "send_hydrate_batch", lambda bodies, **_: sent.extend(bodies) or len(bodies))
    slug = f"demo-{products}-{max_concurrency}"
    hub.add_supplier(
        slug, protocol_config={"products": products, "max_concurrency": max_concurrency, "rate_limit_per_s": 1000}
    )
    res = hub.start_import(slug, mode="full_sellable")
    assert res.status == 202, res.json
    next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction").poll_once()
    assert sum(len(body["skus"]) for body in sent) == products  # every SKU went out once
    return [len(body["skus"]) for body in sent]


@pytest.mark.parametrize(
    ("products", "max_concurrency", "per_message"),
    [
        (2000, 10, 50),  # 2,000 / (10 slots x 4): the ceiling
        (2000, 25, 20),  # 2,000 / (25 x 4)
        (2000, 50, 10),  # 2,000 / (50 x 4) = 10: the floor
        (120, 10, 10),  # a small job: never below the floor
    ],
)
def test_a_product_job_sends_as_many_skus_per_message_as_keep_every_slot_fed(
    hub, monkeypatch, products: int, max_concurrency: int, per_message: int
) -> None:
    # Given the default settings (floor 10, ceiling 50, 4 messages per slot)
    settings = get_settings()
    assert (settings.hydrate_refs_per_message, settings.hydrate_refs_per_message_max) == (10, 50)
    # When a supplier of that many slots is imported in full
    sizes = _sizes(hub, monkeypatch, products, max_concurrency)
    # Then every message but the last of a chunk carries per_message SKUs
    assert max(sizes) == per_message
    assert len(sizes) >= min(products // per_message, max_concurrency * settings.hydrate_messages_per_slot)


def test_a_stock_job_keeps_its_own_message_size_and_a_supplier_gone_counts_as_the_default() -> None:
    # Given an inventory job and a product job of 2,000 SKUs
    stock = JobItem("JOB#a", "META", discovery_mode="inventory", total_products=2000)
    products = JobItem("JOB#b", "META", discovery_mode="full_sellable", total_products=2000)
    settings = get_settings()
    # Then the stock job's size does not depend on the slots
    assert discover.refs_per_message(stock, 1) == discover.refs_per_message(stock, 500)
    assert discover.refs_per_message(stock, 1) == settings.hydrate_stock_refs_per_message
    # And a product job's is bounded on both sides
    assert discover.refs_per_message(products, 1) == settings.hydrate_refs_per_message_max
    assert discover.refs_per_message(products, 500) == settings.hydrate_refs_per_message
