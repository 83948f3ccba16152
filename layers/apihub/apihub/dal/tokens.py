"""API tokens: stored as SHA-256 hashes with a role and an optional expiry."""

from __future__ import annotations

import hashlib
import secrets
import time

from pynamodb.exceptions import DoesNotExist

from apihub.dal.retries import call_with_retries
from apihub.dal.tables import TokenItem, bind_tables
from apihub.models import now_iso
from apihub.settings import Settings, get_settings

ROLES = ("viewer", "service", "admin")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokensRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        bind_tables(settings or get_settings())

    def create(
        self, role: str, *, name: str | None = None, ttl_days: float | None = None, token: str | None = None
    ) -> str:
        """Store a new token and return it (the only time it is visible)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        token = token or f"ah_{secrets.token_urlsafe(32)}"
        expires = int(time.time() + ttl_days * 86400) if ttl_days else None
        item = TokenItem(hash_token(token), role=role, name=name, created_at=now_iso(), expires_at=expires)
        call_with_retries(item.save, what="store a token")
        return token

    def lookup(self, token: str) -> TokenItem | None:
        """The token's record if it exists (expiry and revocation are judged by the caller)."""
        try:
            # The lookup key is the token's SHA-256, so timing reveals nothing about stored tokens.
            # Not wrapped in call_with_retries: a read never meets a transaction conflict, botocore
            # already retries its throttling, and the authorizer has 5 s in all.
            return TokenItem.get(hash_token(token), consistent_read=True)
        except DoesNotExist:
            return None

    def revoke(self, token: str) -> None:
        call_with_retries(
            lambda: TokenItem(hash_token(token)).update(actions=[TokenItem.revoked.set(True)]), what="revoke a token"
        )
