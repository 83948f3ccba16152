"""FourOverAdapter against the fake 4Over supplier on loopback: every mode, hydration, error mapping."""

import math
from urllib.parse import parse_qs

import pytest
from apihub.adapters.base import AdapterContext, DiscoveryRequest
from apihub.adapters.fourover import FourOverAdapter
from apihub.adapters.registry import build_adapter
from apihub.errors import AuthError, ProductError, TransientError
from apihub.models import DiscoveryMode, ProductRef
from apihub.supplier_models import Supplier

from apihub_fakes.fourover import DELTA_SINCE, Fault, running_fake_fourover

PAGE_SIZE = 7


def _supplier(base_url, **config):
    return Supplier(
        id="sup-4over",
        name="4Over",
        slug="fourover",
        protocol="rest_hmac",
        base_url=base_url,
        adapter_class="FourOverAdapter",
        protocol_config={"page_size": PAGE_SIZE, **config},
        created_at="2024-01-01T00:00:00.000Z",
    )


def _adapter(fake, credentials=None, **config):
    adapter = FourOverAdapter(
        _supplier(fake.base_url, **config), AdapterContext(credentials=credentials or fake.credentials)
    )
    return adapter


@pytest.fixture(scope="module")
def fake():
    with running_fake_fourover(products=40, seed=7) as server:
        yield server


@pytest.fixture
def adapter(fake):
    adapter = _adapter(fake)
    yield adapter
    adapter.close()


def _discover(adapter, **request):
    return list(adapter.discover(DiscoveryRequest(**request)))


def _ids(pages):
    return [ref.product_id for page in pages for ref in page.refs]


def _listing_queries(fake, since_index=0):
    return [
        {k: v[0] for k, v in parse_qs(r.query).items()}
        for r in fake.request_log[since_index:]
        if r.path == "/printproducts/products"
    ]


# ---- discovery ------------------------------------------------------------------------------------


def test_full_sellable_lists_every_active_product_page_by_page(fake, adapter):
    mark = len(fake.request_log)
    pages = _discover(adapter, mode=DiscoveryMode.full_sellable)
    expected = fake.catalog.sellable_ids()
    assert _ids(pages) == expected
    assert len(expected) < len(fake.catalog)  # inactive products exist and were left out
    assert len(pages) == math.ceil(len(expected) / PAGE_SIZE)
    assert [q["offset"] for q in _listing_queries(fake, mark)] == [str(i * PAGE_SIZE) for i in range(len(pages))]
    assert pages[-1].cursor is None and all(p.cursor for p in pages[:-1])


def test_discovery_resumes_from_a_page_cursor(fake, adapter):
    pages = _discover(adapter, mode=DiscoveryMode.full_sellable)
    resumed = list(adapter.discover(DiscoveryRequest(mode=DiscoveryMode.full_sellable), pages[1].cursor))
    assert _ids(resumed) == _ids(pages[2:])


def test_delta_lists_products_modified_since(fake, adapter):
    mark = len(fake.request_log)
    refs = _ids(_discover(adapter, mode=DiscoveryMode.delta, since=DELTA_SINCE))
    assert refs == fake.catalog.modified_ids(DELTA_SINCE)
    assert 0 < len(refs) < len(fake.catalog.sellable_ids())
    assert _listing_queries(fake, mark)[0]["modified_since"] == "2024-01-01T00:00:00.000Z"


def test_closeouts_lists_the_closeout_set(fake, adapter):
    refs = _ids(_discover(adapter, mode=DiscoveryMode.closeouts))
    assert refs == fake.catalog.closeout_ids()
    assert refs and all(fake.catalog[i].closeout for i in refs)


def test_first_n_takes_the_first_n_and_stops_listing(fake, adapter):
    mark = len(fake.request_log)
    pages = _discover(adapter, mode=DiscoveryMode.first_n, limit=10)
    assert _ids(pages) == fake.catalog.sellable_ids()[:10]
    assert len(_listing_queries(fake, mark)) == 2  # 7 + 3: the third page is never fetched


def test_explicit_list_calls_nobody(fake, adapter):
    mark = len(fake.request_log)
    pages = _discover(adapter, mode=DiscoveryMode.explicit_list, explicit_list=["x-1", "x-2"])
    assert _ids(pages) == ["x-1", "x-2"]
    assert fake.request_log[mark:] == []


# ---- hydration ------------------------------------------------------------------------------------


