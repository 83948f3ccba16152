"""The one HTTP client every adapter uses for supplier calls.

Built on urllib3 (already in the Lambda runtime through botocore) rather than requests, because we
need hard control over what a supplier URL can make a worker do:

* every URL (and every redirect target) passes ``apihub.outbound.check_url`` before a connection,
  and the connection goes to the address that was checked (Host header, SNI and certificate
  checks still use the name), so DNS cannot swap in a private address between check and call;
* connect/read timeouts plus a total deadline, and a response size cap read in chunks;
* a ``CallGuard`` (the per-supplier rate limiter) is consulted before and told after every call,
  and gives the invocation's deadline: every timeout of a call (connect, each read, the total) is
  clamped to the time left before it, and a call that meets it raises ``OutOfTime`` (the work goes
  back on the queue unspent) rather than a ``TransientError`` (which costs a receive).

Failures are classified into the adapter error types here, once, for every protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import urllib3

from apihub.adapters.deadline import DEADLINE_SLACK_S, CallTime, limit_next_read, out_of_time
from apihub.errors import AuthError, ProductError, TransientError
from apihub.outbound import UnsafeUrl, check_url

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 3
REDIRECTS = (301, 302, 303, 307, 308)


class CallGuard(Protocol):
    """Consulted around every supplier call (see ``apihub.ratelimit``)."""

    def before_call(self) -> None:
        """Block briefly until the call may go, or raise ``Throttled``."""

    def after_call(self, status: int | None, retry_after: float | None) -> None:
        """``status`` None: no response (timeout, connection error)."""

    def time_left(self) -> float | None:
        """Seconds before this invocation's supplier calls must be done (None: no deadline)."""


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
    failures, oversize or too-slow bodies, 429 and 5xx, ``ProductError`` for a refused destination;
    other statuses are returned for the adapter to judge."""

    def __init__(
        self,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        total_timeout: float | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        pool_size: int = 4,
        allow_insecure: bool | None = None,
        guard: CallGuard | None = None,
        min_call_s: float | None = None,
    ) -> None:
        if allow_insecure is None or min_call_s is None:
            from apihub.settings import get_settings

            settings = get_settings()
            allow_insecure = settings.allow_insecure_urls if allow_insecure is None else allow_insecure
            min_call_s = settings.call_min_s if min_call_s is None else min_call_s
        self.allow_insecure = allow_insecure
        self.max_bytes = max_bytes
        self.guard = guard
        self.min_call_s = min_call_s
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.total_timeout = total_timeout or (connect_timeout + 2 * read_timeout)
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)  # before clamping
        self._pool = urllib3.PoolManager(maxsize=pool_size, retries=False, timeout=self._timeout)

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        for _ in range(MAX_REDIRECTS + 1):
            response = self._request_once(method, url, body=body, headers=headers)
            location = response.header("Location")
            if response.status not in REDIRECTS or not location:
                break
            # Follow the redirect ourselves so that its target passes the same checks.
            url = urljoin(url, location)
            if response.status == 303:
                method, body = "GET", None
        else:
            raise TransientError(f"supplier redirected more than {MAX_REDIRECTS} times from {_safe(url)}")
        if 300 <= response.status < 400:
            raise TransientError(f"supplier answered HTTP {response.status} without a usable Location for {_safe(url)}")
        return response

    def _request_once(
        self, method: str, url: str, *, body: bytes | None, headers: dict[str, str] | None
    ) -> HttpResponse:
        pool, target, host_header = self._pool_for(url)
        self._call_time(url)  # no waiting on the limiter for a call there is no time for
        if self.guard is not None:
            self.guard.before_call()  # its waits end by the deadline too
        call = self._call_time(url)
        status: int | None = None
        retry_after: float | None = None
        try:
            resp = self._open(pool, method, target, body, {**(headers or {}), "Host": host_header}, url, call)
            status = resp.status
            try:
                data = self._read_capped(resp, url, call)
            finally:
                resp.release_conn()
            out = HttpResponse(status=resp.status, body=data, headers=dict(resp.headers))
            retry_after = retry_after_seconds(out.header("Retry-After"))
        finally:
            if self.guard is not None:
                self.guard.after_call(status, retry_after)
        if resp.status == 429 or resp.status >= 500:
            raise TransientError(
                f"supplier answered HTTP {resp.status} for {_safe(url)}",
                code=str(resp.status),
                retry_after=retry_after,
            )
        return out

    def _pool_for(self, url: str) -> tuple[urllib3.HTTPConnectionPool, str, str]:
        """The pool for the checked address of ``url``, the request target and the Host header."""
        try:
            dest = check_url(url, allow_insecure=self.allow_insecure)
        except UnsafeUrl as exc:
            raise ProductError(f"refused to call {_safe(url)}: {exc}", code="unsafe_url") from None
        assert dest is not None
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = 443 if dest.scheme == "https" else 80
        host_header = dest.host if dest.port == default_port else f"{dest.host}:{dest.port}"
        pool_kwargs = {"server_hostname": dest.host, "assert_hostname": dest.host} if dest.scheme == "https" else None
        pool = self._pool.connection_from_host(dest.address, dest.port, scheme=dest.scheme, pool_kwargs=pool_kwargs)
        return pool, target, host_header

    def _open(
        self,
        pool: urllib3.HTTPConnectionPool,
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
        url: str,
        call: CallTime,
    ) -> urllib3.BaseHTTPResponse:
        """Send the request and read the status line and headers, within the call's time."""
        span = max(0.001, call.left())
        timeout = urllib3.Timeout(
            connect=min(self.connect_timeout, span), read=min(self.read_timeout, span), total=span
        )
        try:
            return pool.urlopen(
                method,
                target,
                body=body,
                headers=headers,
                preload_content=False,
                redirect=False,
                retries=False,
                timeout=timeout,
                assert_same_host=False,
            )
        except urllib3.exceptions.TimeoutError as exc:
            if call.deadline_met():
                raise out_of_time(_safe(url)) from None
            raise TransientError(f"supplier call timed out ({type(exc).__name__}) calling {_safe(url)}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise TransientError(f"supplier unreachable ({type(exc).__name__}) calling {_safe(url)}") from None

    def _call_time(self, url: str) -> CallTime:
        """This call's time; ``OutOfTime`` when the invocation has too little left to start it."""
        time_left = getattr(self.guard, "time_left", None)
        return CallTime.start(self.total_timeout, time_left() if time_left else None, self.min_call_s, _safe(url))

    def _read_capped(self, resp: urllib3.BaseHTTPResponse, url: str, call: CallTime) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                left = call.left()
                if left <= 0:
                    raise self._too_slow(url, call)
                limit_next_read(resp, min(self.read_timeout, left))
                # read1: whatever has arrived (up to 64 KiB), so a slow drip meets the deadline check
                chunk = resp.read1(64 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_bytes:
                    raise TransientError(
                        f"supplier response from {_safe(url)} exceeded {self.max_bytes} bytes; not read further"
                    )
                chunks.append(chunk)
        except urllib3.exceptions.TimeoutError:
            if call.left() <= DEADLINE_SLACK_S:
                raise self._too_slow(url, call) from None
            raise TransientError(f"supplier call timed out reading {_safe(url)}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise TransientError(f"supplier connection broke ({type(exc).__name__}) reading {_safe(url)}") from None
        return b"".join(chunks)

    def _too_slow(self, url: str, call: CallTime) -> Exception:
        if call.deadline_met():
            return out_of_time(_safe(url))
        return TransientError(
            f"supplier response from {_safe(url)} took longer than {self.total_timeout:.0f} s; abandoned"
        )

    def close(self) -> None:
        self._pool.clear()


def raise_for_auth_status(status: int, what: str) -> None:
    if status in (401, 403):
        raise AuthError(f"supplier rejected credentials (HTTP {status}) for {what}", code=str(status))


def _safe(url: str) -> str:
    """The URL without its query string (which may carry keys) for error messages."""
    return url.split("?", 1)[0]
