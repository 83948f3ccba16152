"""Replies a supplier should never send are handled by rule (docs/inventory.md, "Replies by rule").

Hypothesis draws PromoStandards Inventory and Product Data replies with odd quantities (negative,
huge, NaN, Infinity, exponent forms, thousands separators, text), empty and repeated part ids,
another product's id, any message code and severity, odd dates and lead times, and bytes that are
no XML at all, and sends them through the adapter as the supplier's answer. Whatever comes back:

* the adapter raises nothing but the documented errors (``AuthError``, ``ProductError``,
  ``TransientError``), or returns the asked product;
* every quantity is unknown or from 0 to 10^9, and the one drawn is read by the rule (an
  independent oracle below), each refused value named in a warning;
* part ids are non-empty and unique, the first listing kept.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import escape

import pytest
from apihub.adapters.answers import QUANTITY_MAX, answered_product, quantity
from apihub.adapters.base import AdapterContext
from apihub.adapters.http import HttpResponse
from apihub.adapters.promostandards import PromoStandardsAdapter
from apihub.errors import AdapterError, AuthError, ProductError, TransientError
from apihub.inventory.models import Inventory
from apihub.models import Product, ProductRef
from apihub.supplier_models import Supplier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

INV = "http://www.promostandards.org/WSDL/Inventory/2.0.0/"
INV_SHARED = INV + "SharedObjects/"
PD = "http://www.promostandards.org/WSDL/ProductDataService/2.0.0/"
PD_SHARED = PD + "SharedObjects/"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
DOCUMENTED = (AuthError, ProductError, TransientError)
ASKED = "PC61"

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the oracle: what the quantity rule says a text is ----------------------------------------------


def expected_quantity(raw: str) -> tuple[float | None, bool]:
    """(value, refused) for ``raw``: written from the rule's words, not from the code's pattern."""
    cleaned = raw.replace(",", "").replace(" ", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None, False  # no number at all: unknown, no warning
    if not value.is_finite():
        return None, True
    if "_" in cleaned or cleaned.lower().startswith(("0x", "0b", "0o")):
        return None, False  # Decimal's own forms a supplier's number never takes
    if 0 <= value <= QUANTITY_MAX:
        return float(value), False
    return None, True


numbers = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.integers(min_value=0, max_value=10**9).map(lambda n: f"{n:,}"),  # thousands separators
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            "1e308",
            "-1e308",
            "1E3",
            "1e-3",
            "9" * 400,
            "NaN",
            "nan",
            "-Infinity",
            "Infinity",
            "inf",
            "+0",
            "-0",
            " 15.0000 ",
            "1e999999",
            ".5",
            "5.",
            "N/A",
            "",
            "  ",
            "12abc",
            "--1",
            "1,2,3",
            "0x10",
            "1_000",
        ]
    ),
    st.text(alphabet="0123456789.,eE+- naNIfity", max_size=12),
)


@given(numbers)
@PROPERTY
def test_the_quantity_rule_reads_any_text_as_a_number_from_0_to_a_billion_or_unknown(raw: str) -> None:
    read = quantity(raw, "q")

    value, refused = expected_quantity(raw)
    assert read.value == value
    assert (read.warning is not None) == refused
    assert read.value is None or 0 <= read.value <= QUANTITY_MAX


def test_refused_quantities_say_what_came_and_why():
    assert quantity("1e308", "part X quantity").warning == (
        "part X quantity: '1e308' is not a quantity from 0 to 1,000,000,000; unknown"
    )
    assert quantity("-5", "q").value is None and quantity("-5", "q").warning
    assert quantity(" 1,200 ", "q") == quantity("1200", "q") and quantity("1200", "q").value == 1200
    assert quantity("N/A", "q").value is None and quantity("N/A", "q").warning is None  # no number: no warning
    assert quantity("1000000000", "q").value == QUANTITY_MAX and quantity("1000000001", "q").value is None


def test_a_reply_for_another_product_is_a_product_error_naming_both_ids():
    assert answered_product("PC61", "PC61", "x") == "PC61"
    assert answered_product("PC61", " pc61 ", "x") == "PC61"  # the same id: kept as asked
    assert answered_product("PC61", None, "x") == "PC61"  # none named: the asked one's
    with pytest.raises(ProductError, match="supplier answered productId 'G500' for 'PC61'"):
        answered_product("PC61", "G500", "x")


# --- drawn replies -----------------------------------------------------------------------------------

# Text a well-formed XML reply can carry (no control characters, no lone surrogates); the raw-bytes
# property below covers replies that are no XML.
xml_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)
part_ids = st.one_of(st.sampled_from(["PC61-NAV-L", "PC61-NAV-XL", "PC61-RED-S", "", " "]), xml_text)
codes = st.one_of(
    st.none(),
    st.sampled_from([100, 104, 105, 110, 125, 130, 600, 610, 620, 630, 999]).map(str),
    st.integers(min_value=-5, max_value=2000).map(str),
    st.sampled_from(["", "abc", "9" * 5000]),
)
severities = st.sampled_from(["Error", "Warning", "Information", "", "bogus"])
texts = st.one_of(
    st.none(),
    xml_text,
    st.sampled_from(
        [
            "2026-11-29T17:45:00Z",
            "9999-12-31T23:59:59-01:00",
            "03/02/2027",
            "0001-01-01T00:00:00+01:00",
            "10 days",
            "9" * 40,
            "-3",
            "1e308",
        ]
    ),
)
answered_ids = st.sampled_from([ASKED, ASKED, ASKED, "pc61", " PC61 ", "G500", "", None])
product_part_ids = st.sampled_from(["PC61-NAV-L", "PC61-NAV-L", "PC61-RED-S", "PC61-RED-M", ""])


def element(name: str, value: str | None) -> str:
    return "" if value is None else f"<s:{name}>{escape(value)}</s:{name}>"


@st.composite
def messages(draw: Any) -> str:
    found = []
    for code in draw(st.lists(codes, max_size=draw(st.sampled_from([0, 0, 0, 1, 2])))):
        found.append(
            "<s:ServiceMessage>"
            + element("code", code)
            + element("description", draw(st.one_of(st.none(), xml_text)))
            + element("severity", draw(severities))
            + "</s:ServiceMessage>"
        )
    return f"<s:ServiceMessageArray>{''.join(found)}</s:ServiceMessageArray>" if found else ""


@st.composite
def inventory_replies(draw: Any) -> tuple[bytes, list[tuple[str, str]]]:
    """A reply, and the (part id, quantityAvailable text) of each part as listed."""
    listed: list[tuple[str, str]] = []
    parts = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        part_id, available = draw(part_ids), draw(st.one_of(st.none(), numbers))
        locations = []
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            future = "".join(
                f"<s:FutureAvailability><s:Quantity><s:value>{escape(q)}</s:value></s:Quantity>{element('availableOn', d)}"
                "</s:FutureAvailability>"
                for q, d in draw(st.lists(st.tuples(numbers, texts), max_size=2))
            )
            locations.append(
                "<s:InventoryLocation>"
                + element("inventoryLocationId", draw(st.sampled_from(["1", "2", "", None])))
                + element("inventoryLocationName", draw(st.sampled_from(["Reno", "", None])))
                + element("country", draw(st.sampled_from(["us", None])))
                + f"<s:inventoryLocationQuantity><s:Quantity><s:uom>EA</s:uom><s:value>{escape(draw(numbers))}</s:value>"
                + "</s:Quantity></s:inventoryLocationQuantity>"
                + (f"<s:FutureAvailabilityArray>{future}</s:FutureAvailabilityArray>" if future else "")
                + "</s:InventoryLocation>"
            )
        amount = (
            f"<s:quantityAvailable><s:Quantity><s:uom>EA</s:uom><s:value>{escape(available)}</s:value></s:Quantity>"
            "</s:quantityAvailable>"
            if available is not None
            else ""
        )
        parts.append(
            "<s:PartInventory>"
            + element("partId", part_id)
            + amount
            + element("buyToOrder", draw(st.sampled_from(["true", "Y", "0", "maybe"])))
            + element("replenishmentLeadTime", draw(texts))
            + element("lastModified", draw(texts))
            + (f"<s:InventoryLocationArray>{''.join(locations)}</s:InventoryLocationArray>" if locations else "")
            + "</s:PartInventory>"
        )
        listed.append((part_id, available or ""))
    inventory = (
        "<s:Inventory>"
        + element("productId", draw(answered_ids))
        + f"<s:PartInventoryArray>{''.join(parts)}</s:PartInventoryArray></s:Inventory>"
        if draw(st.booleans()) or parts
        else ""
    )
    body = (
        f'<E:Envelope xmlns:E="{ENV}"><E:Body><GetInventoryLevelsResponse xmlns="{INV}" xmlns:s="{INV_SHARED}">'
        f"{inventory}{draw(messages())}</GetInventoryLevelsResponse></E:Body></E:Envelope>"
    ).encode()
    return body, listed


@st.composite
def product_replies(draw: Any) -> bytes:
    parts = "".join(
        f"<s:ProductPart>{element('partId', draw(product_part_ids))}{element('isCloseout', draw(texts))}</s:ProductPart>"
        for _ in range(draw(st.integers(min_value=0, max_value=4)))
    )
    prices = "".join(
        "<s:ProductPrice>"
        + element("quantityMin", draw(st.one_of(st.none(), numbers)))
        + element("quantityMax", draw(st.one_of(st.none(), numbers)))
        + element("price", draw(numbers))
        + "</s:ProductPrice>"
        for _ in range(draw(st.integers(min_value=0, max_value=3)))
    )
    product = (
        "<s:Product>"
        + element("productId", draw(answered_ids))
        + element("productName", draw(texts))
        + element("lastChangeDate", draw(texts))
        + f"<s:ProductPriceGroupArray><s:ProductPriceGroup><s:ProductPriceArray>{prices}</s:ProductPriceArray>"
        + element("currency", draw(st.sampled_from(["usd", None])))
        + "</s:ProductPriceGroup></s:ProductPriceGroupArray>"
        + f"<s:ProductPartArray>{parts}</s:ProductPartArray></s:Product>"
        if draw(st.sampled_from([True, True, True, False]))
        else ""
    )
    return (
        f'<E:Envelope xmlns:E="{ENV}"><E:Body><GetProductResponse xmlns="{PD}" xmlns:s="{PD_SHARED}">'
        f"{product}{draw(messages())}</GetProductResponse></E:Body></E:Envelope>"
    ).encode()


class Canned:
    """Stands in for the adapter's HttpClient: every call answers ``body``."""

    def __init__(self, body: bytes, status: int = 200) -> None:
        self.body, self.status = body, status

    def request(self, method: str, url: str, **kwargs: object) -> HttpResponse:
        return HttpResponse(status=self.status, body=self.body)

    def close(self) -> None:
        pass


