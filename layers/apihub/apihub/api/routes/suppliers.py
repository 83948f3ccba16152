"""Suppliers (credentials are write-only: responses carry ``Supplier.public()``) and their products."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from apihub.api.app import endpoint, json_response
from apihub.api.routes import NextToken, SupplierRef, page
from apihub.dal.inventory import InventoryRepository
from apihub.dal.products import ProductsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import InvalidInput
from apihub.inventory.freshness import confirmed_as_of
from apihub.models import MAX_SKU_BYTES, StoredProduct, Supplier, SupplierIn, SupplierPatch, sku_problem
from apihub.supplier_rules import check_inventory_schedule, validate_supplier


class ProductWithStockAge(StoredProduct):
    """A stored product, and when its stock was last confirmed (``GET .../inventory`` has the stock)."""

    inventory_as_of: str | None = None


@endpoint("POST", "/api/suppliers", "Create or update a supplier by slug", 201, errors=(409,), also=(200,))
def upsert_supplier(body: Annotated[SupplierIn, Body()]) -> Response[Supplier]:
    validate_supplier(body)
    repo = SuppliersRepository()
    if "inventory" in body.schedules:  # the period rule needs the stored product count
        check_inventory_schedule(body, repo.find(body.slug))
    supplier, created = repo.upsert(body)
    return json_response(201 if created else 200, supplier.public())


@endpoint("GET", "/api/suppliers", "List suppliers")
def list_suppliers() -> Response[list[Supplier]]:
    return json_response(200, [s.public() for s in SuppliersRepository().list()])


@endpoint("GET", "/api/suppliers/{supplier_id}", "Get a supplier by id or slug", errors=(404,))
def get_supplier(supplier_id: SupplierRef) -> Response[Supplier]:
    return json_response(200, SuppliersRepository().get(supplier_id).public())


@endpoint("PATCH", "/api/suppliers/{supplier_id}", "Update a supplier", errors=(404,))
def patch_supplier(supplier_id: SupplierRef, body: Annotated[SupplierPatch, Body()]) -> Response[Supplier]:
    validate_supplier(body)
    repo = SuppliersRepository()
    if body.schedules is not None or body.protocol_config is not None:  # the inventory period rule
        check_inventory_schedule(body, repo.get(supplier_id))
    return json_response(200, repo.patch(supplier_id, body).public())


@endpoint("DELETE", "/api/suppliers/{supplier_id}", "Delete a supplier", 204, errors=(404,))
def delete_supplier(supplier_id: SupplierRef) -> Response[str]:
    SuppliersRepository().delete(supplier_id)
    return Response(status_code=204, body="")


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
