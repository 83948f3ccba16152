"""The key that signs pagination cursors (``apihub.pagination``): the template's ``CursorSecret``
(Secrets Manager, encrypted with the stack's KMS key), read once per container on first use.

Reading it lazily keeps Secrets Manager off the cold start of every function that never pages; a
container keeps the key it read, so replacing the secret's value invalidates the cursors in flight
(a 400 naming ``next_token``; the caller starts the list again) once containers are recycled."""

from __future__ import annotations

from functools import lru_cache

from apihub.dal.clients import client
from apihub.errors import ServiceUnavailable
from apihub.settings import get_settings


def cursor_key() -> bytes:
    """The HMAC key for cursors of this stack (``APIHUB_CURSOR_SECRET_ARN``)."""
    settings = get_settings()
    if not settings.cursor_secret_arn:
        raise RuntimeError("APIHUB_CURSOR_SECRET_ARN is not set (template.yaml sets it to CursorSecret)")
    return _read(settings.cursor_secret_arn, settings.region, settings.endpoint)


@lru_cache(maxsize=4)
def _read(secret_arn: str, region: str, endpoint: str | None) -> bytes:
    try:
        value = client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    except Exception as exc:  # botocore's errors: the list cannot be paged right now, try again
        raise ServiceUnavailable(f"cursor key unavailable ({type(exc).__name__}); try again") from exc
    return str(value).encode()


def forget_cursor_key() -> None:
    """Read the secret again on next use (tests that replace its value; the local stack)."""
    _read.cache_clear()