def adapter_answering(body: bytes, status: int = 200) -> PromoStandardsAdapter:
    supplier = Supplier(
        id="s-1",
        name="Acme",
        slug="acme",
        protocol="promostandards",
        adapter_class="PromoStandardsAdapter",
        protocol_config={
            "endpoints": {
                "product_data": "https://acme/pd",
                "inventory": "https://acme/inv",
                "pricing": "",
                "media": "",
            }
        },
        created_at="2024-01-01T00:00:00.000Z",
    )
    adapter = PromoStandardsAdapter(supplier, AdapterContext(credentials={"id": "user", "password": "secret"}))
    adapter._client = Canned(body, status)  # type: ignore[assignment]
    return adapter


def outcome(call: Any) -> Any:
    """What the adapter answered, or the documented error it raised (anything else fails the test)."""
    try:
        return call()
    except AdapterError as exc:
        assert isinstance(exc, DOCUMENTED), f"undocumented error {type(exc).__name__}: {exc}"
        return exc


@given(inventory_replies())
@PROPERTY
def test_any_inventory_reply_is_stock_of_the_asked_product_by_the_rules_or_a_documented_error(
    drawn: tuple[bytes, list[tuple[str, str]]],
) -> None:
    body, listed = drawn

    found = outcome(lambda: adapter_answering(body).inventory(ProductRef(product_id=ASKED)))

    if isinstance(found, AdapterError):
        return
    assert isinstance(found, Inventory) and found.product_id == ASKED
    ids = [p.part_id for p in found.parts]
    assert all(ids) and len(ids) == len(set(ids))  # no empty part id, none twice
    first = {}
    for part_id, available in listed:
        first.setdefault(part_id.strip(), available)  # the first listing of a part is kept (ids as trimmed)
    for part in found.parts:
        amounts = [part.quantity_available] + [loc.quantity for loc in part.locations]
        amounts += [f.quantity for loc in part.locations for f in loc.future]
        assert all(a is None or 0 <= a <= QUANTITY_MAX for a in amounts), amounts
        value, refused = expected_quantity(first[part.part_id])
        if value is not None:
            assert part.quantity_available == value
        if refused:
            assert any(note.startswith(f"part {part.part_id} quantityAvailable:") for note in found.notes)
    assert Inventory.model_validate_json(found.model_dump_json()) == found  # stores and reads back


