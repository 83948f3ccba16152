"""Products table access (written by the hydrate pipeline through ``JobsRepository``).

An item holds its product zlib-compressed in ``data``, or, for a body too big for an item, the S3
key of that body in ``body_ref`` (``apihub.dal.bodies``), which reads follow."""

from __future__ import annotations

import builtins  # `list` is also a method here: signatures after it name builtins.list
import json
import zlib
from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

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
        **data,
        supplier_id=item.supplier_id,
        content_hash=item.content_hash,
        updated_at=item.updated_at,
        discontinued_at=item.discontinued_at,
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
        self, supplier_id: str, limit: int, next_token: str | None = None, include_discontinued: bool = False
    ) -> tuple[list[StoredProduct], Cursor | None]:
        """A supplier's products by id: ``limit`` of them, or fewer when the page would pass the
        response budget (``fit_page``); the cursor resumes after the last product sent. Without
        ``include_discontinued`` a filter leaves discontinued products out: PynamoDB keeps reading
        pages until ``limit`` products passed it, so a page still holds ``limit`` when that many exist."""
        scope = products_scope(supplier_id) + ("?include_discontinued=true" if include_discontinued else "")
        start = decode_cursor(next_token, scope, ProductsPosition)
        last_key = {"supplier_id": {"S": supplier_id}, "product_id": {"S": start.product_id}} if start else None
        active = None if include_discontinued else ProductItem.discontinued_at.does_not_exist()
        query = ProductItem.query(
            supplier_id, filter_condition=active, limit=limit, page_size=limit, last_evaluated_key=last_key
        )
        products = [to_model(p) for p in query]
        sent = fit_page([p.model_dump(mode="json") for p in products])
        more = bool(products) and (sent < len(products) or query.last_evaluated_key is not None)
        cursor = Cursor(scope, ProductsPosition(product_id=products[sent - 1].product_id)) if more else None
        return products[:sent], cursor

    def id_pages(
        self, supplier_id: str, cursor: str | None, page_size: int
    ) -> Iterator[tuple[builtins.list[str], str | None]]:
        """Every product id stored for a supplier, page by page with the cursor after each
        (discovery's ``Listing.stored``): a Query of the keys-only ``product_ids`` index (the
        table's own Query is billed for whole items, bodies included), resumed after ``cursor``
        (the last id of the previous page). At least one page, empty when nothing is stored, so a
        listing always ends. The index is eventually consistent: a product stored a moment ago
        may be read by the next run instead."""
        start = cursor
        while True:
            last_key = {"supplier_id": {"S": supplier_id}, "product_id": {"S": start}} if start else None
            query = ProductItem.product_ids.query(
                supplier_id,
                limit=page_size,
                page_size=page_size,
                last_evaluated_key=last_key,
            )
            ids = [p.product_id for p in query]
            more = bool(ids) and query.last_evaluated_key is not None
            start = ids[-1] if more else None
            yield ids, start
            if start is None:
                return

    def exists(self, supplier_id: str, product_id: str) -> bool:
        """Whether the product is stored (its key only is read)."""
        try:
            ProductItem.get(supplier_id, product_id, attributes_to_get=["product_id"])
        except DoesNotExist:
            return False
        return True


def body_of(data: bytes | None, body_ref: str | None) -> dict[str, Any] | None:
    """The decoded body of a product image (a stream record's old or new item): inline, or from
    S3. None when an S3 body is gone (a newer write replaced it and deleted it)."""
    if body_ref is None:
        return json.loads(zlib.decompress(data)) if data else None
    stored = bodies.get(body_ref)
    return json.loads(zlib.decompress(stored)) if stored is not None else None


def discontinue_page(
    supplier_id: str, after: str | None, page_size: int
) -> tuple[list[tuple[str, str, str | None]], str | None]:
    """One page of a supplier's products for a discontinuation pass: (product id, updated_at,
    discontinued_at), keys and bookkeeping only; and the product id to continue after (None: last page)."""
    last_key = {"supplier_id": {"S": supplier_id}, "product_id": {"S": after}} if after else None
    query = ProductItem.query(
        supplier_id,
        limit=page_size,
        page_size=page_size,
        last_evaluated_key=last_key,
        attributes_to_get=["supplier_id", "product_id", "updated_at", "discontinued_at"],
    )
    rows: list[tuple[str, str, str | None]] = [(p.product_id, p.updated_at, p.discontinued_at) for p in query]
    more = query.last_evaluated_key is not None and bool(rows)
    return rows, (rows[-1][0] if more else None)


def mark_discontinued(supplier_id: str, product_id: str, at: str, job_id: str, listed_before: str) -> bool:
    """Set ``discontinued_at`` on a product the job did not list, unless it is discontinued already or
    was written after the job started (a later import listed it meanwhile). False when it was not."""
    item = ProductItem(supplier_id, product_id)
    condition = (
        ProductItem.product_id.exists()
        & ProductItem.discontinued_at.does_not_exist()
        & (ProductItem.updated_at < listed_before)
    )
    try:
        item.update(
            actions=[ProductItem.discontinued_at.set(at), ProductItem.last_job_id.set(job_id)], condition=condition
        )
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def reactivate(supplier_id: str, product_id: str, discontinued_at: str, job_id: str) -> bool:
    """Clear ``discontinued_at`` (as read) of a product a later complete import listed again."""
    item = ProductItem(supplier_id, product_id)
    try:
        item.update(
            actions=[ProductItem.discontinued_at.remove(), ProductItem.last_job_id.set(job_id)],
            condition=ProductItem.discontinued_at == discontinued_at,
        )
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True
