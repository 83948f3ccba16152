"""The real PromoStandards adapters against the fake supplier on loopback: every discovery mode,
hydration, per-SKU faults, bad credentials, directory lookup, and XSD-valid replies."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
import urllib3
import xmlschema
from apihub.adapters.base import AdapterContext, DiscoveryRequest
from apihub.adapters.promostandards import PromoStandardsAdapter, SanMarAdapter
from apihub.adapters.promostandards.media import media_request
from apihub.adapters.promostandards.pricing import pricing_request
from apihub.errors import AuthError, ProductError, TransientError
from apihub.models import DiscoveryMode, ProductRef
from apihub.supplier_models import Supplier
from defusedxml.ElementTree import fromstring

from apihub_fakes.promostandards import (
    WSDL_DIR,
    FakePromoStandards,
    running_fake_promostandards,
    ss6030_get_product_response,
)
from apihub_fakes.promostandards.responses import media_images
from apihub_local.children import start_child

FAULTS = {
    "PSF00003": "130",
    "PSF00004": "malformed",
    "PSF00005": "http500",
    "PSF00006": "slow",
    "PSF00008": "pricing_error",
    "PSF00011": "media_error",
}
GOOD = ["PSF00001", "PSF00002", "PSF00007", "PSF00009", "PSF00010", "PSF00012", "PSF00013", "PSF00020"]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePromoStandards]:
    with running_fake_promostandards(products=40, seed=7, fault_skus=FAULTS, slow_ms=5000) as running:
        yield running


def make_supplier(protocol_config: dict, adapter_class: str = "PromoStandardsAdapter", code: str | None = None):
    return Supplier(
        id="sup-1",
        name="Fake PS",
        slug="fake-ps",
        protocol="promostandards",
        promostandards_code=code,
        adapter_class=adapter_class,
        protocol_config=protocol_config,
        created_at="2024-01-01T00:00:00.000Z",
    )


def make_adapter(fake: FakePromoStandards, credentials: dict | None = None, **config) -> PromoStandardsAdapter:
    supplier = make_supplier(fake.protocol_config(**config))
    return PromoStandardsAdapter(supplier, AdapterContext(credentials=credentials or fake.credentials))


def discovered(adapter, mode: DiscoveryMode, **kwargs) -> list[str]:
    return [ref.product_id for page in adapter.discover(DiscoveryRequest(mode=mode, **kwargs)) for ref in page.refs]


# --- discovery -------------------------------------------------------------------------------------


def test_full_sellable_lists_every_sellable_product_once_in_supplier_order(fake):
    ids = discovered(make_adapter(fake), DiscoveryMode.full_sellable)

    assert ids == fake.catalog.sellable_ids
    assert len(ids) == len(set(ids))
    assert fake.catalog.discontinued_ids and not set(fake.catalog.discontinued_ids) & set(ids)
    # The supplier's list is per part; de-duplication is what made it per product.
    assert len(fake.catalog.sellable_rows()) > len(ids)


def test_first_n_takes_the_first_limit_distinct_products(fake):
    assert discovered(make_adapter(fake), DiscoveryMode.first_n, limit=5) == fake.catalog.sellable_ids[:5]


def test_delta_asks_for_changes_since_the_given_time(fake):
    before = len(fake.calls_for("getProductDateModified"))

    ids = discovered(make_adapter(fake), DiscoveryMode.delta, since=fake.catalog.delta_since)

    assert ids == fake.catalog.modified_ids
    assert 0 < len(ids) < len(fake.catalog)
    assert len(fake.calls_for("getProductDateModified")) == before + 1


def test_delta_without_a_previous_sync_lists_everything_sellable(fake):
    assert discovered(make_adapter(fake), DiscoveryMode.delta) == fake.catalog.sellable_ids


def test_closeouts_list_products_with_closeout_parts(fake):
    ids = discovered(make_adapter(fake), DiscoveryMode.closeouts)
    assert ids == fake.catalog.closeout_ids
    assert ids


def test_explicit_list_makes_no_supplier_call(fake):
    calls_before = len(fake.calls)
    ids = discovered(make_adapter(fake), DiscoveryMode.explicit_list, explicit_list=["PSF00002", "NOPE"])
    assert ids == ["PSF00002", "NOPE"]
    assert len(fake.calls) == calls_before


def test_discovery_pages_resume_from_their_cursor(fake):
    adapter = make_adapter(fake, page_size=7)
    pages = list(adapter.discover(DiscoveryRequest(mode=DiscoveryMode.full_sellable)))

    assert [len(p.refs) for p in pages[:-1]] == [7] * (len(pages) - 1)
    assert [r.product_id for p in pages for r in p.refs] == fake.catalog.sellable_ids
    assert pages[-1].cursor is None
    resumed = list(adapter.discover(DiscoveryRequest(mode=DiscoveryMode.full_sellable), cursor=pages[0].cursor))
    assert [r.product_id for p in resumed for r in p.refs] == fake.catalog.sellable_ids[7:]


# --- hydration -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sku", GOOD)
def test_hydrate_returns_the_catalog_product_with_prices_and_images(fake, sku):
    expected = fake.catalog.get(sku)
    product = make_adapter(fake).hydrate(ProductRef(product_id=sku))

    assert product.product_id == sku
    assert product.name == expected.name
    assert product.brand == expected.brand
    assert product.description == expected.expected_description
    category = f"{expected.category} > {expected.sub_category}" if expected.sub_category else expected.category
    assert product.categories == [category]
    assert [(p.part_id, p.color, p.size, p.gtin, p.is_closeout) for p in product.parts] == [
        (p.part_id, p.color, p.size, p.gtin, p.is_closeout) for p in expected.parts
    ]
    # PPC net prices per part, breaks bounded by the next break.
    for part, fake_part in zip(product.parts, expected.parts, strict=True):
        assert [(b.quantity_min, b.price, b.price_type) for b in part.prices] == [
            (quantity, price, "Net") for quantity, price in fake_part.net_prices
        ]
        assert [b.quantity_max for b in part.prices] == [11, 71, None]
    assert [(g.group_name, g.prices[0].price) for g in product.prices] == [("List", expected.list_price)]
    # Primary image from getProduct (relative ones resolved against the endpoint) + media images.
    primary = product.images[0]
    assert primary.is_primary
    if "://" in expected.image:
        assert primary.url == expected.image
    else:
        assert primary.url == f"{fake.base_url}/{expected.image}"
    assert [i.url for i in product.images[1:]] == [m[0] for m in media_images(expected)]
    assert sum(i.is_primary for i in product.images) == 1
    assert product.is_closeout == expected.is_closeout
    assert product.last_change_date == expected.last_change
    assert product.notes == []


def test_a_part_without_apparel_size_has_no_size(fake):
    sku = next(p.product_id for p in fake.catalog.products[:20] if p.parts[0].size is None and p.product_id in GOOD)
    product = make_adapter(fake).hydrate(ProductRef(product_id=sku))
    assert all(part.size is None for part in product.parts)


def test_product_id_not_found_fails_the_product_with_the_stored_text(fake):
    with pytest.raises(ProductError) as caught:
        make_adapter(fake).hydrate(ProductRef(product_id="PSF00003"))
    assert caught.value.describe() == "ProductError: 130 Product Id not found"


def test_unknown_product_is_130_too(fake):
    with pytest.raises(ProductError, match=r"^130 Product Id not found$"):
        make_adapter(fake).hydrate(ProductRef(product_id="NO-SUCH-SKU"))


def test_malformed_reply_fails_the_product(fake):
    with pytest.raises(ProductError, match="not well-formed XML"):
        make_adapter(fake).hydrate(ProductRef(product_id="PSF00004"))


def test_http_500_is_transient(fake):
    with pytest.raises(TransientError, match="HTTP 500"):
        make_adapter(fake).hydrate(ProductRef(product_id="PSF00005"))


def test_slow_reply_past_the_read_timeout_is_transient(fake):
    adapter = make_adapter(fake, read_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(TransientError, match="timed out"):
        adapter.hydrate(ProductRef(product_id="PSF00006"))
    assert time.monotonic() - started < 3  # the configured timeout applied, not the 30 s default


def test_pricing_failure_is_noted_not_fatal(fake):
    product = make_adapter(fake).hydrate(ProductRef(product_id="PSF00008"))

    assert product.parts and all(part.prices == [] for part in product.parts)
    assert len(product.notes) == 1
    assert product.notes[0].startswith("pricing not imported: TransientError: supplier answered HTTP 500")
    assert len(product.images) > 1  # media still came in


def test_media_failure_is_noted_not_fatal(fake):
    product = make_adapter(fake).hydrate(ProductRef(product_id="PSF00011"))

    assert [image.is_primary for image in product.images] == [True]  # only getProduct's primary image
    assert product.notes == ["media not imported: ProductError: 130 Product Id not found"]
    assert all(part.prices for part in product.parts)


def test_without_pricing_and_media_endpoints_only_product_data_is_used(fake):
    adapter = PromoStandardsAdapter(
        make_supplier({"endpoints": {"product_data": fake.endpoints["product_data"]}}),
        AdapterContext(credentials=fake.credentials),
    )
    product = adapter.hydrate(ProductRef(product_id="PSF00001"))
    assert all(part.prices == [] for part in product.parts)
    assert len(product.images) == 1
    assert product.notes == []


# --- credentials -----------------------------------------------------------------------------------


def test_bad_credentials_fail_discovery_with_an_auth_error_naming_the_code(fake):
    adapter = make_adapter(fake, credentials={"id": "fake-account", "password": "wrong-Pa55word"})
    with pytest.raises(AuthError) as caught:
        discovered(adapter, DiscoveryMode.full_sellable)
    assert caught.value.code == "105"
    assert caught.value.describe().startswith("AuthError: 105 Authentication Credentials failed")
    assert "wrong-Pa55word" not in caught.value.describe()


def test_bad_credentials_fail_the_first_hydration_with_an_auth_error(fake):
    adapter = make_adapter(fake, credentials={"id": "someone-else", "password": "s3cret-value"})
    with pytest.raises(AuthError) as caught:
        adapter.hydrate(ProductRef(product_id="PSF00001"))
    assert caught.value.code == "105"
    assert "s3cret-value" not in str(caught.value) and "someone-else" not in str(caught.value)


def test_missing_password_is_110(fake):
    with pytest.raises(AuthError) as caught:
        make_adapter(fake, credentials={"id": "fake-account"}).hydrate(ProductRef(product_id="PSF00001"))
    assert caught.value.code == "110"


def test_missing_account_id_fails_before_any_call(fake):
    calls_before = len(fake.calls)
    with pytest.raises(AuthError, match="110"):
        discovered(make_adapter(fake, credentials={"password": "x"}), DiscoveryMode.full_sellable)
    assert len(fake.calls) == calls_before


def test_a_supplier_echoing_the_password_does_not_leak_it():
    echo = b"""<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>
    <p:GetProductResponse xmlns:p="http://www.promostandards.org/WSDL/ProductDataService/2.0.0/"
       xmlns="http://www.promostandards.org/WSDL/ProductDataService/2.0.0/SharedObjects/">
    <ServiceMessageArray><ServiceMessage><code>105</code>
    <description>Authentication Credentials failed for hunter2-secret</description><severity>Error</severity>
    </ServiceMessage></ServiceMessageArray></p:GetProductResponse></S:Body></S:Envelope>"""

    class Echo:
        def request(self, *args, **kwargs):
            from apihub.adapters.http import HttpResponse

            return HttpResponse(status=200, body=echo)

        def close(self):
            pass

    adapter = PromoStandardsAdapter(
        make_supplier({"endpoints": {"product_data": "https://supplier.invalid/pd"}}),
        AdapterContext(credentials={"id": "acct", "password": "hunter2-secret"}),
    )
    adapter._client = Echo()  # type: ignore[assignment]
    with pytest.raises(AuthError) as caught:
        adapter.hydrate(ProductRef(product_id="X"))
    assert "hunter2-secret" not in caught.value.describe()
    assert "***" in caught.value.describe()


# --- endpoints from the directory, SanMar defaults --------------------------------------------------


def test_endpoints_come_from_the_directory_and_are_cached_for_the_next_run(fake):
    updates: list[dict] = []
    config = {"directory_url": fake.directory_url}
    first = PromoStandardsAdapter(
        make_supplier(config, code=fake.company_code),
        AdapterContext(credentials=fake.credentials, on_config_update=updates.append),
    )
    calls_before = fake.directory_calls

    product = first.hydrate(ProductRef(product_id="PSF00001"))

    assert product.parts[0].prices  # PPC endpoint came from the directory too
    assert fake.directory_calls == calls_before + 1
    assert len(updates) == 1
    cache = updates[0]["directory_cache"]
    assert cache["endpoints"] == fake.endpoints

    second = PromoStandardsAdapter(
        make_supplier({**config, "directory_cache": cache}, code=fake.company_code),
        AdapterContext(credentials=fake.credentials, on_config_update=updates.append),
    )
    assert discovered(second, DiscoveryMode.first_n, limit=2) == fake.catalog.sellable_ids[:2]
    assert fake.directory_calls == calls_before + 1  # served from the cache
    assert len(updates) == 1


def test_sanmar_adapter_speaks_the_same_protocol(fake):
    adapter = SanMarAdapter(
        make_supplier(fake.protocol_config(), adapter_class="SanMarAdapter"),
        AdapterContext(credentials=fake.credentials),
    )
    assert discovered(adapter, DiscoveryMode.closeouts) == fake.catalog.closeout_ids
    assert adapter.hydrate(ProductRef(product_id="PSF00002")).name == fake.catalog.get("PSF00002").name


# --- the fake itself: official WSDL, XSD-valid replies, knobs, process mode -------------------------


def test_wsdl_is_served_as_the_vendored_static_file(fake):
    http = urllib3.PoolManager()
    response = http.request("GET", f"{fake.base_url}/productdata?wsdl")
    assert response.status == 200
    assert response.data == (WSDL_DIR / "ProductData-2.0.0/ProductDataService.wsdl").read_bytes()
    xsd = http.request("GET", f"{fake.base_url}/wsdl/ProductData-2.0.0/GetProductResponse.xsd")
    assert xsd.status == 200 and b"GetProductResponse" in xsd.data
    assert http.request("GET", f"{fake.base_url}/wsdl/../server.py").status == 404


RESPONSE_XSD = {
    "getProduct": "ProductData-2.0.0/GetProductResponse.xsd",
    "getProductSellable": "ProductData-2.0.0/GetProductSellableResponse.xsd",
    "getProductDateModified": "ProductData-2.0.0/GetProductDateModifiedResponse.xsd",
    "getProductCloseOut": "ProductData-2.0.0/GetProductCloseOutResponse.xsd",
    "getConfigurationAndPricing": "PricingAndConfiguration-1.0.0/GetConfigurationAndPricingResponse.xsd",
    "getMediaContent": "MediaContent-1.1.0/GetMediaContentResponse.xsd",
}


@pytest.fixture(scope="module")
def schemas() -> dict[str, xmlschema.XMLSchema]:
    return {operation: xmlschema.XMLSchema(str(WSDL_DIR / path)) for operation, path in RESPONSE_XSD.items()}


def good_creds(fake: FakePromoStandards) -> tuple[str, str]:
    return fake.credentials["id"], fake.credentials["password"]


def body_child(reply: bytes):
    root = fromstring(reply)
    body = next(child for child in root if child.tag.endswith("}Body"))
    return next(iter(body))


def test_every_reply_the_fake_produces_validates_against_the_official_xsds(schemas):
    faults = {"PSF00003": "130", "PSF00004": "malformed", "PSF00005": "http500", "PSF00011": "media_error"}
    with running_fake_promostandards(products=30, seed=3, fault_skus=faults, record=True) as fake:
        good = make_adapter(fake)
        for mode in (DiscoveryMode.full_sellable, DiscoveryMode.closeouts):
            discovered(good, mode)
        discovered(good, DiscoveryMode.delta, since=fake.catalog.delta_since)
        for product in fake.catalog.products:
            with contextlib.suppress(ProductError, TransientError):  # the faulty SKUs
                good.hydrate(ProductRef(product_id=product.product_id))
        bad = make_adapter(fake, credentials={"id": "x", "password": "y"})
        with pytest.raises(AuthError):
            discovered(bad, DiscoveryMode.closeouts)
        with pytest.raises(AuthError):
            bad.hydrate(ProductRef(product_id="A"))
        # PPC and Media error shapes: bad credentials, unknown product, unknown FOB point.
        http = urllib3.PoolManager()
        cases = [(("x", "y"), "PSF00001", "1"), (good_creds(fake), "NOPE", "1"), (good_creds(fake), "PSF00001", "99")]
        for credentials, product_id, fob in cases:
            http.request("POST", fake.endpoints["pricing"], body=pricing_request(credentials, product_id, fob))
            http.request("POST", fake.endpoints["media"], body=media_request(credentials, product_id))
        replies = list(fake.replies)

    operations = {reply.operation for reply in replies}
    assert operations == set(RESPONSE_XSD)
    checked = 0
    for reply in replies:
        if not reply.schema_valid:  # the deliberate malformed XML and HTTP 500 faults
            continue
        errors = list(schemas[reply.operation].iter_errors(body_child(reply.body)))
        assert errors == [], f"{reply.operation}: {errors[0]}"
        checked += 1
    assert checked >= 80
    assert sum(not reply.schema_valid for reply in replies) >= 2


def test_generated_ss6030_reply_validates_and_its_quirky_twin_does_not(schemas):
    assert list(schemas["getProduct"].iter_errors(body_child(ss6030_get_product_response(quirks=False)))) == []
    quirky = list(schemas["getProduct"].iter_errors(body_child(ss6030_get_product_response(quirks=True))))
    assert quirky and any("FobPointArray" in str(error) for error in quirky)


def test_same_seed_gives_the_same_catalog_and_latency_applies():
    with running_fake_promostandards(products=5, seed=11, latency_ms=150) as one:
        adapter = make_adapter(one)
        started = time.monotonic()
        discovered(adapter, DiscoveryMode.full_sellable)
        elapsed = time.monotonic() - started
        first = [(p.product_id, p.name, p.parts) for p in one.catalog.products]
    with running_fake_promostandards(products=5, seed=11) as two:
        second = [(p.product_id, p.name, p.parts) for p in two.catalog.products]
    assert first == second
    assert elapsed >= 0.15


def test_fake_runs_as_a_process_and_stops_on_sigterm():
    # Started as the local stack starts it: one JSON line once listening, then serving until SIGTERM
    args = ["-m", "apihub_fakes.promostandards", "--port", "0", "--products", "6", "--lifetime", "60"]
    child = start_child("fake PromoStandards supplier", args, ready_timeout_s=20)
    try:
        info = child.info
        assert info["base_url"].startswith("http://127.0.0.1:")
        adapter = PromoStandardsAdapter(
            make_supplier({"endpoints": info["endpoints"]}), AdapterContext(credentials=info["credentials"])
        )
        assert len(discovered(adapter, DiscoveryMode.first_n, limit=3)) == 3
    finally:
        child.stop(grace_s=20)
    assert child.process.returncode == 0


@pytest.mark.parametrize(("fault", "error"), [("http500", TransientError), ("malformed", ProductError)])
def test_a_failing_listing_call_fails_discovery_with_the_classified_error(fault, error):
    with running_fake_promostandards(products=5, seed=2, fail_operations={"getProductSellable": fault}) as fake:
        with pytest.raises(error):
            discovered(make_adapter(fake), DiscoveryMode.full_sellable)
        # The other listings still work.
        assert discovered(make_adapter(fake), DiscoveryMode.closeouts) == fake.catalog.closeout_ids