@given(product_replies())
@PROPERTY
def test_any_product_data_reply_is_the_asked_product_with_bounded_price_quantities_or_a_documented_error(
    body: bytes,
) -> None:
    found = outcome(lambda: adapter_answering(body).hydrate(ProductRef(product_id=ASKED)))

    if isinstance(found, AdapterError):
        return
    assert isinstance(found, Product) and found.product_id == ASKED
    ids = [p.part_id for p in found.parts]
    assert len(ids) == len(set(ids))
    for group in found.prices:
        for price in group.prices:
            assert 1 <= price.quantity_min <= QUANTITY_MAX
            assert price.quantity_max is None or 0 <= price.quantity_max <= QUANTITY_MAX
            assert price.price == price.price and abs(price.price) != float("inf")  # no NaN, no Infinity
    assert Product.model_validate_json(found.model_dump_json()) == found


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode), st.sampled_from([200, 400, 429, 500, 503]))
@PROPERTY
def test_bytes_that_are_no_reply_at_all_raise_only_documented_errors(body: bytes, status: int) -> None:
    for call in ("inventory", "hydrate"):
        adapter = adapter_answering(body, status)
        found = outcome(lambda: getattr(adapter, call)(ProductRef(product_id=ASKED)))  # noqa: B023
        assert isinstance(found, AdapterError)  # none of these is a reply with stock or a product


