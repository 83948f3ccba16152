"""Products table access (written by the hydrate pipeline through ``JobsRepository``).

An item holds its product zlib-compressed in ``data``, or, for a body too big for an item, the S3
key of that body in ``body_ref`` (``apihub.dal.bodies``), which reads follow."""

from __future__ import annotations

import json
import zlib

from pynamodb.exceptions import DoesNotExist

from apihub.dal import bodies
from apihub.dal.tables import ProductItem, bind_tables
from apihub.errors import ProductNotFound
from apihub.models import StoredProduct
from apihub.pagination import Cursor, KeyString, Position, decode_cursor, fit_page
from apihub.settings import Settings, get_settings


def _with_body(item: ProductItem) -> tuple[ProductItem, bytes]:
    """The item and its compressed body, inline or from S3. A body is deleted from S3 only after a
    newer write of the product replaced the item pointing at it: if it is gone, read the item again."""
    for _ in range(3):
        if item.body_ref is None:
            return item, bytes(item.data or b"")
        data = bodies.get(item.body_ref)
        if data is not None:
            return item, data
        item = ProductItem.get(item.supplier_id, item.product_id, consistent_read=True)
    raise RuntimeError(f"product body {item.body_ref} is missing")


def to_model(item: ProductItem) -> StoredProduct:
    item, body = _with_body(item)
    data = json.loads(zlib.decompress(body))
    return StoredProduct(
        **data, supplier_id=item.supplier_id, content_hash=item.content_hash, updated_at=item.updated_at
    )


class ProductsPosition(Position):
    """Where a supplier's product list resumes: the last product sent."""

    product_id: KeyString


def products_scope(supplier_id: str) -> str:
    return f"suppliers/{supplier_id}/products"


class ProductsRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        bind_tables(settings or get_settings())

    def get(self, supplier_id: str, product_id: str) -> StoredProduct:
        try:
            return to_model(ProductItem.get(supplier_id, product_id))
        except DoesNotExist:
            raise ProductNotFound() from None

    def list(
        self, supplier_id: str, limit: int, next_token: str | None = None
    ) -> tuple[list[StoredProduct], Cursor | None]:
        """A supplier's products by id: ``limit`` of them, or fewer when the page would pass the
        response budget (``fit_page``); the cursor resumes after the last product sent."""
        scope = products_scope(supplier_id)
        start = decode_cursor(next_token, scope, ProductsPosition)
        last_key = {"supplier_id": {"S": supplier_id}, "product_id": {"S": start.product_id}} if start else None
        query = ProductItem.query(supplier_id, limit=limit, page_size=limit, last_evaluated_key=last_key)
        products = [to_model(p) for p in query]
        sent = fit_page([p.model_dump(mode="json") for p in products])
        more = bool(products) and (sent < len(products) or query.last_evaluated_key is not None)
        cursor = Cursor(scope, ProductsPosition(product_id=products[sent - 1].product_id)) if more else None
        return products[:sent], cursor
