"""Suppliers (credentials are write-only: responses carry ``Supplier.public()``); their products are in
``apihub.api.routes.products``."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from apihub.api.app import endpoint, json_response
from apihub.api.routes import SupplierRef
from apihub.dal.suppliers import SuppliersRepository
from apihub.supplier_models import Supplier, SupplierIn, SupplierPatch
from apihub.supplier_rules import check_schedules, validate_supplier


@endpoint("POST", "/api/suppliers", "Create or update a supplier by slug", 201, errors=(409,), also=(200,))
def upsert_supplier(body: Annotated[SupplierIn, Body()]) -> Response[Supplier]:
    validate_supplier(body)
    repo = SuppliersRepository()
    if "inventory" in body.schedules:  # the period rule needs the stored product count
        check_schedules(body, repo.find(body.slug))
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
        check_schedules(body, repo.get(supplier_id))
    return json_response(200, repo.patch(supplier_id, body).public())


@endpoint("DELETE", "/api/suppliers/{supplier_id}", "Delete a supplier", 204, errors=(404,))
def delete_supplier(supplier_id: SupplierRef) -> Response[str]:
    SuppliersRepository().delete(supplier_id)
    return Response(status_code=204, body="")