def test_the_issues_reply_two_locations_at_1e308_and_no_total_is_unknown_with_warnings_not_a_crash():
    location = (
        "<s:InventoryLocation><s:inventoryLocationId>{}</s:inventoryLocationId><s:inventoryLocationQuantity>"
        "<s:Quantity><s:value>1e308</s:value></s:Quantity></s:inventoryLocationQuantity></s:InventoryLocation>"
    )
    body = (
        f'<E:Envelope xmlns:E="{ENV}"><E:Body><GetInventoryLevelsResponse xmlns="{INV}" xmlns:s="{INV_SHARED}">'
        f"<s:Inventory><s:productId>{ASKED}</s:productId><s:PartInventoryArray><s:PartInventory>"
        f"<s:partId>P-1</s:partId><s:InventoryLocationArray>{location.format('A')}{location.format('B')}"
        "</s:InventoryLocationArray></s:PartInventory></s:PartInventoryArray></s:Inventory>"
        "</GetInventoryLevelsResponse></E:Body></E:Envelope>"
    ).encode()

    found = adapter_answering(body).inventory(ProductRef(product_id=ASKED))

    (part,) = found.parts
    assert part.quantity_available is None and [loc.quantity for loc in part.locations] == [None, None]
    assert found.notes == [
        "part P-1 location A quantity: '1e308' is not a quantity from 0 to 1,000,000,000; unknown",
        "part P-1 location B quantity: '1e308' is not a quantity from 0 to 1,000,000,000; unknown",
    ]


