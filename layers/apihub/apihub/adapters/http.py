"""The one HTTP client every adapter uses for supplier calls.

Built on urllib3 (already in the Lambda runtime through botocore) rather than requests, because we
need hard control over what a supplier can make a worker do: connect/read timeouts, a response size
cap read in chunks, and no automatic redirects (a redirect target is user-controlled input).
Failures are classified into the adapter error types here, once, for every protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import urllib3

from apihub.errors import AuthError, TransientError

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class HttpClient:
    """Small, strict HTTP client. ``request`` raises ``TransientError`` for timeouts, connection
    failures, oversize bodies, 429 and 5xx; other statuses are returned for the adapter to judge."""

    def __init__(
        self,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        pool_size: int = 4,
    ) -> None:
        self.max_bytes = max_bytes
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self._pool = urllib3.PoolManager(maxsize=pool_size, retries=False, timeout=self._timeout)

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        try:
            resp = self._pool.request(method, url, body=body, headers=headers, preload_content=False, redirect=False)
        except urllib3.exceptions.TimeoutError as exc:
            raise TransientError(f"supplier call timed out ({type(exc).__name__}) calling {_safe(url)}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise TransientError(f"supplier unreachable ({type(exc).__name__}) calling {_safe(url)}") from None
        try:
            data = self._read_capped(resp, url)
        finally:
            resp.release_conn()
        out = HttpResponse(status=resp.status, body=data, headers=dict(resp.headers))
        if resp.status == 429 or resp.status >= 500:
            raise TransientError(
                f"supplier answered HTTP {resp.status} for {_safe(url)}",
                code=str(resp.status),
                retry_after=retry_after_seconds(out.header("Retry-After")),
            )
        if 300 <= resp.status < 400:
            raise TransientError(f"supplier redirected ({resp.status}) from {_safe(url)}; redirects are not followed")
        return out

    def _read_capped(self, resp: urllib3.BaseHTTPResponse, url: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in resp.stream(64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise TransientError(
                        f"supplier response from {_safe(url)} exceeded {self.max_bytes} bytes; not read further"
                    )
                chunks.append(chunk)
        except urllib3.exceptions.TimeoutError:
            raise TransientError(f"supplier call timed out reading {_safe(url)}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise TransientError(f"supplier connection broke ({type(exc).__name__}) reading {_safe(url)}") from None
        return b"".join(chunks)

    def close(self) -> None:
        self._pool.clear()


def raise_for_auth_status(status: int, what: str) -> None:
    if status in (401, 403):
        raise AuthError(f"supplier rejected credentials (HTTP {status}) for {what}", code=str(status))


def _safe(url: str) -> str:
    """The URL without its query string (which may carry keys) for error messages."""
    return url.split("?", 1)[0]
