"""A supplier's stored products (their stock is ``apihub.api.routes.inventory``).

Apart from the supplier routes so that those functions do not import the products and inventory
tables, nor the jobs table the stock's age is read from (docs/benchmarks.md, "Cold imports")."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from apihub.api.app import endpoint, json_response
from apihub.api.routes import NextToken, SupplierRef, page
from apihub.dal.inventory import InventoryRepository
from apihub.dal.products import ProductsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import InvalidInput
from apihub.inventory.freshness import confirmed_as_of
from apihub.models import MAX_SKU_BYTES, StoredProduct, sku_problem


class ProductWithStockAge(StoredProduct):
    """A stored product, and when its stock was last confirmed (``GET .../inventory`` has the stock)."""

    inventory_as_of: str | None = None


@endpoint("GET", "/api/suppliers/{supplier_id}/products", "List a supplier's products", errors=(400, 404))
def list_products(
    supplier_id: SupplierRef,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: NextToken = None,
    include_discontinued: Annotated[
        bool, Query(description="Also list products a full import no longer found sellable (discontinued_at set)")
    ] = False,
) -> Response[list[StoredProduct]]:
    supplier = SuppliersRepository().get(supplier_id)
    products, cursor = ProductsRepository().list(supplier.id, limit, next_token, include_discontinued)
    return page([p.model_dump(mode="json") for p in products], cursor)


@endpoint("GET", "/api/suppliers/{supplier_id}/products/{product_id}", "Get one product", errors=(404,))
def get_product(
    supplier_id: SupplierRef,
    product_id: Annotated[str, Path(min_length=1, max_length=MAX_SKU_BYTES)],
) -> Response[ProductWithStockAge]:
    if rule := sku_problem(product_id):  # the schema counts characters; keys count bytes
        raise InvalidInput(f"product_id: {rule}")
    supplier = SuppliersRepository().get(supplier_id)
    product = ProductsRepository().get(supplier.id, product_id)
    # When its stock was last confirmed (null: none stored); the stock itself is .../inventory.
    stock = InventoryRepository().stamp(supplier.id, product_id)
    as_of = confirmed_as_of(supplier.id, product_id, stock)
    return json_response(200, {**product.model_dump(mode="json"), "inventory_as_of": as_of})
