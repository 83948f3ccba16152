"""The dev tools around the change feed: `apihub changes tail`'s follow loop and the fake
supplier's catalog changes (`apihub demo change`)."""

from __future__ import annotations

from apihub_cli.changes import follow, line
from apihub_cli.client import Page
from apihub_fakes.promostandards.catalog import generate_catalog


class FakeFeed:
    """Pages of a feed: each call answers the next page; the cursor handed back is what was asked."""

    def __init__(self, pages: list[list[dict]]) -> None:
        self.pages = pages
        self.asked: list[str] = []

    def page(self, path: str, **params: object) -> Page:
        self.asked.append(str(params["since"]))
        items = self.pages.pop(0) if self.pages else []
        return Page(items, f"cursor-{items[-1]['id']}" if items else None)


def event(n: int) -> dict:
    return {"id": f"e{n}", "type": "product.updated", "occurred_at": "t", "product_id": f"P{n}", "data": {}}


def test_tail_follows_with_the_last_cursor_and_keeps_it_through_empty_pages() -> None:
    feed = FakeFeed([[event(1), event(2)], [], [event(3)]])
    seen = []
    got = follow(feed, {}, "2026-11-30T00:00:00Z", poll_s=0, stop=lambda: len(feed.asked) >= 4)  # type: ignore[arg-type]
    seen = [e["id"] for e in got]
    assert seen == ["e1", "e2", "e3"]
    assert feed.asked == ["2026-11-30T00:00:00Z", "cursor-e2", "cursor-e2", "cursor-e3"]
    assert "changed ?" in line(event(1))


def test_the_fake_catalog_changes_prices_and_drops_and_restores_products() -> None:
    catalog = generate_catalog(30, 1)
    sellable = catalog.sellable_ids
    before = {p.product_id: p.list_price for p in catalog.products}
    changed = catalog.change(reprice=2, drop=1)
    assert changed["repriced"] == sellable[:2] and changed["dropped"] == [sellable[-1]]
    assert all(catalog.get(pid).list_price == round(before[pid] + 1, 2) for pid in sellable[:2])
    assert sellable[-1] not in catalog.sellable_ids
    assert catalog.change(restore=True)["restored"] == [sellable[-1]]
    assert catalog.sellable_ids == sellable
