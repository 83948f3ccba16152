"""The dev-only DemoAdapter is deterministic (tests, the local stack and the benchmarks rely on it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from apihub.adapters.base import AdapterContext, DiscoveryRequest
from apihub.errors import AuthError, ProductError, TransientError
from apihub.models import DiscoveryMode, ProductRef, Protocol, Supplier

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
