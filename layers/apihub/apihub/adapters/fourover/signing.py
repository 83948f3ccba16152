"""Request signing for 4Over-style REST suppliers (HMAC-SHA256).

The scheme follows the reference implementation: the string to sign is ``METHOD + path + timestamp``
with no separators, where ``path`` is the URL path exactly as sent (percent-encoded, no query string)
and ``timestamp`` is Unix seconds as a decimal string, also sent as the ``X-Timestamp`` header. The
request carries ``Authorization: hmac <api_key>:<hex signature>``.

The query string is not signed (that is the reference scheme's choice); the supplier bounds replay by
rejecting timestamps more than a few minutes off. Test vector: docs/adapters/fourover.md.
"""

from __future__ import annotations

import hashlib
import hmac

AUTH_SCHEME = "hmac"
TIMESTAMP_HEADER = "X-Timestamp"


def string_to_sign(method: str, path: str, timestamp: str) -> str:
    """The exact text the signature covers: upper-cased method, URL path (no query), Unix-seconds timestamp.

    This is the one place the format lives; the fake supplier re-implements it independently so that
    a change here breaks the fixed test vector rather than silently agreeing with itself.
    """
    return f"{method.upper()}{path}{timestamp}"


def sign(private_key: str, method: str, path: str, timestamp: str) -> str:
    """Hex HMAC-SHA256 of ``string_to_sign(method, path, timestamp)`` keyed with the private key."""
    message = string_to_sign(method, path, timestamp).encode("utf-8")
    return hmac.new(private_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def auth_headers(api_key: str, private_key: str, method: str, path: str, timestamp: str) -> dict[str, str]:
    """The two headers a signed request carries. The private key itself is never sent."""
    signature = sign(private_key, method, path, timestamp)
    return {"Authorization": f"{AUTH_SCHEME} {api_key}:{signature}", TIMESTAMP_HEADER: timestamp}
