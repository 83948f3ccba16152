"""Opaque cursors for every paginated endpoint (``next_token`` in, ``X-Next-Token`` out)."""

from __future__ import annotations

import base64
import json
from typing import Any

from apihub.errors import InvalidInput


def encode_cursor(state: dict[str, Any] | None) -> str | None:
    if not state:
        return None
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput("next_token: not a token this API issued") from None
    if not isinstance(state, dict):
        raise InvalidInput("next_token: not a token this API issued")
    return state
