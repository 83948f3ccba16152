"""Products table access (written by the hydrate pipeline through ``JobsRepository``)."""

from __future__ import annotations

import json
import zlib

from pynamodb.exceptions import DoesNotExist

from apihub.dal.tables import ProductItem, bind_tables
from apihub.errors import ProductNotFound
from apihub.models import StoredProduct
from apihub.pagination import decode_cursor, encode_cursor
from apihub.settings import Settings, get_settings


def to_model(item: ProductItem) -> StoredProduct:
    data = json.loads(zlib.decompress(item.data))
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
