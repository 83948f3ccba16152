"""FourOverAdapter against a scripted HTTP client: paging, de-duplication, cursors, signing, config."""

import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from apihub.adapters.base import AdapterContext, DiscoveryRequest
from apihub.adapters.fourover import FourOverAdapter, sign
from apihub.adapters.fourover.adapter import parse_cursor
from apihub.adapters.http import HttpResponse
from apihub.errors import AuthError, ProductError
from apihub.models import DiscoveryMode, ProductRef
from apihub.supplier_models import Supplier

CREDS = {"api_key": "key-1", "private_key": "very-secret-private-key"}
NOW = 1_700_000_000


class ScriptedHttp:
    """Answers listing calls from a list of pages keyed by offset; records every request."""

    def __init__(self, pages=None, status=200, body=None):
        self.pages = pages or {}
        self.status = status
        self.body = body
        self.calls = []
        self.closed = False

    def request(self, method, url, *, body=None, headers=None):
        self.calls.append((method, url, dict(headers or {})))
        if self.body is not None:
            return HttpResponse(status=self.status, body=self.body)
        offset = int(parse_qs(urlsplit(url).query).get("offset", ["0"])[0])
        payload = self.pages.get(offset, {"entities": []})
        return HttpResponse(status=self.status, body=json.dumps(payload).encode())

    def close(self):
        self.closed = True


def _supplier(**config):
    if "config_base_url" in config:
        config["base_url"] = config.pop("config_base_url")
        supplier_base_url = None
    else:
        supplier_base_url = config.pop("base_url", "https://api.example.test/v1")
    return Supplier(
        id="sup-1",
        name="4Over",
        slug="fourover",
        protocol="rest_hmac",
        base_url=supplier_base_url,
        adapter_class="FourOverAdapter",
        protocol_config=config,
        created_at="2024-01-01T00:00:00.000Z",
    )


def _adapter(http, creds=CREDS, **config):
    return FourOverAdapter(_supplier(**config), AdapterContext(credentials=dict(creds)), http=http, clock=lambda: NOW)


def _rows(*ids):
    return [{"product_uuid": i} for i in ids]


def _ids(pages):
    return [r.product_id for p in pages for r in p.refs]


def test_duplicates_across_pages_are_dropped_keeping_first_order():
    # Given a listing whose second page repeats ids from the first (and no totals: a short page is last)
    http = ScriptedHttp(
        {0: {"entities": _rows("a", "b", "c")}, 3: {"entities": _rows("c", "d", "a")}, 6: {"entities": _rows("e")}}
    )
    # When discovering with page size 3
    pages = list(_adapter(http, page_size=3).discover(DiscoveryRequest(mode=DiscoveryMode.full_sellable)))
    # Then each id appears once, in first-seen order, and each cursor points past its page
    assert [_ids([p]) for p in pages] == [["a", "b", "c"], ["d"], ["e"]]
    assert [p.cursor for p in pages] == ["3:3", "6:4", None]


def test_first_n_counts_distinct_products_and_stops_listing():
    http = ScriptedHttp(
        {
            0: {"entities": _rows("a", "a", "b"), "totalResults": 9},
            3: {"entities": _rows("b", "c", "d"), "totalResults": 9},
        }
    )
    pages = list(_adapter(http, page_size=3).discover(DiscoveryRequest(mode=DiscoveryMode.first_n, limit=3)))
    assert _ids(pages) == ["a", "b", "c"]
    assert pages[-1].cursor is None
    assert len(http.calls) == 2  # the third page is never asked for


def test_cursor_resumes_after_the_page_it_came_from():
    listing = {
        0: {"entities": _rows("a", "b"), "totalResults": 5},
        2: {"entities": _rows("c", "d"), "totalResults": 5},
        4: {"entities": _rows("e"), "totalResults": 5},
    }
    first = next(
        iter(_adapter(ScriptedHttp(listing), page_size=2).discover(DiscoveryRequest(mode=DiscoveryMode.full_sellable)))
    )
    http = ScriptedHttp(listing)
    rest = list(_adapter(http, page_size=2).discover(DiscoveryRequest(mode=DiscoveryMode.full_sellable), first.cursor))
    assert _ids([first]) == ["a", "b"] and first.cursor == "2:2"
    assert _ids(rest) == ["c", "d", "e"]
    assert [parse_qs(urlsplit(url).query)["offset"] for _, url, _ in http.calls] == [["2"], ["4"]]


def test_first_n_resumed_from_a_cursor_counts_what_earlier_pages_yielded():
    listing = {2: {"entities": _rows("c", "d"), "totalResults": 6}, 4: {"entities": _rows("e", "f"), "totalResults": 6}}
    pages = list(
        _adapter(ScriptedHttp(listing), page_size=2).discover(
            DiscoveryRequest(mode=DiscoveryMode.first_n, limit=3), "2:2"
        )
    )
    assert _ids(pages) == ["c"]


@pytest.mark.parametrize("cursor", ["x", "-1:0", "3:y"])
def test_unreadable_cursor_fails_discovery_instead_of_restarting(cursor):
    with pytest.raises(ProductError, match="invalid discovery cursor"):
        list(_adapter(ScriptedHttp()).discover(DiscoveryRequest(mode=DiscoveryMode.full_sellable), cursor))


