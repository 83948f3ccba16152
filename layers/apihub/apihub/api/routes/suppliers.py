"""Suppliers (credentials are write-only: responses carry ``Supplier.public()``) and their products."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from apihub.api.app import endpoint, json_response
from apihub.api.routes import NextToken, SupplierRef, page
from apihub.dal.products import ProductsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import InvalidInput
from apihub.models import MAX_SKU_BYTES, StoredProduct, Supplier, SupplierIn, SupplierPatch, sku_problem
from apihub.supplier_rules import validate_supplier


@endpoint("POST", "/api/suppliers", "Create or update a supplier by slug", 201, errors=(409,), also=(200,))
def upsert_supplier(body: Annotated[SupplierIn, Body()]) -> Response[Supplier]:
    validate_supplier(body)
    supplier, created = SuppliersRepository().upsert(body)
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
    return json_response(200, SuppliersRepository().patch(supplier_id, body).public())


@endpoint("DELETE", "/api/suppliers/{supplier_id}", "Delete a supplier", 204, errors=(404,))
def delete_supplier(supplier_id: SupplierRef) -> Response[str]:
    SuppliersRepository().delete(supplier_id)
    return Response(status_code=204, body="")


@endpoint("GET", "/api/suppliers/{supplier_id}/products", "List a supplier's products", errors=(400, 404))
def list_products(
    supplier_id: SupplierRef,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: NextToken = None,
) -> Response[list[StoredProduct]]:
    supplier = SuppliersRepository().get(supplier_id)
    products, cursor = ProductsRepository().list(supplier.id, limit, next_token)
    return page([p.model_dump(mode="json") for p in products], cursor)


@endpoint("GET", "/api/suppliers/{supplier_id}/products/{product_id}", "Get one product", errors=(404,))
def get_product(
    supplier_id: SupplierRef,
    product_id: Annotated[str, Path(min_length=1, max_length=MAX_SKU_BYTES)],
) -> Response[StoredProduct]:
    if rule := sku_problem(product_id):  # the schema counts characters; keys count bytes
        raise InvalidInput(f"product_id: {rule}")
    supplier = SuppliersRepository().get(supplier_id)
    return json_response(200, ProductsRepository().get(supplier.id, product_id).model_dump(mode="json"))
