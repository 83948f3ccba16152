"""One stored product, and when its stock was last confirmed (the stock itself is
``apihub.api.routes.inventory``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from apihub.api.app import endpoint, json_response
from apihub.api.routes import SupplierRef
from apihub.dal.inventory import InventoryRepository
from apihub.dal.products import ProductsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import InvalidInput
from apihub.inventory.freshness import confirmed_as_of
from apihub.models import MAX_SKU_BYTES, StoredProduct, sku_problem


class ProductWithStockAge(StoredProduct):
    """A stored product, and when its stock was last confirmed (``GET .../inventory`` has the stock)."""

    inventory_as_of: str | None = None


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
