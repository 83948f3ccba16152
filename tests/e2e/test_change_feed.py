"""The change feed on the local stack as a newcomer uses it: import, change the demo supplier,
import again, and the products table's stream trigger (emulated from the template on the moto
server) logs product.updated and product.discontinued within a minute."""

from __future__ import annotations

import time
from collections import Counter


def test_a_changed_demo_supplier_shows_updates_and_a_discontinued_product_in_the_feed(stack_factory) -> None:
    stack = stack_factory(APIHUB_DEMO_PRODUCTS="20")
    first = stack.cli("import", "demo", "--mode", "full_sellable", "--watch")
    assert first.returncode == 0, first.stdout + first.stderr
    supplier = stack.api("GET", "/api/suppliers/demo").json()["id"]
    # When the supplier changes 3 prices and stops selling 1 product, and the catalog is imported again
    changed = stack.cli("demo", "change", "--reprice", "3", "--drop", "1")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    second = stack.cli("import", "demo", "--mode", "full_sellable", "--watch")
    assert second.returncode == 0, second.stdout + second.stderr
    # Then within a minute the feed holds them, once each (the stream trigger is asynchronous)
    deadline = time.monotonic() + 60
    while True:
        events = stack.all_pages(f"/api/changes?supplier_id={supplier}")
        kinds = Counter(e["type"] for e in events)
        if (kinds["product.updated"] >= 3 and kinds["product.discontinued"] >= 1) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert kinds["product.updated"] == 3, (kinds, stack.log_tail())
    assert kinds["product.discontinued"] == 1
    assert kinds["job.finished"] == 2
    assert len({e["id"] for e in events}) == len(events)
    # And the discontinued product is gone from the list, still there on request
    listed = stack.all_pages(f"/api/suppliers/{supplier}/products")
    everything = stack.all_pages(f"/api/suppliers/{supplier}/products?include_discontinued=true")
    assert len(everything) == len(listed) + 1
