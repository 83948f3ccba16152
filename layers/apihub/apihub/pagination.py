"""Sealed cursors for every paginated endpoint (``next_token`` in, ``X-Next-Token`` out), and pages
that fit in one Lambda response.

A cursor holds where a list resumes (a few key strings, described by a :class:`Position` model of
the data layer) and is bound to a *scope*: the list it came from, with its filters or parent
(``sync-jobs?status=failed``, ``sync-jobs/<id>/errors``). The token is
``v1.<base64url payload>.<base64url HMAC-SHA256(key, v1 | scope | payload)>`` with the stack's
cursor key (``apihub.dal.cursor_key``). A token that was not issued by this stack, was altered, or
was issued for another list is a 400 naming ``next_token``; a signed one still has its shape checked
(the ``Position`` model) before any of it reaches DynamoDB as an ``ExclusiveStartKey``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from apihub.errors import InvalidCursor

VERSION = "v1"
# Lambda answers at most 6 MB: the whole response JSON, in which the body is one escaped string.
# A page's items stay under 5 MB of that, so the headers and the envelope never tip it over.
PAGE_BUDGET_BYTES = 5 * 1024 * 1024

# A key attribute as DynamoDB allows it (sort keys: at most 1,024 bytes).
KeyString = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class Position(BaseModel):
    """Where a list resumes: the data layer's key strings, nothing else (unknown fields are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


P = TypeVar("P", bound=Position)


@dataclass(frozen=True)
class Cursor:
    """A list's next position and the scope it belongs to; sealed into a token only when sent, so
    that callers that read one page for themselves (the health summary) never need the key."""

    scope: str
    position: Position

    def token(self) -> str:
        payload = _b64(self.position.model_dump_json().encode())
        return f"{VERSION}.{payload}.{_b64(_mac(self.scope, payload))}"


def encode_cursor(position: Position | None, scope: str) -> str | None:
    """The ``X-Next-Token`` for ``position`` in the list ``scope`` (``None``: the list is complete)."""
    return Cursor(scope, position).token() if position is not None else None


def decode_cursor(token: str | None, scope: str, model: type[P]) -> P | None:
    """The position a token issued for ``scope`` holds (``None`` without a token), or
    :class:`InvalidCursor` (400) when the token is malformed, forged, altered, for another list, or
    holds something that is not a ``model``."""
    if not token:
        return None
    version, _, rest = token.partition(".")
    payload, _, mac = rest.partition(".")
    if version != VERSION or not payload or not mac:
        raise InvalidCursor("next_token: not a token this API issued")
    try:
        given = _unb64(mac)
    except (ValueError, binascii.Error):
        raise InvalidCursor("next_token: not a token this API issued") from None
    if not hmac.compare_digest(given, _mac(scope, payload)):
        # Forged, altered, signed with another key, or issued for another list or filters.
        raise InvalidCursor("next_token: not issued for this list and its filters (start again without it)")
    try:
        return model.model_validate_json(_unb64(payload))
    except (ValueError, binascii.Error, ValidationError):  # a signed token of an older shape
        raise InvalidCursor("next_token: no longer valid (start again without it)") from None


def fit_page(items: Sequence[Any], budget: int = PAGE_BUDGET_BYTES) -> int:
    """How many of ``items`` (JSON-ready, in order) fit in one response: at least one, then as many
    as keep the body, counted as the Lambda response holds it, within ``budget`` bytes."""
    used = 2  # []
    for count, item in enumerate(items):
        text = json.dumps(item)  # ASCII, as the response serialiser writes it (non-ASCII as \\uXXXX)
        # Inside the response envelope the body is a JSON string: each " and \\ gains a backslash.
        used += len(text) + text.count('"') + text.count("\\") + 1
        if used > budget and count > 0:
            return count
    return len(items)


def _mac(scope: str, payload: str) -> bytes:
    from apihub.dal.cursor_key import cursor_key  # the key is fetched once per container, when needed

    message = f"{VERSION}\n{scope}\n{payload}".encode()
    return hmac.new(cursor_key(), message, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))
