"""Product bodies too big for a DynamoDB item, in S3 (the template's ``ProductBodiesBucket``).

A product whose compressed body is over ``INLINE_MAX`` is stored here and its products-table item
keeps ``body_ref`` (the object key) instead of ``data``. The object is written before the
transaction that points at it, under a key of its own for every write attempt
(``products/<supplier>/<sku>/<content hash>-<attempt>.json.zlib``), so no two items, and no two
copies of a redelivered message, ever share an object. That is what makes deleting safe: an object
is deleted only once nothing can point at it (its transaction was cancelled, or a later write of the
product replaced it). With versioning on, a delete keeps the bytes as a noncurrent version, which
the bucket's lifecycle rule expires after a few days (docs/decisions.md, "Product bodies in S3").

The S3 client is made on first use (``apihub.dal.clients``): only big products pay for it.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from apihub.dal.clients import client
from apihub.dal.sizes import utf8_len
from apihub.settings import get_settings

# Compressed bodies up to this stay in the item; over it they go to S3. It leaves the rest of the
# item (keys, hash, timestamps) far more room than it needs under DynamoDB's 400 KB.
INLINE_MAX = 300 * 1024
_S3_KEY_MAX = 1024
_DELETE_BATCH = 1000  # DeleteObjects' limit
log = logging.getLogger(__name__)


class BodyStoreError(Exception):
    """S3 refused the body or could not be reached (after the client's own retries)."""


def enabled() -> bool:
    """Whether a bucket is configured (the template always sets one)."""
    return bool(get_settings().bodies_bucket)


def new_key(supplier_id: str, sku: str, content_hash: str) -> str:
    """A key no other write uses. The SKU is URL-quoted for reading; a SKU too long for a key
    (S3 allows 1,024 bytes) is replaced by its SHA-256."""
    attempt = uuid.uuid4().hex
    for segment in (quote(sku, safe=""), "sha256-" + hashlib.sha256(sku.encode("utf-8")).hexdigest()):
        key = f"products/{quote(supplier_id, safe='')}/{segment}/{content_hash}-{attempt}.json.zlib"
        if utf8_len(key) <= _S3_KEY_MAX:
            break
    return key


def put(supplier_id: str, sku: str, content_hash: str, data: bytes) -> str:
    """Store a compressed body; returns its key. Raises ``BodyStoreError``."""
    key = new_key(supplier_id, sku, content_hash)
    try:
        client("s3").put_object(
            Bucket=get_settings().bodies_bucket,
            Key=key,
            Body=data,
            ContentType="application/json",
            ContentEncoding="deflate",  # zlib, as in the products table
        )
    except (BotoCoreError, ClientError) as exc:
        raise BodyStoreError(_describe(exc)) from exc
    return key


def get(key: str) -> bytes | None:
    """A stored body, or None when there is none under ``key`` (deleted since the item was read)."""
    try:
        response = client("s3").get_object(Bucket=get_settings().bodies_bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    data: bytes = response["Body"].read()
    return data


def delete(keys: Iterable[str]) -> None:
    """Delete bodies nothing points at any more. Best effort: one that stays costs storage only."""
    pending = sorted(set(keys))
    for start in range(0, len(pending), _DELETE_BATCH):
        batch = pending[start : start + _DELETE_BATCH]
        try:
            response = client("s3").delete_objects(
                Bucket=get_settings().bodies_bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not delete unreferenced product bodies", extra={"keys": batch, "error": _describe(exc)})
            continue
        if response.get("Errors"):
            log.warning("could not delete unreferenced product bodies", extra={"errors": response["Errors"]})


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return type(exc).__name__
