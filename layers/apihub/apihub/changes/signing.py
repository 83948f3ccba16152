"""Webhook signatures: ``Apihub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.

The timestamp is signed with the body so that a receiver can refuse a replayed old request
(``verify``'s ``tolerance_s``); a receiver recomputes the HMAC over the raw bytes it received,
before parsing them. ``verify`` is what a receiver does (docs/changes.md shows it in a few lines).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Apihub-Signature"
EVENT_ID_HEADER = "Apihub-Event-Id"
EVENT_TYPE_HEADER = "Apihub-Event-Type"


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``Apihub-Signature`` value for ``body`` sent at ``timestamp`` (now by default)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, body, t)}"


def verify(secret: str, header: str, body: bytes, *, tolerance_s: int = 300, now: float | None = None) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and was made within ``tolerance_s`` of now."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance_s:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, body, t))
