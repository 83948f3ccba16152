"""PPC 1.0.0 client: replies valid against the official XSDs, odd replies, and generated ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import xmlschema
from apihub.adapters.promostandards import ppc
from apihub.errors import AdapterError, AuthError, ProductError, TransientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apihub_fakes.promostandards import WSDL_DIR, generate_catalog
from apihub_fakes.promostandards import ppc as fake_ppc

PPC_DIR = WSDL_DIR / "PricingAndConfiguration-1.0.0"
PPC_NS = "http://www.promostandards.org/WSDL/PricingAndConfiguration/1.0.0/"
SHARED_NS = PPC_NS + "SharedObjects/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def product():  # type: ignore[no-untyped-def]
    return generate_catalog(3, seed=7).products[0]


@pytest.fixture(scope="module")
def schema():  # type: ignore[no-untyped-def]
    cache: dict[str, xmlschema.XMLSchema] = {}

    def validate(reply: bytes, response: str) -> None:
        if response not in cache:
            cache[response] = xmlschema.XMLSchema(str(PPC_DIR / f"{response}.xsd"))
        from defusedxml.ElementTree import fromstring

        body = next(c for c in fromstring(reply) if c.tag.endswith("}Body"))
        cache[response].validate(next(iter(body)))

    return validate


def wrap(response: str, inner: str, *, prefix: str = "p") -> bytes:
    """A reply with arbitrary prefixes: the service namespace as ``prefix``, shared as ``s``."""
    return (
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body>'
        f'<{prefix}:{response} xmlns:{prefix}="{PPC_NS}" xmlns:s="{SHARED_NS}">{inner}</{prefix}:{response}>'
        "</soap:Body></soap:Envelope>"
    ).encode()


# --------------------------------------------------------------------------------------------------
# Replies that validate against the official schemas
# --------------------------------------------------------------------------------------------------


def test_demo_configuration_validates_and_reads_back_whole(product, schema) -> None:  # type: ignore[no-untyped-def]
    demo = fake_ppc.demo_pricing(product, "2", "USD", "Net")
    reply = fake_ppc.configuration_response(demo)
    schema(reply, "GetConfigurationAndPricingResponse")

    parsed = ppc.parse_configuration(reply, fob_id="2", currency="USD", price_type="Net")

    assert parsed.model_dump(exclude={"fob_points"}) == demo.model_dump(exclude={"fob_points"})
    screen = parsed.locations[0].decorations[0]
    assert [c.type for c in screen.charges] == ["setup", "run", "order"]
    assert screen.charges[2].applies_ltm is True and screen.ltm_min_quantity == 12
    assert parsed.locations[1].decorations[0].charges[1].prices[1].y_min_qty == 8000


def test_blank_configuration_has_parts_and_no_locations(product, schema) -> None:  # type: ignore[no-untyped-def]
    reply = fake_ppc.configuration_response(fake_ppc.demo_pricing(product, "1"), configuration_type="Blank")
    schema(reply, "GetConfigurationAndPricingResponse")

    parsed = ppc.parse_configuration(reply, fob_id="1", currency="USD", price_type="Net")

    assert parsed.locations == [] and len(parsed.parts) == len(product.parts)


def test_fob_points_with_currencies_and_products(product, schema) -> None:  # type: ignore[no-untyped-def]
    reply = fake_ppc.fob_points_response([product.product_id])
    schema(reply, "GetFobPointsResponse")

    listed = ppc.parse_fob_points(reply)

    assert [(f.point.fob_id, f.point.city, f.point.currencies) for f in listed] == [
        ("1", "Reno", ["USD"]),
        ("2", "Dallas", ["USD", "CAD"]),
    ]
    assert listed[0].product_ids == (product.product_id,)
    assert listed[0].point.postal_code == "89441" and listed[0].point.country == "US"


def test_locations_charges_and_colours(product, schema) -> None:  # type: ignore[no-untyped-def]
    demo = fake_ppc.demo_pricing(product, "1")
    locations = fake_ppc.available_locations_response(demo)
    charges = fake_ppc.available_charges_response(demo)
    colours = fake_ppc.decoration_colors_response(product.product_id, "1", demo)
    schema(locations, "GetAvailableLocationsResponse")
    schema(charges, "GetAvailableChargesResponse")
    schema(colours, "GetDecorationColorsResponse")

    assert [(loc.location_id, loc.name) for loc in ppc.parse_available_locations(locations)] == [
        ("1", "Front"),
        ("2", "Left Chest"),
    ]
    assert [(c.charge_id, c.type) for c in ppc.parse_available_charges(charges)] == [
        ("101", "setup"),
        ("102", "run"),
        ("103", "order"),
        ("201", "setup"),
        ("202", "run"),
    ]
    read = ppc.parse_decoration_colors(colours)
    assert read.location_id == "1" and read.methods == [("1", "Screen Print")]
    assert ("3", "PMS 286 Blue") in read.colors and read.pms_match is True and read.full_color is False


def test_requests_validate_against_the_request_schemas() -> None:
    from defusedxml.ElementTree import fromstring

    credentials = ("acct", "secret")
    built = {
        "GetFobPointsRequest": ppc.fob_points_request(credentials, "P&1"),
        "GetAvailableLocationsRequest": ppc.available_locations_request(credentials, "P1"),
        "GetAvailableChargesRequest": ppc.available_charges_request(credentials, "P1"),
        "GetDecorationColorsRequest": ppc.decoration_colors_request(credentials, "P1", "1", "2"),
        "GetConfigurationAndPricingRequest": ppc.configuration_request(
            credentials, "P1", "1", currency="USD", price_type="Customer", configuration_type="Decorated"
        ),
    }
    for name, request in built.items():
        body = next(c for c in fromstring(request) if c.tag.endswith("}Body"))
        xmlschema.XMLSchema(str(PPC_DIR / f"{name}.xsd")).validate(next(iter(body)))


# --------------------------------------------------------------------------------------------------
# Odd replies
# --------------------------------------------------------------------------------------------------


def test_missing_optional_fields_other_prefixes_and_mixed_case_types() -> None:
    # Given: no descriptions, names or uoms, nil dates, an any-case chargeType, prefixes nobody else uses
    reply = (
        wrap(
            "GetConfigurationAndPricingResponse",
            "<p:Configuration><p:PartArray><p:Part><s:partId>A</s:partId>"
            "<p:PartPriceArray>"
            "<p:PartPrice><p:minQuantity>48</p:minQuantity><p:price>8.5000</p:price></p:PartPrice>"
            "<p:PartPrice><p:minQuantity>12</p:minQuantity><p:price>9.75</p:price>"
            '<p:priceExpiryDate xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="true"/></p:PartPrice>'
            "<p:PartPrice><p:minQuantity>1</p:minQuantity><p:price>free</p:price></p:PartPrice>"
            "</p:PartPriceArray></p:Part><p:Part><s:partDescription>no id</s:partDescription></p:Part></p:PartArray>"
            "<p:LocationArray><p:Location><s:locationId>7</s:locationId><p:DecorationArray><p:Decoration>"
            "<s:decorationId>3</s:decorationId><p:ChargeArray>"
            "<p:Charge><s:chargeId>1</s:chargeId><s:chargeType>SETUP</s:chargeType><p:ChargePriceArray>"
            "<p:ChargePrice><p:xMinQty>1</p:xMinQty><p:yMinQty>1</p:yMinQty><p:price>1E+1</p:price></p:ChargePrice>"
            "</p:ChargePriceArray></p:Charge>"
            "<p:Charge><s:chargeId>2</s:chargeId><s:chargeType>Freight</s:chargeType></p:Charge>"
            "</p:ChargeArray></p:Decoration></p:DecorationArray></p:Location></p:LocationArray>"
            "<s:productId>P</s:productId><s:priceType>net</s:priceType></p:Configuration>",
            prefix="zz",
        )
        .replace(b"<p:", b"<zz:")
        .replace(b"</p:", b"</zz:")
    )

    parsed = ppc.parse_configuration(reply, fob_id="1", currency="usd", price_type="List")

    # Then: rows sorted, the unpriceable row and the id-less part left out, strings kept as written
    assert [(r.min_quantity, r.price) for r in parsed.parts[0].prices] == [(12, "9.75"), (48, "8.5000")]
    assert len(parsed.parts) == 1 and parsed.currency == "USD" and parsed.price_type == "Net"
    charges = parsed.locations[0].decorations[0].charges
    assert [(c.charge_id, c.type, c.prices[0].price) for c in charges] == [("1", "setup", "10")]


def test_empty_arrays_read_as_nothing() -> None:
    reply = wrap(
        "GetConfigurationAndPricingResponse",
        "<p:Configuration><p:PartArray/><p:LocationArray/><s:productId>P</s:productId></p:Configuration>",
    )
    parsed = ppc.parse_configuration(reply, fob_id="1", currency="USD", price_type="Net")
    assert parsed.parts == [] and parsed.locations == []
    assert ppc.parse_fob_points(wrap("GetFobPointsResponse", "<p:FobPointArray/>")) == []
    assert ppc.parse_available_charges(wrap("GetAvailableChargesResponse", "")) == []


@pytest.mark.parametrize(
    ("code", "error"),
    [(999, TransientError), (105, AuthError), (130, ProductError), (125, ProductError)],
)
@pytest.mark.parametrize(
    "response",
    [
        "GetConfigurationAndPricingResponse",
        "GetFobPointsResponse",
        "GetAvailableLocationsResponse",
        "GetAvailableChargesResponse",
        "GetDecorationColorsResponse",
    ],
)
def test_error_messages_raise_the_adapter_errors(response: str, code: int, error: type[AdapterError]) -> None:
    reply = fake_ppc.ppc_error(response, code, "went wrong")
    parse = {
        "GetConfigurationAndPricingResponse": lambda b: ppc.parse_configuration(
            b, fob_id="1", currency="USD", price_type="Net"
        ),
        "GetFobPointsResponse": ppc.parse_fob_points,
        "GetAvailableLocationsResponse": ppc.parse_available_locations,
        "GetAvailableChargesResponse": ppc.parse_available_charges,
        "GetDecorationColorsResponse": ppc.parse_decoration_colors,
    }[response]
    with pytest.raises(error, match=str(code)):
        parse(reply)


def test_configuration_without_configuration_or_product_id_is_a_product_error() -> None:
    with pytest.raises(ProductError, match="no Configuration"):
        ppc.parse_configuration(
            wrap("GetConfigurationAndPricingResponse", ""), fob_id="1", currency="USD", price_type="Net"
        )
    with pytest.raises(ProductError, match="no productId"):
        ppc.parse_configuration(
            wrap("GetConfigurationAndPricingResponse", "<p:Configuration/>"),
            fob_id="1",
            currency="USD",
            price_type="Net",
        )


# --------------------------------------------------------------------------------------------------
# Generated odd replies: only the documented adapter errors, never anything else
# --------------------------------------------------------------------------------------------------

_FIELD_NAMES = [
    "partId",
    "price",
    "minQuantity",
    "locationId",
    "decorationId",
    "chargeId",
    "chargeType",
    "xMinQty",
    "yMinQty",
    "repeatPrice",
    "itemPartQuantityLTM",
    "decorationUnitsMax",
    "chargesPerColor",
    "productId",
    "priceEffectiveDate",
    "ratio",
    "maxDecoration",
    "fobId",
    "currency",
    "priceType",
    "code",
]
_CONTAINERS = [
    "Configuration",
    "PartArray",
    "Part",
    "PartPriceArray",
    "PartPrice",
    "LocationArray",
    "Location",
    "DecorationArray",
    "Decoration",
    "ChargeArray",
    "Charge",
    "ChargePriceArray",
    "ChargePrice",
    "FobPointArray",
    "FobPoint",
    "ErrorMessage",
    "DecorationColors",
    "ColorArray",
    "Color",
    "AvailableChargeArray",
    "AvailableCharge",
    "AvailableLocationArray",
    "AvailableLocation",
]
_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["-1", "1e400", "NaN", "Infinity", "99999999999999999999999", "0", "1.5", "SeTuP", "  ", "9-9"]),
    st.integers().map(str),
)


@st.composite
def _odd_element(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(st.sampled_from([*_FIELD_NAMES, *_CONTAINERS]))
    prefix = draw(st.sampled_from(["p", "s"]))
    if depth < 4 and draw(st.booleans()):
        inner = "".join(draw(st.lists(_odd_element(depth + 1), max_size=4)))
    else:
        from xml.sax.saxutils import escape

        inner = escape(draw(_values))
    return f"<{prefix}:{name}>{inner}</{prefix}:{name}>"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(_odd_element(), max_size=4).map("".join))
def test_generated_replies_raise_only_adapter_errors(body: str) -> None:
    parsers = [
        lambda: ppc.parse_configuration(
            wrap("GetConfigurationAndPricingResponse", body), fob_id="1", currency="USD", price_type="Net"
        ),
        lambda: ppc.parse_fob_points(wrap("GetFobPointsResponse", body)),
        lambda: ppc.parse_available_charges(wrap("GetAvailableChargesResponse", body)),
        lambda: ppc.parse_available_locations(wrap("GetAvailableLocationsResponse", body)),
        lambda: ppc.parse_decoration_colors(wrap("GetDecorationColorsResponse", body)),
    ]
    for parse in parsers:
        try:
            parse()
        except (AuthError, ProductError, TransientError):
            pass


# --------------------------------------------------------------------------------------------------
# Reading one product: FOB points, currencies, the price type fallback
# --------------------------------------------------------------------------------------------------


class _Supplier:
    """Answers PPC requests like the fake server, recording them; ``refuse`` names refused price types."""

    def __init__(self, product, refuse: frozenset[str] = frozenset()) -> None:  # type: ignore[no-untyped-def]
        self.product = product
        self.refuse = refuse
        self.calls: list[tuple[str, str]] = []

    def __call__(self, action: str, body: bytes) -> bytes:
        from apihub.adapters.promostandards.soap import local
        from defusedxml.ElementTree import fromstring

        fields = {local(e.tag): (e.text or "") for e in fromstring(body).iter()}
        if action == "getFobPoints":
            self.calls.append((action, ""))
            return fake_ppc.fob_points_response([self.product.product_id])
        self.calls.append(
            (action, f"{fields['fobId']}/{fields['currency']}/{fields['priceType']}/{fields['configurationType']}")
        )
        if fields["priceType"] in self.refuse:
            return fake_ppc.ppc_error("GetConfigurationAndPricingResponse", 125, "Not Supported")
        demo = fake_ppc.demo_pricing(self.product, fields["fobId"], fields["currency"], fields["priceType"])
        return fake_ppc.configuration_response(demo)


def test_default_setting_reads_the_first_fob_point_net_usd(product) -> None:  # type: ignore[no-untyped-def]
    supplier = _Supplier(product)

    read = ppc.read_product_pricing(supplier, ("a", "b"), product.product_id, ppc.PricingSetting(), as_of=NOW)

    assert [(p.fob_id, p.currency, p.price_type) for p in read] == [("1", "USD", "Net")]
    assert [f.fob_id for f in read[0].fob_points] == ["1", "2"] and read[0].as_of == NOW
    assert supplier.calls == [("getFobPoints", ""), ("getConfigurationAndPricing", "1/USD/Net/Decorated")]


def test_setting_reads_each_fob_point_in_the_currencies_it_lists(product) -> None:  # type: ignore[no-untyped-def]
    setting = ppc.PricingSetting(fob_ids=("1", "2", "9"), currencies=("USD", "CAD"))

    read = ppc.read_product_pricing(_Supplier(product), ("a", None), product.product_id, setting, as_of=NOW)

    # Reno lists USD only; FOB point 9 is not the supplier's
    assert [(p.fob_id, p.currency) for p in read] == [("1", "USD"), ("2", "USD"), ("2", "CAD")]
    reno, dallas = read[0].parts[0].prices[0].price, read[1].parts[0].prices[0].price
    assert reno != dallas


def test_a_refused_price_type_falls_back_to_list_and_says_so(product) -> None:  # type: ignore[no-untyped-def]
    supplier = _Supplier(product, refuse=frozenset({"Customer"}))
    setting = ppc.PricingSetting(price_types=("Customer",))

    read = ppc.read_product_pricing(supplier, ("a", "b"), product.product_id, setting, as_of=NOW)

    assert [(p.price_type, p.requested_price_type) for p in read] == [("List", "Customer")]
    assert supplier.calls[-1] == ("getConfigurationAndPricing", "1/USD/List/Decorated")


def test_an_unknown_product_is_not_retried_as_list(product) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def post(action: str, body: bytes) -> bytes:
        calls.append(action)
        if action == "getFobPoints":
            return fake_ppc.fob_points_response([product.product_id])
        return fake_ppc.ppc_error("GetConfigurationAndPricingResponse", 130, "Product Id not found")

    with pytest.raises(ProductError, match="130"):
        ppc.read_product_pricing(post, ("a", "b"), product.product_id, ppc.PricingSetting(), as_of=NOW)
    assert calls == ["getFobPoints", "getConfigurationAndPricing"]


def test_a_refused_fob_points_call_asks_the_configured_or_default_point(product) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def post(action: str, body: bytes) -> bytes:
        if action == "getFobPoints":
            return fake_ppc.ppc_error("GetFobPointsResponse", 125, "Not Supported")
        asked.append(body.decode().split("fobId>")[1].rstrip("</shar:"))
        return fake_ppc.configuration_response(fake_ppc.demo_pricing(product, "2"))

    default = ppc.read_product_pricing(post, ("a", "b"), product.product_id, ppc.PricingSetting(), as_of=NOW)
    chosen = ppc.PricingSetting(fob_ids=("2",))
    configured = ppc.read_product_pricing(post, ("a", "b"), product.product_id, chosen, as_of=NOW)

    assert asked == ["1", "2"]
    assert [p.fob_id for p in default + configured] == ["1", "2"] and default[0].fob_points == []
