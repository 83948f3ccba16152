"""The products whose stock changed since a time, oldest change first (one product's stock is
``apihub.api.routes.inventory``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from apihub.api.app import endpoint
from apihub.api.routes import NextToken, SupplierRef, page
from apihub.dal.inventory import InventoryRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import InvalidInput
from apihub.models import ApihubModel, parse_iso

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
