"""End to end through the handlers on moto: API -> discovery -> hydrate -> finalise."""

from __future__ import annotations


def test_first_n_import_succeeds_and_stores_products(hub) -> None:
    # Given a demo supplier with 30 products
    supplier = hub.add_supplier("demo", protocol_config={"products": 30})
    # When an import of the first 12 runs to the end
    job = hub.run_import("demo", mode="first_n", limit=12)
    # Then every product is counted once and stored
    assert job["status"] == "success"
    assert (job["total_products"], job["success_count"], job["failed_count"]) == (12, 12, 0)
    assert job["completed_at"] and job["completed_at"].endswith("Z")
    products = hub.api("GET", f"/api/suppliers/{supplier['id']}/products", query={"limit": "100"}).json
    assert sorted(p["product_id"] for p in products) == [f"DEMO-{i:05d}" for i in range(1, 13)]
