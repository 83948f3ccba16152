"""Which supplier URLs may be called (no network: address literals and localhost only)."""

from __future__ import annotations

import pytest
from apihub.outbound import UnsafeUrl, check_url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.1/soap", "private-range"),
        ("https://192.168.1.20/", "private-range"),
        ("https://172.16.5.4/", "private-range"),
        ("https://224.0.0.1/", "multicast"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://[fe80::1]/", "link-local"),
        ("https://[::ffff:10.0.0.1]/", "private-range"),
        ("https://127.0.0.1/", "loopback"),
        ("https://localhost:8443/", "loopback"),
        ("http://93.184.216.34/", "https://"),
        ("ftp://93.184.216.34/", "https://"),
        ("https://user:pw@93.184.216.34/", "credentials"),
        ("https:///nohost", "host"),
    ],
)
def test_refused_destinations(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl) as err:
        check_url(url, allow_insecure=False)
    assert reason in str(err.value)


def test_public_https_is_allowed_and_pinned_to_the_checked_address() -> None:
    dest = check_url("https://93.184.216.34:8443/path", allow_insecure=False)
    assert dest is not None and (dest.address, dest.port, dest.scheme) == ("93.184.216.34", 8443, "https")


def test_local_mode_allows_http_and_loopback_but_never_metadata_or_private() -> None:
    assert check_url("http://127.0.0.1:9000/x", allow_insecure=True) is not None
    for url in ("http://169.254.169.254/", "http://10.0.0.1/"):
        with pytest.raises(UnsafeUrl):
            check_url(url, allow_insecure=True)


def test_unresolvable_names_are_left_to_call_time_when_saving() -> None:
    assert check_url("https://no-such-host.invalid/", allow_insecure=False, resolve_names=False) is None
    with pytest.raises(UnsafeUrl, match="cannot resolve"):
        check_url("https://no-such-host.invalid/", allow_insecure=False)