def _sized_product(fake):
    return next(p for p in fake.catalog.products if len(p.sizes) >= 3 and any(s.code == "2XL" for s in p.sizes))


def test_hydrate_maps_product_options_and_prices_to_canonical_values(fake, adapter):
    source = _sized_product(fake)
    product = adapter.hydrate(ProductRef(product_id=source.uuid))

    assert product.product_id == source.uuid
    assert product.name == source.name and product.brand == source.brand
    assert product.description == source.description
    assert product.categories == [source.category]
    assert product.is_closeout == source.closeout
    assert product.last_change_date == source.modified_on
    assert product.notes == []
    # parts: colours x sizes, the imprint-method group does not multiply them
    assert [(p.part_id, p.color, p.size) for p in product.parts] == [
        (f"{source.code}-{c.code}-{s.code}", c.name, s.name) for c in source.colors for s in source.sizes
    ]
    # product prices: unit price per run size, from each run size to the next one minus one
    base = [bp for bp in source.base_prices if not bp.option_uuids]
    assert [(b.quantity_min, b.quantity_max, b.price) for b in product.prices[0].prices] == [
        (12, 47, base[0].unit_cents / 100),
        (48, 143, base[1].unit_cents / 100),
        (144, 499, base[2].unit_cents / 100),
        (500, None, base[3].unit_cents / 100),
    ]
    # part prices: 2XL carries the fake's 2.00 upcharge, other sizes the base price
    for part in product.parts:
        upcharge = 2.0 if part.size in ("2XL", "3XL") else 0.0
        assert [b.price for b in part.prices] == [round(bp.unit_cents / 100 + upcharge, 2) for bp in base]
    assert product.images[0].url == f"{fake.base_url}/images/{source.code}.jpg"
    assert product.images[0].is_primary


def test_hydrate_sizeless_product_has_colour_only_parts(fake, adapter):
    source = next(p for p in fake.catalog.products if not p.sizes)
    product = adapter.hydrate(ProductRef(product_id=source.uuid))
    assert [(p.color, p.size) for p in product.parts] == [(c.name, None) for c in source.colors]


def test_hydrate_every_discovered_product(fake, adapter):
    ids = _ids(_discover(adapter, mode=DiscoveryMode.closeouts))
    products = [adapter.hydrate(ProductRef(product_id=i)) for i in ids]
    assert [p.product_id for p in products] == ids
    assert all(p.is_closeout and p.parts and all(part.is_closeout for part in p.parts) for p in products)


def test_unknown_product_is_a_product_error(adapter):
    with pytest.raises(ProductError) as err:
        adapter.hydrate(ProductRef(product_id="no-such-product"))
    assert err.value.code == "404"
    assert err.value.describe() == "ProductError: 404 product not found: no-such-product"


def test_product_id_with_a_slash_stays_one_segment(fake, adapter):
    mark = len(fake.request_log)
    with pytest.raises(ProductError, match="404"):
        adapter.hydrate(ProductRef(product_id="../products"))
    assert fake.request_log[mark].path == "/printproducts/products/..%2Fproducts"
    assert fake.request_log[mark].status == 404  # signed correctly, then not found


def test_registry_builds_a_working_adapter(fake):
    adapter = build_adapter(_supplier(fake.base_url), AdapterContext(credentials=fake.credentials))
    assert isinstance(adapter, FourOverAdapter)
    assert _ids(_discover(adapter, mode=DiscoveryMode.first_n, limit=2)) == fake.catalog.sellable_ids()[:2]


def test_base_url_with_a_path_prefix_is_signed_in_full():
    with running_fake_fourover(products=5, seed=3, path_prefix="/api/v2") as fake:
        adapter = _adapter(fake)
        assert fake.base_url.endswith("/api/v2")
        ids = _ids(_discover(adapter, mode=DiscoveryMode.full_sellable))
        assert ids == fake.catalog.sellable_ids()
        assert adapter.hydrate(ProductRef(product_id=ids[0])).product_id == ids[0]


# ---- credentials ----------------------------------------------------------------------------------


def test_wrong_private_key_fails_discovery_with_auth_error_and_no_key_in_text(fake):
    wrong = {"api_key": fake.credentials["api_key"], "private_key": "not-the-right-private-key"}
    adapter = _adapter(fake, credentials=wrong)
    with pytest.raises(AuthError) as err:
        _discover(adapter, mode=DiscoveryMode.full_sellable)
    assert err.value.code == "401"
    assert "signature mismatch" in err.value.message
    assert "not-the-right-private-key" not in err.value.describe()


