"""Which supplier URLs we may call: supplier endpoints, directory and image URLs are user input.

Only ``https`` URLs whose host resolves to public addresses are allowed. ``http`` and loopback are
allowed only when ``APIHUB_ALLOW_INSECURE_URLS`` is on (the local stack; off in the deployed
template). Link-local (incl. the instance metadata address 169.254.169.254), private ranges,
multicast, reserved and unspecified addresses are never allowed. The check runs when a supplier is
saved and again before every call (DNS can change); the HTTP client then connects to the very
address that was checked, so a second lookup cannot swap it.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class UnsafeUrl(ValueError):
    """The URL is not one we call. ``str()`` says why (safe to show: it names no credentials)."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # as written in the URL (for Host/SNI/certificate checks)
    port: int
    address: str  # the checked IP address to connect to


def _classify(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why this address is refused, or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _classify(ip.ipv4_mapped)
    if ip.is_link_local:
        return "a link-local address (e.g. the cloud metadata service)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_private:
        return "a private-range address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved or non-public address"
    return None


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise LookupError(f"cannot resolve host '{host}' ({exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str, *, allow_insecure: bool, resolve_names: bool = True) -> Destination | None:
    """Validate ``url``; return the destination to connect to. Raises ``UnsafeUrl``.

    With ``resolve_names=False`` (saving a supplier) a name that does not resolve is accepted (the
    call-time check will judge it); an address literal or a name resolving to a refused address
    is refused either way. Returns None only when the name could not be resolved in that mode."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL ({exc})") from None
    scheme = (parts.scheme or "").lower()
    if scheme not in ("https", "http"):
        raise UnsafeUrl("must be an https:// URL")
    if scheme == "http" and not allow_insecure:
        raise UnsafeUrl("must use https:// (http:// is allowed only in the local stack)")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("must name a host")
    if parts.username or parts.password:
        raise UnsafeUrl("must not carry credentials in the URL")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except LookupError as exc:
            if not resolve_names:
                return None
            raise UnsafeUrl(str(exc)) from None
    for address in addresses:
        reason = _classify(ipaddress.ip_address(address))
        if reason is None:
            continue
        if reason == "a loopback address" and allow_insecure:
            continue
        raise UnsafeUrl(f"host '{host}' resolves to {reason} ({address}), which is not allowed")
    return Destination(scheme=scheme, host=host, port=port, address=addresses[0])
