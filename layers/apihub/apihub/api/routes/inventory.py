"""One product's stock levels, stored or read live (the products whose stock changed since a time
are ``apihub.api.routes.inventory_changes``, whose function needs none of the live-read path)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from apihub.api.app import endpoint, json_response
from apihub.api.routes import SupplierRef
from apihub.errors import InvalidInput
from apihub.inventory.reading import MAX_AGE_S, InventoryView, read_inventory
from apihub.models import MAX_SKU_BYTES, sku_problem


@endpoint(
    "GET",
    "/api/suppliers/{supplier_id}/products/{product_id}/inventory",
    "One product's stock per part and warehouse (stored, or read live when older than max_age_s)",
    errors=(404, 503),
)
def get_inventory(
    supplier_id: SupplierRef,
    product_id: Annotated[str, Path(min_length=1, max_length=MAX_SKU_BYTES)],
    max_age_s: Annotated[
        int | None,
        Query(
            description=f"Read the supplier now when the stored stock is older than this (0-{MAX_AGE_S} s); "
            "left out: the stored stock as it is"
        ),
    ] = None,
) -> Response[InventoryView]:
    if rule := sku_problem(product_id):
        raise InvalidInput(f"product_id: {rule}")
    view = read_inventory(supplier_id, product_id, max_age_s)
    return json_response(200, view.model_dump(mode="json"))
