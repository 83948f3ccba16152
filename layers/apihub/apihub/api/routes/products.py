"""A supplier's stored products, page by page (one product, with its stock's age, is
``apihub.api.routes.product``; the stock itself is ``apihub.api.routes.inventory``).

The supplier routes, this list and the one-product route are separate modules so that each function
imports only the tables it reads: the list reads no inventory, nor the jobs table the stock's age
is found in (docs/benchmarks.md, "Cold imports")."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from apihub.api.app import endpoint
from apihub.api.routes import NextToken, SupplierRef, page
from apihub.dal.products import ProductsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.models import StoredProduct


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