def test_cursor_parsing_accepts_a_bare_offset():
    assert parse_cursor(None) == (0, 0)
    assert parse_cursor("40") == (40, 0)
    assert parse_cursor("40:17") == (40, 17)


def test_empty_listing_yields_one_empty_last_page():
    pages = list(_adapter(ScriptedHttp()).discover(DiscoveryRequest(mode=DiscoveryMode.closeouts)))
    assert [(p.refs, p.cursor) for p in pages] == [([], None)]


def test_mode_filters_are_sent_as_query_parameters():
    http = ScriptedHttp()
    adapter = _adapter(http, page_size=50)
    since = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    for request in (
        DiscoveryRequest(mode=DiscoveryMode.full_sellable),
        DiscoveryRequest(mode=DiscoveryMode.closeouts),
        DiscoveryRequest(mode=DiscoveryMode.delta, since=since),
    ):
        list(adapter.discover(request))
    queries = [{k: v[0] for k, v in parse_qs(urlsplit(url).query).items()} for _, url, _ in http.calls]
    assert queries == [
        {"status": "active", "offset": "0", "perPage": "50"},
        {"status": "active", "closeout": "true", "offset": "0", "perPage": "50"},
        {"status": "active", "modified_since": "2024-05-01T08:30:00.000Z", "offset": "0", "perPage": "50"},
    ]


def test_explicit_list_makes_no_supplier_call():
    http = ScriptedHttp()
    pages = list(_adapter(http).discover(DiscoveryRequest(mode=DiscoveryMode.explicit_list, explicit_list=["x", "y"])))
    assert _ids(pages) == ["x", "y"] and http.calls == []


def test_requests_are_signed_over_the_full_path_without_the_query():
    http = ScriptedHttp()
    list(_adapter(http).discover(DiscoveryRequest(mode=DiscoveryMode.full_sellable)))
    _, url, headers = http.calls[0]
    assert urlsplit(url).path == "/v1/printproducts/products"
    expected = sign(CREDS["private_key"], "GET", "/v1/printproducts/products", str(NOW))
    assert headers["Authorization"] == f"hmac key-1:{expected}"
    assert headers["X-Timestamp"] == str(NOW)


def test_product_ids_are_percent_encoded_into_one_path_segment():
    http = ScriptedHttp(status=404, body=b"{}")
    with pytest.raises(ProductError, match=re.escape("404 product not found: a/../b")):
        _adapter(http).hydrate(ProductRef(product_id="a/../b"))
    assert urlsplit(http.calls[0][1]).path == "/v1/printproducts/products/a%2F..%2Fb"


def test_dot_segment_ids_are_refused_without_a_call():
    http = ScriptedHttp()
    with pytest.raises(ProductError, match="invalid product id"):
        _adapter(http).hydrate(ProductRef(product_id=".."))
    assert http.calls == []


def test_missing_credentials_are_an_auth_error_naming_the_field():
    with pytest.raises(AuthError, match="missing private_key"):
        _adapter(ScriptedHttp(), creds={"api_key": "k"}).hydrate(ProductRef(product_id="p"))


def test_missing_base_url_is_a_clear_error():
    with pytest.raises(ProductError, match="no base_url"):
        _adapter(ScriptedHttp(), base_url=None).hydrate(ProductRef(product_id="p"))


def test_base_url_may_come_from_protocol_config():
    http = ScriptedHttp()
    list(
        _adapter(http, base_url=None, config_base_url="https://alt.example.test").discover(
            DiscoveryRequest(mode=DiscoveryMode.full_sellable)
        )
    )
    assert http.calls[0][1].startswith("https://alt.example.test/printproducts/products?")


def test_supplier_error_text_never_echoes_the_private_key():
    body = json.dumps({"message": f"bad signature for key very-secret-private-key at {NOW}"}).encode()
    with pytest.raises(AuthError) as err:
        _adapter(ScriptedHttp(status=401, body=body)).hydrate(ProductRef(product_id="p"))
    assert CREDS["private_key"] not in str(err.value)
    assert "HTTP 401" in str(err.value) and "bad signature" in str(err.value)


def test_other_client_errors_fail_the_product_with_the_status():
    with pytest.raises(ProductError) as err:
        _adapter(ScriptedHttp(status=410, body=b'{"message": "gone"}')).hydrate(ProductRef(product_id="p"))
    assert err.value.code == "410" and "gone" in err.value.message


def test_timeouts_come_from_protocol_config_with_defaults():
    default = FourOverAdapter(_supplier(), AdapterContext(credentials=CREDS)).http
    tuned = FourOverAdapter(_supplier(connect_timeout=1.5, read_timeout="7"), AdapterContext(credentials=CREDS)).http
    assert (default._timeout.connect_timeout, default._timeout.read_timeout) == (5.0, 30.0)
    assert (tuned._timeout.connect_timeout, tuned._timeout.read_timeout) == (1.5, 7.0)


@pytest.mark.parametrize("value", [0, -1, "soon", None])
def test_bad_timeout_configuration_is_rejected(value):
    adapter = FourOverAdapter(_supplier(read_timeout=value), AdapterContext(credentials=CREDS))
    with pytest.raises(ProductError, match="read_timeout"):
        _ = adapter.http


def test_close_releases_the_client():
    http = ScriptedHttp()
    adapter = _adapter(http)
    adapter.close()
    assert http.closed
