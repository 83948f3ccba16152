"""Who may call what: token extraction, the authorizer decision, and role rules (read from the
route catalog, ``apihub.api.catalog``: each row lists the roles that may call it, or is public).

HTTP APIs answer 403 whenever a Lambda authorizer says ``isAuthorized: false`` and can only answer
401 by themselves when a *required* identity source is missing. We accept the token from either the
``auth_token`` cookie or ``Authorization: Bearer``, so no single source can be required. Hence:
the authorizer denies (403) an authenticated caller whose role does not allow the route, and passes
an unauthenticated request through with ``auth=anonymous`` and a reason, which the API layer's
middleware (``apihub.api.app``) turns into a 401 before any route code runs. See docs/auth.md.
When the tokens table is contended past botocore's retries, the authorizer cannot judge the token
either way: it passes the request through with ``auth=busy``, which the API layer answers with 503
and ``Retry-After`` (an authorizer that raised would make the gateway answer 500).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

from apihub.api.catalog import is_public, role_allows
from apihub.dal.retries import RetryPolicy, retryable_reason
from apihub.dal.tokens import TokensRepository, hash_token

# The role rules live beside the catalog rows they read (apihub.api.catalog), so that the API
# functions' gate (apihub.api.app) has them without this module's tokens table and its models.

__all__ = ["Principal", "authenticate", "authorizer_response", "is_public", "role_allows", "token_from"]


@dataclass(frozen=True)
class Principal:
    authenticated: bool
    role: str | None = None
    reason: str | None = None
    token_hash_prefix: str | None = None


def token_from(headers: dict[str, str] | None, cookies: list[str] | None) -> str | None:
    """The bearer token from ``Authorization`` or the ``auth_token`` cookie (HTTP API v2 puts
    cookies in their own list; a raw ``Cookie`` header is accepted too)."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    auth = lowered.get("authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    raw = list(cookies or [])
    if lowered.get("cookie"):
        raw.append(lowered["cookie"])
    for chunk in raw:
        jar = SimpleCookie()
        try:
            jar.load(chunk)
        except CookieError:
            continue
        if "auth_token" in jar and jar["auth_token"].value:
            return jar["auth_token"].value
    return None


def authenticate(token: str | None, repo: TokensRepository | None = None) -> Principal:
    if not token:
        return Principal(False, reason="missing token: send the auth_token cookie or Authorization: Bearer")
    if len(token) > 512:
        return Principal(False, reason="invalid token")
    record = (repo or TokensRepository()).lookup(token)
    # The record is found by the token's hash; compare the hashes again in constant time so that no
    # code path depends on how many characters of a guess were right.
    if record is None or not hmac.compare_digest(record.token_hash, hash_token(token)):
        return Principal(False, reason="invalid token")
    if record.revoked:
        return Principal(False, reason="token revoked")
    if record.expires_at is not None and record.expires_at <= time.time():
        return Principal(False, reason="token expired")
    return Principal(True, role=record.role, token_hash_prefix=record.token_hash[:12])


def authorizer_response(event: dict[str, Any], repo: TokensRepository | None = None) -> dict[str, Any]:
    """The HttpApi Lambda authorizer (payload 2.0, simple responses)."""
    method, _, route = str(event.get("routeKey", "")).partition(" ")
    if is_public(method, route):
        return {"isAuthorized": True, "context": {"auth": "public"}}
    try:
        principal = authenticate(token_from(event.get("headers"), event.get("cookies")), repo)
    except Exception as exc:
        reason = retryable_reason(exc)
        if reason is None:
            raise
        retry_after = str(RetryPolicy.from_settings().retry_after_s)
        return {"isAuthorized": True, "context": {"auth": "busy", "reason": reason, "retry_after": retry_after}}
    if not principal.authenticated:
        return {"isAuthorized": True, "context": {"auth": "anonymous", "reason": principal.reason or "invalid token"}}
    allowed = role_allows(principal.role, method, route)
    return {
        "isAuthorized": allowed,
        "context": {"auth": "token", "role": principal.role or "", "token": principal.token_hash_prefix or ""},
    }
