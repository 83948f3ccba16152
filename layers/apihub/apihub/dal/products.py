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
from apihub.pagination import decode_cursor, encode_cursor
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
    ) -> tuple[list[StoredProduct], str | None]:
        state = decode_cursor(next_token) or {}
        query = ProductItem.query(supplier_id, limit=limit, page_size=limit, last_evaluated_key=state.get("k"))
        products = [to_model(p) for p in query]
        last = query.last_evaluated_key
        return products, encode_cursor({"k": last} if last else None)
