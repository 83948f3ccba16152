"""The fake 4Over supplier itself: it verifies signatures, is deterministic, logs requests, stops cleanly."""

import hashlib
import hmac
import socket
import time

import pytest
import urllib3

from apihub_fakes.fourover import DEFAULT_CREDENTIALS, generate_catalog, running_fake_fourover
from apihub_local.children import start_child

PATH = "/printproducts/products"


def _signed(credentials, method, path, timestamp):
    """Independent signer: the fake must accept exactly this and nothing else."""
    sig = hmac.new(
        credentials["private_key"].encode(), f"{method}{path}{timestamp}".encode(), hashlib.sha256
    ).hexdigest()
    return {"Authorization": f"hmac {credentials['api_key']}:{sig}", "X-Timestamp": str(timestamp)}


def _get(url, headers=None):
    return urllib3.request("GET", url, headers=headers or {}, retries=False, timeout=5)


@pytest.fixture(scope="module")
def fake():
    with running_fake_fourover(products=10, seed=2) as server:
        yield server


def test_correctly_signed_request_is_served(fake):
    resp = _get(f"{fake.base_url}{PATH}?perPage=3", _signed(fake.credentials, "GET", PATH, int(time.time())))
    body = resp.json()
    assert resp.status == 200
    assert [e["product_uuid"] for e in body["entities"]] == fake.catalog.ids()[:3]
    assert body["totalResults"] == 10 and body["maximumPages"] == 4


@pytest.mark.parametrize(
    ("headers_for", "reason"),
    [
        (lambda c, t: {}, "missing Authorization"),
        (lambda c, t: {**_signed(c, "GET", PATH, t), "Authorization": "hmac only-a-key"}, "must be 'hmac"),
        (lambda c, t: _signed({**c, "private_key": "wrong"}, "GET", PATH, t), "signature mismatch"),
        (lambda c, t: _signed({**c, "api_key": "stranger"}, "GET", PATH, t), "unknown api key"),
        (lambda c, t: _signed(c, "GET", PATH + "/other", t), "signature mismatch"),
        (lambda c, t: _signed(c, "POST", PATH, t), "signature mismatch"),
        (lambda c, t: _signed(c, "GET", PATH, t - 301), "outside the allowed window"),
        (lambda c, t: _signed(c, "GET", PATH, t + 301), "outside the allowed window"),
        (lambda c, t: {**_signed(c, "GET", PATH, t), "X-Timestamp": "soon"}, "Unix seconds"),
    ],
    ids=[
        "missing",
        "no-signature",
        "wrong-private-key",
        "unknown-api-key",
        "other-path",
        "other-method",
        "stale",
        "future",
        "bad-timestamp",
    ],
)
def test_fake_rejects_bad_signatures_with_401(fake, headers_for, reason):
    resp = _get(f"{fake.base_url}{PATH}", headers_for(fake.credentials, int(time.time())))
    assert resp.status == 401
    assert (
        reason.lower() in resp.json()["message"].lower() or resp.json()["message"] == "X-Timestamp must be Unix seconds"
    )


def test_timestamp_inside_the_window_is_accepted(fake):
    resp = _get(f"{fake.base_url}{PATH}", _signed(fake.credentials, "GET", PATH, int(time.time()) - 290))
    assert resp.status == 200


def test_query_string_is_not_part_of_the_signature(fake):
    resp = _get(f"{fake.base_url}{PATH}?offset=2&perPage=1", _signed(fake.credentials, "GET", PATH, int(time.time())))
    assert resp.status == 200 and resp.json()["entities"][0]["product_uuid"] == fake.catalog.ids()[2]


def test_catalog_is_deterministic_per_seed():
    assert generate_catalog(20, seed=4).ids() == generate_catalog(20, seed=4).ids()
    assert generate_catalog(20, seed=4).ids() != generate_catalog(20, seed=5).ids()
    one, again = generate_catalog(20, seed=4).products[3], generate_catalog(20, seed=4).products[3]
    assert one.baseprices_json() == again.baseprices_json() and one.optiongroups_json() == again.optiongroups_json()


def test_catalog_has_the_sets_tests_select_on():
    catalog = generate_catalog(100, seed=1)
    assert len(catalog.sellable_ids()) == 100 - 100 // 13
    assert len(catalog.closeout_ids()) > 0 and len(catalog.modified_ids()) > 0
    assert set(catalog.closeout_ids()) <= set(catalog.sellable_ids())


def test_request_log_records_method_path_and_status(fake):
    mark = len(fake.request_log)
    product = fake.catalog.ids()[0]
    path = f"{PATH}/{product}/baseprices"
    _get(f"{fake.base_url}{path}", _signed(fake.credentials, "GET", path, int(time.time())))
    entry = fake.request_log[mark]
    assert (entry.method, entry.path, entry.status, entry.product_id) == ("GET", path, 200, product)
    assert entry.time <= time.monotonic()


def test_latency_applies_to_every_call():
    with running_fake_fourover(products=2, latency_ms=150) as fake:
        started = time.monotonic()
        resp = _get(f"{fake.base_url}{PATH}", _signed(fake.credentials, "GET", PATH, int(time.time())))
        assert resp.status == 200
        assert time.monotonic() - started >= 0.15


def test_fake_stops_when_the_block_ends():
    with running_fake_fourover(products=1) as fake:
        host, port = fake.base_url.removeprefix("http://").split(":")
        assert host == "127.0.0.1"
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=1):
        pass


def test_runs_as_a_process_for_the_local_stack():
    # Started as the local stack starts it: one JSON line once listening, then serving until SIGTERM
    child = start_child("fake 4Over", ["-m", "apihub_fakes.fourover", "--port", "0", "--products", "4", "--seed", "9"])
    try:
        info = child.info
        assert info["api_key"] == DEFAULT_CREDENTIALS["api_key"]
        resp = _get(f"{info['base_url']}{PATH}", _signed(DEFAULT_CREDENTIALS, "GET", PATH, int(time.time())))
        assert [e["product_uuid"] for e in resp.json()["entities"]] == generate_catalog(4, seed=9).ids()
    finally:
        child.stop(grace_s=10)
    assert child.process.returncode == 0
