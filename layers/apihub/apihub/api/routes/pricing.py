"""A product's stored pricing, and quotes computed from it (docs/pricing.md); no supplier call."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from apihub.api.app import endpoint, json_response
from apihub.api.routes import SupplierRef
from apihub.dal.pricing import MarkupRulesRepository, PricingRepository
from apihub.dal.products import ProductsRepository
from apihub.dal.suppliers import SuppliersRepository
from apihub.errors import InvalidInput, ProductNotFound
from apihub.models import MAX_SKU_BYTES, sku_problem
from apihub.pricing import markup
from apihub.pricing.models import ProductPricing, Quote, QuoteRequest
from apihub.pricing.quote import quote
from apihub.pricing.records import choose_record

ProductId = Annotated[str, Path(min_length=1, max_length=MAX_SKU_BYTES)]
FobFilter = Annotated[str | None, Query(description="FOB point id (default: the first stored)", max_length=64)]
CurrencyFilter = Annotated[str | None, Query(description="ISO 4217 code (default: the first stored)", max_length=3)]
PriceTypeFilter = Annotated[
    Literal["List", "Net", "Customer"] | None, Query(description="Price type (default: the first stored)")
]


def _checked(product_id: str) -> str:
    if rule := sku_problem(product_id):  # the schema counts characters; keys count bytes
        raise InvalidInput(f"product_id: {rule}")
    return product_id


@endpoint(
    "GET",
    "/api/suppliers/{supplier_id}/products/{product_id}/pricing",
    "A product's stored pricing at one FOB point, currency and price type",
    errors=(404,),
)
def get_pricing(
    supplier_id: SupplierRef,
    product_id: ProductId,
    fob_id: FobFilter = None,
    currency: CurrencyFilter = None,
    price_type: PriceTypeFilter = None,
) -> Response[ProductPricing]:
    supplier = SuppliersRepository().get(supplier_id)
    stored = PricingRepository().get(supplier.id, _checked(product_id))
    record = choose_record(stored.records, fob_id=fob_id, currency=currency, price_type=price_type)
    return json_response(200, record.model_dump(mode="json"))


@endpoint(
    "POST",
    "/api/suppliers/{supplier_id}/products/{product_id}/quote",
    "Quote a part, quantity and decorations from the stored pricing (with the markup rule's sell price)",
    errors=(404,),
)
def quote_product(
    supplier_id: SupplierRef, product_id: ProductId, body: Annotated[QuoteRequest, Body()]
) -> Response[Quote]:
    supplier = SuppliersRepository().get(supplier_id)
    stored = PricingRepository().get(supplier.id, _checked(product_id))
    record = choose_record(stored.records, fob_id=body.fob_id, currency=body.currency, price_type=body.price_type)
    result = quote(record, body)
    if body.markup:
        rules = MarkupRulesRepository().list()
        categories: list[str] = []
        if any(rule.scope == "category" for rule in rules):  # the product is read only when a rule needs it
            try:
                categories = ProductsRepository().get(supplier.id, product_id).categories
            except ProductNotFound:
                categories = []
        rule = markup.matching_rule(rules, supplier_id=supplier.id, product_id=product_id, categories=categories)
        if rule is not None:
            result = result.model_copy(update={"sell": markup.sell(result, rule)})
    return json_response(200, result.model_dump(mode="json"))
