"""The 4Over request signature: one string-to-sign, a fixed test vector (docs/adapters/fourover.md)."""

import hashlib
import hmac

from apihub.adapters.fourover import auth_headers, sign, string_to_sign

PRIVATE_KEY = "fake-private-key-0001"
API_KEY = "fake-api-key-0001"
METHOD = "GET"
PATH = "/printproducts/products/6e9f8c1a-0000-4000-8000-000000000001"
TIMESTAMP = "1700000000"
# Computed once, independently: hmac.new(PRIVATE_KEY, b"GET" + PATH + TIMESTAMP, sha256).hexdigest()
EXPECTED_SIGNATURE = "82df49dc5c54b66b982fbeaa00878d3f846ec9ed315d9d7a1ce8cfcc667d97f9"


def test_string_to_sign_is_method_path_timestamp_without_separators():
    assert string_to_sign(METHOD, PATH, TIMESTAMP) == f"GET{PATH}1700000000"


def test_string_to_sign_upper_cases_the_method():
    assert string_to_sign("get", "/p", "1") == "GET/p1"


def test_sign_matches_the_fixed_test_vector():
    assert sign(PRIVATE_KEY, METHOD, PATH, TIMESTAMP) == EXPECTED_SIGNATURE


def test_fixed_vector_agrees_with_an_independent_hmac():
    independent = hmac.new(PRIVATE_KEY.encode(), f"GET{PATH}{TIMESTAMP}".encode(), hashlib.sha256).hexdigest()
    assert independent == EXPECTED_SIGNATURE


def test_signature_depends_on_every_input():
    base = sign(PRIVATE_KEY, METHOD, PATH, TIMESTAMP)
    assert sign(PRIVATE_KEY + "x", METHOD, PATH, TIMESTAMP) != base
    assert sign(PRIVATE_KEY, "POST", PATH, TIMESTAMP) != base
    assert sign(PRIVATE_KEY, METHOD, PATH + "/baseprices", TIMESTAMP) != base
    assert sign(PRIVATE_KEY, METHOD, PATH, "1700000001") != base


def test_auth_headers_carry_key_and_signature_but_never_the_private_key():
    headers = auth_headers(API_KEY, PRIVATE_KEY, METHOD, PATH, TIMESTAMP)
    assert headers == {
        "Authorization": f"hmac {API_KEY}:{EXPECTED_SIGNATURE}",
        "X-Timestamp": TIMESTAMP,
    }
    assert all(PRIVATE_KEY not in value for value in headers.values())