def test_a_part_or_location_listed_twice_keeps_the_first_listing_with_a_note():
    def part(part_id: str, available: str, locations: str = "") -> str:
        return (
            f"<s:PartInventory><s:partId>{part_id}</s:partId><s:quantityAvailable><s:Quantity><s:value>{available}"
            f"</s:value></s:Quantity></s:quantityAvailable><s:InventoryLocationArray>{locations}"
            "</s:InventoryLocationArray></s:PartInventory>"
        )

    def location(location_id: str, amount: str) -> str:
        return (
            f"<s:InventoryLocation><s:inventoryLocationId>{location_id}</s:inventoryLocationId><s:inventoryLocationQuantity>"
            f"<s:Quantity><s:value>{amount}</s:value></s:Quantity></s:inventoryLocationQuantity></s:InventoryLocation>"
        )

    parts = part("P-1", "5", location("A", "2") + location("A", "9")) + part("P-1", "7") + part("P-2", "1")
    body = (
        f'<E:Envelope xmlns:E="{ENV}"><E:Body><GetInventoryLevelsResponse xmlns="{INV}" xmlns:s="{INV_SHARED}">'
        f"<s:Inventory><s:productId>{ASKED}</s:productId><s:PartInventoryArray>{parts}</s:PartInventoryArray>"
        "</s:Inventory></GetInventoryLevelsResponse></E:Body></E:Envelope>"
    ).encode()

    found = adapter_answering(body).inventory(ProductRef(product_id=ASKED))

    assert [(p.part_id, p.quantity_available) for p in found.parts] == [("P-1", 5), ("P-2", 1)]
    assert [(loc.location_id, loc.quantity) for loc in found.parts[0].locations] == [("A", 2)]
    assert found.notes == [
        "part P-1 location A was listed again; the first is kept",
        "part P-1 was listed again; the first listing is kept",
    ]


def test_a_getproduct_reply_for_another_product_is_a_product_error_not_renamed():
    body = (
        f'<E:Envelope xmlns:E="{ENV}"><E:Body><GetProductResponse xmlns="{PD}" xmlns:s="{PD_SHARED}">'
        "<s:Product><s:productId>G500</s:productId><s:productName>Heavy Tee</s:productName>"
        "<s:ProductPartArray><s:ProductPart><s:partId>G500-1</s:partId></s:ProductPart></s:ProductPartArray>"
        "</s:Product></GetProductResponse></E:Body></E:Envelope>"
    ).encode()

    with pytest.raises(ProductError, match="supplier answered productId 'G500' for 'PC61'"):
        adapter_answering(body).hydrate(ProductRef(product_id=ASKED))


def test_times_past_year_9999_and_numbers_past_a_float_are_no_value_not_an_overflow():
    from apihub.adapters.promostandards.soap import decimal, integer, timestamp
    from defusedxml.ElementTree import fromstring

    assert timestamp("9999-12-31T23:59:59-01:00") is None  # UTC would be year 10000
    assert timestamp("0001-01-01T00:00:00+01:00") is None  # UTC would be year 0
    holder = fromstring("<p><n>1e400</n><x>-Infinity</x><y>NaN</y></p>")
    assert integer(holder, "n") is None and integer(holder, "x") is None
    assert decimal(holder, "x") is None and decimal(holder, "y") is None