def test_wrong_api_key_fails_hydration_with_auth_error(fake):
    adapter = _adapter(fake, credentials={"api_key": "nobody", "private_key": fake.credentials["private_key"]})
    with pytest.raises(AuthError, match="HTTP 401"):
        adapter.hydrate(ProductRef(product_id=fake.catalog.ids()[0]))


def test_supplier_rejecting_the_account_is_an_auth_error():
    with running_fake_fourover(products=3, bad_credentials=True) as fake, pytest.raises(AuthError, match="HTTP 401"):
        _discover(_adapter(fake), mode=DiscoveryMode.closeouts)


# ---- faults ---------------------------------------------------------------------------------------


@pytest.fixture
def faulty():
    with running_fake_fourover(products=12, seed=5) as server:
        yield server


def _first(faulty, n=0):
    return faulty.catalog.ids()[n]


def test_forbidden_is_an_auth_error(faulty):
    sku = _first(faulty)
    faulty.set_fault(sku, "403")
    with pytest.raises(AuthError) as err:
        _adapter(faulty).hydrate(ProductRef(product_id=sku))
    assert err.value.code == "403"


def test_server_error_is_transient(faulty):
    sku = _first(faulty)
    faulty.set_fault(sku, "500")
    with pytest.raises(TransientError) as err:
        _adapter(faulty).hydrate(ProductRef(product_id=sku))
    assert err.value.code == "500"


def test_throttling_is_transient_with_retry_after(faulty):
    sku = _first(faulty)
    faulty.set_fault(sku, Fault("429", retry_after=7))
    with pytest.raises(TransientError) as err:
        _adapter(faulty).hydrate(ProductRef(product_id=sku))
    assert err.value.code == "429" and err.value.retry_after == 7.0


def test_transient_fault_then_recovery_hydrates_on_retry(faulty):
    sku = _first(faulty)
    faulty.set_fault(sku, Fault("503", retry_after=1, times=1))
    adapter = _adapter(faulty)
    with pytest.raises(TransientError) as err:
        adapter.hydrate(ProductRef(product_id=sku))
    assert err.value.retry_after == 1.0
    assert adapter.hydrate(ProductRef(product_id=sku)).product_id == sku


def test_listing_outage_is_transient_at_discovery():
    with (
        running_fake_fourover(products=5, list_fault=Fault("503", retry_after=12)) as fake,
        pytest.raises(TransientError) as err,
    ):
        _discover(_adapter(fake), mode=DiscoveryMode.full_sellable)
    assert err.value.retry_after == 12.0


def test_malformed_product_json_fails_that_product(faulty):
    sku = _first(faulty)
    faulty.set_fault(sku, "malformed")
    with pytest.raises(ProductError) as err:
        _adapter(faulty).hydrate(ProductRef(product_id=sku))
    assert err.value.code == "malformed" and sku in err.value.message


def test_malformed_base_prices_keep_the_product_with_a_note(faulty):
    sku = _first(faulty)
    faulty.set_fault(sku, Fault("malformed", resources=("baseprices",)))
    product = _adapter(faulty).hydrate(ProductRef(product_id=sku))
    assert product.prices == [] and all(part.prices == [] for part in product.parts)
    assert product.parts and product.notes == [
        f"base prices unavailable: malformed JSON in base prices response for {sku}"
    ]


def test_missing_option_groups_fail_the_product(faulty):
    sku = _first(faulty)
    faulty.set_fault(sku, Fault("404", resources=("optiongroups",)))
    with pytest.raises(ProductError, match="404 option groups not found"):
        _adapter(faulty).hydrate(ProductRef(product_id=sku))


def test_malformed_listing_is_transient():
    listing = running_fake_fourover(products=5, list_fault="malformed")
    with listing as fake, pytest.raises(TransientError, match="malformed JSON in product listing"):
        _discover(_adapter(fake), mode=DiscoveryMode.full_sellable)


def test_slow_supplier_times_out_as_transient(faulty):
    sku = _first(faulty)
    faulty.set_fault(sku, Fault("slow", delay_s=5))
    adapter = _adapter(faulty, read_timeout=0.3)
    with pytest.raises(TransientError, match="timed out"):
        adapter.hydrate(ProductRef(product_id=sku))
    # other products are unaffected
    assert adapter.hydrate(ProductRef(product_id=_first(faulty, 1))).product_id == _first(faulty, 1)
