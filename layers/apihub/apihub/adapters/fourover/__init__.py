"""4Over-style REST + HMAC supplier adapter (docs/adapters/fourover.md)."""

from apihub.adapters.fourover.adapter import FourOverAdapter
from apihub.adapters.fourover.signing import auth_headers, sign, string_to_sign

__all__ = ["FourOverAdapter", "auth_headers", "sign", "string_to_sign"]
