"""The dev-only DemoAdapter is deterministic (tests, the local stack and the benchmarks rely on it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from apihub.adapters.base import AdapterContext, DiscoveryRequest
from apihub.errors import AuthError, ProductError, TransientError
from apihub.models import DiscoveryMode, ProductRef, Protocol
from apihub.supplier_models import Supplier

from apihub_fakes.demo_adapter import DemoAdapter


def _adapter(**cfg) -> DemoAdapter:
    supplier = Supplier(
        id="s",
        name="Demo",
        slug="demo",
        protocol=Protocol.promostandards,
        adapter_class="DemoAdapter",
        protocol_config=cfg,
        created_at="2026-01-01T00:00:00Z",
    )
    return DemoAdapter(supplier, AdapterContext())


def _refs(adapter: DemoAdapter, **req) -> list[str]:
    return [r.product_id for page in adapter.discover(DiscoveryRequest(**req)) for r in page.refs]


def test_modes_select_the_documented_sets() -> None:
    a = _adapter(products=30, modified_every=5, closeout_every=10)
    assert len(_refs(a, mode=DiscoveryMode.full_sellable)) == 30
    assert _refs(a, mode=DiscoveryMode.first_n, limit=3) == ["DEMO-00001", "DEMO-00002", "DEMO-00003"]
    assert _refs(a, mode=DiscoveryMode.closeouts) == ["DEMO-00010", "DEMO-00020", "DEMO-00030"]
    since = datetime(2024, 6, 1, tzinfo=UTC)
    assert _refs(a, mode=DiscoveryMode.delta, since=since) == [f"DEMO-{i:05d}" for i in (5, 10, 15, 20, 25, 30)]
    assert _refs(a, mode=DiscoveryMode.explicit_list, explicit_list=["X", "Y"]) == ["X", "Y"]


def test_pages_resume_from_their_cursor() -> None:
    a = _adapter(products=25, page_size=10)
    pages = list(a.discover(DiscoveryRequest(mode=DiscoveryMode.full_sellable)))
    assert [len(p.refs) for p in pages] == [10, 10, 5] and pages[-1].cursor is None
    resumed = list(a.discover(DiscoveryRequest(mode=DiscoveryMode.full_sellable), cursor=pages[0].cursor))
    assert resumed[0].refs[0].product_id == "DEMO-00011"


def test_faults_raise_their_classes() -> None:
    a = _adapter(products=5, fail_skus=["DEMO-00002"], flaky_skus=["DEMO-00003"])
    assert a.hydrate(ProductRef(product_id="DEMO-00001")).product_id == "DEMO-00001"
    with pytest.raises(ProductError):
        a.hydrate(ProductRef(product_id="DEMO-00002"))
    with pytest.raises(TransientError):
        a.hydrate(ProductRef(product_id="DEMO-00003"))
    with pytest.raises(ProductError):
        a.hydrate(ProductRef(product_id="DEMO-99999"))
    with pytest.raises(AuthError):
        _adapter(auth_error=True).hydrate(ProductRef(product_id="DEMO-00001"))


# --- inventory ------------------------------------------------------------------------------------


def _stock_adapter(supplier_id: str, **cfg) -> DemoAdapter:
    # Reads are counted per supplier id and SKU in the process: each test has its own supplier.
    adapter = _adapter(**cfg)
    adapter.supplier = adapter.supplier.model_copy(update={"id": supplier_id})
    return adapter


def test_inventory_is_deterministic_per_read_and_never_changes_without_churn() -> None:
    assert DemoAdapter.serves_inventory
    ref = ProductRef(product_id="DEMO-00004")
    one = _stock_adapter("inv-a", products=5, stock_churn=0)
    reads = [one.inventory(ref) for _ in range(3)]
    other = _stock_adapter("inv-b", products=5, stock_churn=0).inventory(ref)
    assert reads[0] == reads[1] == reads[2] == other
    part = reads[0].parts[0]
    assert len(reads[0].parts) == 16 and len(part.locations) == 2
    assert part.quantity_available == sum(loc.quantity or 0 for loc in part.locations)
    out_of_stock = [loc for p in reads[0].parts for loc in p.locations if loc.quantity == 0]
    assert all(loc.future for loc in out_of_stock)


def test_inventory_churn_changes_that_share_of_parts_per_read(monkeypatch) -> None:
    ref = ProductRef(product_id="DEMO-00002")
    everything = _stock_adapter("inv-c", products=5, stock_churn=1)
    first, second = everything.inventory(ref), everything.inventory(ref)
    assert all(a.last_modified < b.last_modified for a, b in zip(first.parts, second.parts, strict=True))
    # The environment knob applies when protocol_config does not set one
    monkeypatch.setenv("APIHUB_DEMO_STOCK_CHURN", "0")
    still = _stock_adapter("inv-d", products=5)
    assert still.inventory(ref) == still.inventory(ref)


def test_inventory_faults_raise_their_classes() -> None:
    a = _stock_adapter("inv-e", products=5, fail_skus=["DEMO-00002"], flaky_skus=["DEMO-00003"])
    with pytest.raises(ProductError) as caught:
        a.inventory(ProductRef(product_id="DEMO-00002"))
    assert caught.value.code == "600"
    with pytest.raises(TransientError):
        a.inventory(ProductRef(product_id="DEMO-00003"))
    with pytest.raises(ProductError):
        a.inventory(ProductRef(product_id="DEMO-99999"))
    with pytest.raises(AuthError):
        _adapter(auth_error=True).inventory(ProductRef(product_id="DEMO-00001"))
