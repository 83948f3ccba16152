"""Inventory 2.0.0 end to end on loopback: the PromoStandards adapter reading the fake supplier's
stock over HTTP (endpoints configured or from the directory), every code class, deterministic stock
and its churn, and the fake's replies validated against the RC4 XSD."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import pytest
import xmlschema
from apihub.adapters.base import AdapterContext
from apihub.adapters.promostandards import PromoStandardsAdapter, SanMarAdapter
from apihub.errors import AuthError, ProductError, TransientError
from apihub.inventory.models import Inventory
from apihub.models import ProductRef
from apihub.supplier_models import Supplier
from defusedxml.ElementTree import fromstring

from apihub_fakes.promostandards import WSDL_DIR, FakePromoStandards, running_fake_promostandards
from apihub_fakes.promostandards.stock import STOCK_CHURN_ENV, StockLedger

FAULTS = {
    "PSF00002": "600",
    "PSF00004": "630",
    "PSF00005": "100",
    "PSF00007": "104",
    "PSF00008": "105",
    "PSF00010": "110",
    "PSF00011": "999",
    "PSF00013": "http500",
    "PSF00014": "slow",
    "PSF00016": "610",
    "PSF00017": "620",
    "PSF00019": "125",
    "PSF00020": "130",
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePromoStandards]:
    with running_fake_promostandards(products=24, seed=5, fault_skus=FAULTS, slow_ms=4000, stock_churn=0) as running:
        yield running


def supplier(protocol_config: dict, code: str | None = None, adapter_class: str = "PromoStandardsAdapter") -> Supplier:
    return Supplier(
        id="sup-inv",
        name="Fake PS",
        slug="fake-ps",
        protocol="promostandards",
        promostandards_code=code,
        adapter_class=adapter_class,
        protocol_config=protocol_config,
        created_at="2024-01-01T00:00:00.000Z",
    )


def adapter(fake: FakePromoStandards, **config) -> PromoStandardsAdapter:
    return PromoStandardsAdapter(supplier(fake.protocol_config(**config)), AdapterContext(credentials=fake.credentials))


def read(adapter: PromoStandardsAdapter, product_id: str) -> Inventory:
    return adapter.inventory(ProductRef(product_id=product_id))


def test_the_adapter_serves_inventory_and_reads_every_part_and_warehouse(fake):
    product = fake.catalog.get("PSF00001")
    assert PromoStandardsAdapter.serves_inventory and SanMarAdapter.serves_inventory

    found = read(adapter(fake), "PSF00001")

    assert found.product_id == "PSF00001" and found.notes == []
    assert [p.part_id for p in found.parts] == [p.part_id for p in product.parts]
    expected = {s.part.part_id: s for s in StockLedger(5, 0).read(product)}
    for part in found.parts:
        stock = expected[part.part_id]
        assert (part.color, part.size, part.uom) == (stock.part.color, stock.part.size, "EA")
        assert part.quantity_available == stock.total
        assert [(loc.location_id, loc.quantity) for loc in part.locations] == [
            (loc.location_id, loc.quantity) for loc in stock.locations
        ]
        assert [[(f.quantity, f.available_on) for f in loc.future] for loc in part.locations] == [
            [(f.quantity, f.available_on.date()) for f in loc.future] for loc in stock.locations
        ]
        assert part.last_modified == stock.last_modified
    assert len({loc.location_id for part in found.parts for loc in part.locations}) >= 2
    assert any(loc.future for part in found.parts for loc in part.locations)


def test_products_without_quantity_available_get_the_sum_of_their_warehouses(fake):
    # The fake leaves quantityAvailable out for product numbers divisible by 3.
    found = read(adapter(fake), "PSF00003")
    assert found.parts
    for part in found.parts:
        assert part.quantity_available == sum(loc.quantity or 0 for loc in part.locations)


@pytest.mark.parametrize(
    ("sku", "error", "code"),
    [
        ("PSF00002", ProductError, "600"),
        ("PSF00004", ProductError, "630"),
        ("PSF00020", ProductError, "600"),  # unknown to the catalog
        ("NOPE", ProductError, "600"),
        ("PSF00005", AuthError, "100"),
        ("PSF00007", AuthError, "104"),
        ("PSF00008", AuthError, "105"),
        ("PSF00010", AuthError, "110"),
        ("PSF00011", TransientError, "999"),
        ("PSF00013", TransientError, None),
    ],
)
def test_each_code_class_raises_its_error(fake, sku, error, code):
    with pytest.raises(error) as caught:
        read(adapter(fake), sku)
    assert type(caught.value) is error
    if code is not None:
        assert caught.value.code == code


def test_a_reply_slower_than_the_read_timeout_is_transient(fake):
    with pytest.raises(TransientError):
        read(adapter(fake, read_timeout=0.5), "PSF00014")


@pytest.mark.parametrize(("sku", "code"), [("PSF00016", "610"), ("PSF00017", "620"), ("PSF00019", "125")])
def test_note_codes_keep_the_stock_and_are_recorded(fake, sku, code):
    found = read(adapter(fake), sku)
    assert found.parts and all(part.locations for part in found.parts)
    assert len(found.notes) == 1 and found.notes[0].startswith(f"{code} ")


def test_wrong_credentials_are_an_auth_error_and_the_password_is_not_echoed(fake):
    bad = PromoStandardsAdapter(
        supplier(fake.protocol_config()), AdapterContext(credentials={"id": "x", "password": "s3cret"})
    )
    with pytest.raises(AuthError) as caught:
        read(bad, "PSF00001")
    assert caught.value.code == "105" and "s3cret" not in caught.value.message


def test_the_endpoint_comes_from_the_directory_when_not_configured(fake):
    # Given a supplier configured with a company code only
    config = {"directory_url": fake.directory_url}
    found = PromoStandardsAdapter(
        supplier(config, code=fake.company_code), AdapterContext(credentials=fake.credentials)
    )
    # Then Inventory 2.0.0 (not the 1.2.1 entry) is read from the directory's endpoint
    assert read(found, "PSF00001").parts


def test_the_directory_supplies_inventory_when_only_the_catalog_services_are_configured(fake):
    endpoints = {k: v for k, v in fake.endpoints.items() if k != "inventory"}
    config = {"endpoints": endpoints, "directory_url": fake.directory_url}
    calls = fake.directory_calls
    found = PromoStandardsAdapter(
        supplier(config, code=fake.company_code), AdapterContext(credentials=fake.credentials)
    )
    assert read(found, "PSF00001").parts
    assert fake.directory_calls == calls + 1


def test_inventory_switched_off_fails_the_product_naming_the_setting(fake):
    config = {"endpoints": {**fake.endpoints, "inventory": ""}, "directory_url": fake.directory_url}
    off = PromoStandardsAdapter(supplier(config, code=fake.company_code), AdapterContext(credentials=fake.credentials))
    with pytest.raises(ProductError) as caught:
        read(off, "PSF00001")
    assert "protocol_config.endpoints.inventory" in caught.value.message


def test_stock_is_deterministic_and_churns_by_the_knob(monkeypatch):
    # Given two fakes with the same seed and no churn, and one with every part churning
    with running_fake_promostandards(products=6, seed=9, stock_churn=0) as one:
        first = [read(adapter(one), "PSF00001") for _ in range(3)]
    with running_fake_promostandards(products=6, seed=9, stock_churn=0) as two:
        again = read(adapter(two), "PSF00001")
    # Then the same seed answers the same stock, and without churn it never changes
    assert first[0] == first[1] == first[2] == again
    # And with the environment knob at 1 every part changes on every later call
    monkeypatch.setenv(STOCK_CHURN_ENV, "1")
    with running_fake_promostandards(products=6, seed=9) as churning:
        reads = [read(adapter(churning), "PSF00001") for _ in range(3)]
    assert reads[0] == again  # the first call answers the seed's stock
    for before, after in itertools.pairwise(reads):
        changed = [a for a, b in zip(before.parts, after.parts, strict=True) if a != b]
        assert len(changed) == len(after.parts)
        assert all(a.last_modified > b.last_modified for a, b in zip(after.parts, before.parts, strict=True))


def test_a_partial_churn_changes_about_that_share_of_parts():
    with running_fake_promostandards(products=40, seed=2, stock_churn=0.25) as fake:
        ps = adapter(fake)
        products = fake.catalog.product_ids
        before = {pid: read(ps, pid) for pid in products}
        after = {pid: read(ps, pid) for pid in products}
    parts = [(a, b) for pid in products for a, b in zip(before[pid].parts, after[pid].parts, strict=True)]
    share = sum(a.last_modified != b.last_modified for a, b in parts) / len(parts)
    assert 0.15 < share < 0.35, share


def test_a_bad_churn_knob_is_refused_naming_it(monkeypatch, capsys):
    monkeypatch.setenv(STOCK_CHURN_ENV, "lots")
    with pytest.raises(ValueError, match=STOCK_CHURN_ENV):
        FakePromoStandards(products=1, seed=1)
    # As the local stack starts it: a usage error naming the variable, not a traceback
    from apihub_fakes.promostandards.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(["--port", "0", "--products", "1"])
    assert exited.value.code == 2
    assert f"{STOCK_CHURN_ENV}='lots': must be a number between 0 and 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--port", "0", "--products", "1", "--stock-churn", "1.5"])


# --- the fake's replies against the RC4 XSD ---------------------------------------------------------


@pytest.fixture(scope="module")
def inventory_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(WSDL_DIR / "Inventory-2.0.0RC4/GetInventoryLevelsResponse.xsd"))


def body_child(reply: bytes):
    root = fromstring(reply)
    body = next(child for child in root if child.tag.endswith("}Body"))
    return next(iter(body))


def test_every_inventory_reply_of_the_fake_validates_against_the_rc4_xsd(inventory_schema):
    faults = {k: v for k, v in FAULTS.items() if v not in ("slow",)}
    with running_fake_promostandards(products=24, seed=5, fault_skus=faults, record=True, stock_churn=0.5) as fake:
        good = adapter(fake)
        for _ in range(2):  # a second round: churned stock
            for product_id in [*fake.catalog.product_ids, "NOPE"]:
                with contextlib.suppress(ProductError, TransientError, AuthError):
                    read(good, product_id)
        bad = PromoStandardsAdapter(supplier(fake.protocol_config()), AdapterContext(credentials={"id": "x"}))
        with pytest.raises(AuthError):
            read(bad, "PSF00001")
        replies = [reply for reply in fake.replies if reply.operation == "getInventoryLevels"]

    checked = 0
    for reply in replies:
        if not reply.schema_valid:  # the deliberate HTTP 500 fault
            continue
        errors = list(inventory_schema.iter_errors(body_child(reply.body)))
        assert errors == [], errors[0]
        checked += 1
    assert checked >= 45
    bodies = b"".join(reply.body for reply in replies)
    for shape in (b"<FutureAvailabilityArray>", b"<quantityAvailable>", b"<code>600</code>", b"<code>610</code>"):
        assert shape in bodies


def test_the_inventory_wsdl_is_served_as_the_vendored_file(fake):
    import urllib3

    response = urllib3.PoolManager().request("GET", f"{fake.base_url}/inventory?wsdl")
    assert response.status == 200
    assert response.data == (WSDL_DIR / "Inventory-2.0.0RC4/InventoryService.wsdl").read_bytes()


def test_a_supplier_echoing_the_password_in_an_inventory_reply_does_not_leak_it():
    echo = """<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>
    <p:GetInventoryLevelsResponse xmlns:p="http://www.promostandards.org/WSDL/Inventory/2.0.0/"
       xmlns="http://www.promostandards.org/WSDL/Inventory/2.0.0/SharedObjects/">
    <ServiceMessageArray><ServiceMessage><code>{code}</code>
    <description>No access for hunter2-secret</description><severity>Error</severity>
    </ServiceMessage></ServiceMessageArray></p:GetInventoryLevelsResponse></S:Body></S:Envelope>"""

    class Echo:
        body = b""

        def request(self, *args, **kwargs):
            from apihub.adapters.http import HttpResponse

            return HttpResponse(status=200, body=self.body)

        def close(self):
            pass

    for code, error in (("105", AuthError), ("600", ProductError), ("999", TransientError)):
        client = Echo()
        client.body = echo.replace("{code}", code).encode()
        ps = PromoStandardsAdapter(
            supplier({"endpoints": {"product_data": "https://s.invalid/pd", "inventory": "https://s.invalid/inv"}}),
            AdapterContext(credentials={"id": "acct", "password": "hunter2-secret"}),
        )
        ps._client = client  # type: ignore[assignment]
        with pytest.raises(error) as caught:
            read(ps, "X")
        assert "hunter2-secret" not in caught.value.describe() and "***" in caught.value.describe()
