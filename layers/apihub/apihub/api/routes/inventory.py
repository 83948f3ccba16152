"""Stock levels: one product's (stored or live), and the products whose stock changed since a time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from apihub.api.app import endpoint, json_response
from apihub.api.routes import NextToken, SupplierRef, page
from apihub.dal.inventory import InventoryRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import InvalidInput
from apihub.inventory.reading import MAX_AGE_S, InventoryView, read_inventory
from apihub.models import MAX_SKU_BYTES, ApihubModel, parse_iso, sku_problem

# A date and time, as RFC 3339 spells it (a bare number or date is not one: pydantic's datetime would
# take ``0`` as the epoch, which the OpenAPI ``date-time`` the schema promised does not allow).
ISO_TIME = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?$"


def _iso_time(value: str) -> datetime:
    """``value`` (matching ``ISO_TIME``) as an aware time; a 422 naming ``changed_since`` when it is
    no real time (month 13, hour 25)."""
    try:
        parsed = parse_iso(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput(f"changed_since: {value!r} is not an ISO 8601 date and time")
    return parsed


class InventoryChange(ApihubModel):
    """A product whose stock changed: when, when it was read, and the supplier's own lastModified."""

    product_id: str
    changed_at: str
    as_of: str
    last_modified: str | None = None


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


@endpoint(
    "GET",
    "/api/suppliers/{supplier_id}/inventory",
    "Products whose stock changed after changed_since, oldest change first",
    errors=(400, 404),
)
def list_inventory_changes(
    supplier_id: SupplierRef,
    changed_since: Annotated[
        str, Query(pattern=ISO_TIME, description="ISO 8601 date and time; without a zone it is UTC")
    ],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: NextToken = None,
) -> Response[list[InventoryChange]]:
    since = _iso_time(changed_since)
    supplier = SuppliersRepository().get(supplier_id)
    stamps, cursor = InventoryRepository().changed_since(supplier.id, since, limit, next_token)
    items = [InventoryChange(**vars(s)).model_dump(mode="json") for s in stamps]
    return page(items, cursor)
