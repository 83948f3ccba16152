"""Parsing rules of the PromoStandards adapter that no real sample exercises: hostile XML, SOAP
faults, the code table, lenient timestamps, HTML descriptions, request building."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from apihub.adapters.promostandards.markup import paragraphs_to_text, plain_text
from apihub.adapters.promostandards.messages import ServiceMessage, classify
from apihub.adapters.promostandards.product import parse_get_product, parse_product_ids
from apihub.adapters.promostandards.soap import (
    PRODUCT_DATA,
    _plainly_safe,
    build_request,
    format_timestamp,
    parse_xml,
    response_element,
    timestamp,
)
from apihub.errors import AuthError, ProductError, TransientError
from defusedxml.ElementTree import fromstring

PD = "http://www.promostandards.org/WSDL/ProductDataService/2.0.0/"
SHARED = PD + "SharedObjects/"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def sellable_reply(messages: str = "", rows: str = "") -> bytes:
    array = f"<p:ProductSellableArray>{rows}</p:ProductSellableArray>" if rows else ""
    return (
        f'<e:Envelope xmlns:e="{ENV}"><e:Body><p:GetProductSellableResponse xmlns:p="{PD}" xmlns:s="{SHARED}">'
        f"{array}{messages}</p:GetProductSellableResponse></e:Body></e:Envelope>"
    ).encode()


def message(code: int, description: str, severity: str = "Error") -> str:
    return (
        f"<s:ServiceMessageArray><s:ServiceMessage><s:code>{code}</s:code><s:description>{description}"
        f"</s:description><s:severity>{severity}</s:severity></s:ServiceMessage></s:ServiceMessageArray>"
    )


# --- hostile XML -----------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<p:GetProductResponse xmlns:p="http://www.promostandards.org/WSDL/ProductDataService/2.0.0/">&lol3;</p:GetProductResponse>
</e:Body></e:Envelope>"""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<p:GetProductResponse xmlns:p="http://www.promostandards.org/WSDL/ProductDataService/2.0.0/">&xxe;</p:GetProductResponse>
</e:Body></e:Envelope>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE e:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<r/>"""


@pytest.mark.parametrize(
    "payload",
    [BILLION_LAUGHS, XXE_FILE, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["billion-laughs", "xxe-file", "external-dtd", "parameter-entity"],
)
def test_dtds_and_entities_are_refused_before_anything_is_expanded_or_fetched(payload):
    with pytest.raises(ProductError) as caught:
        parse_get_product(payload)
    assert "DTD or entities" in caught.value.message
    assert "root:" not in caught.value.message  # nothing from /etc/passwd leaked into the error


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "cp500"])
def test_a_dtd_hidden_in_a_non_ascii_encoding_is_still_refused(encoding):
    # "<!DOCTYPE" is not visible as ASCII bytes here, so the fast path must not be taken.
    text = XXE_FILE.decode().replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>')
    payload = text.encode(encoding)
    assert b"<!DOCTYPE" not in payload
    with pytest.raises(ProductError, match=r"DTD or entities|not well-formed"):
        parse_get_product(payload)


def test_an_entity_reference_without_a_dtd_is_not_expanded():
    body = (
        f'<e:Envelope xmlns:e="{ENV}"><e:Body><p:GetProductResponse xmlns:p="{PD}">&lol;'
        "</p:GetProductResponse></e:Body></e:Envelope>"
    ).encode()
    with pytest.raises(ProductError, match="not well-formed"):
        parse_get_product(body)


def test_utf16_replies_without_a_dtd_still_parse():
    text = sellable_reply(rows="<p:ProductSellable><s:productId>A</s:productId></p:ProductSellable>").decode()
    body = ('<?xml version="1.0" encoding="utf-16"?>' + text).encode("utf-16")
    assert parse_product_ids(body, "getProductSellable") == ["A"]


def test_ordinary_replies_take_the_fast_parser_and_doctype_ones_do_not():
    assert _plainly_safe(sellable_reply())
    assert _plainly_safe(b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?><a/>')
    assert not _plainly_safe(XXE_FILE)
    assert not _plainly_safe(b'<?xml version="1.0" encoding="windows-1252"?><a/>')
    assert not _plainly_safe("<a/>".encode("utf-16"))


def test_malformed_xml_is_a_product_error():
    with pytest.raises(ProductError, match="not well-formed"):
        parse_xml(b"<e:Envelope xmlns:e='x'><e:Body>", "getProduct")


def test_a_body_without_the_expected_reply_is_a_product_error():
    body = f'<e:Envelope xmlns:e="{ENV}"><e:Body><Other/></e:Body></e:Envelope>'.encode()
    with pytest.raises(ProductError, match="no GetProductResponse"):
        response_element(body, "GetProductResponse", "getProduct")


# --- SOAP faults -----------------------------------------------------------------------------------


def fault(code: str, reason: str = "boom") -> bytes:
    return (
        f'<env:Envelope xmlns:env="{ENV}"><env:Body><env:Fault><faultcode>{code}</faultcode>'
        f"<faultstring>{reason}</faultstring></env:Fault></env:Body></env:Envelope>"
    ).encode()


@pytest.mark.parametrize("code", ["env:Server", "soap:Server", "Server", "s:Receiver"])
def test_server_side_soap_faults_are_transient_whatever_the_prefix(code):
    with pytest.raises(TransientError, match="SOAP fault"):
        parse_get_product(fault(code))


@pytest.mark.parametrize("code", ["env:Client", "Sender"])
def test_client_side_soap_faults_fail_the_product(code):
    with pytest.raises(ProductError, match="SOAP fault"):
        parse_get_product(fault(code, "bad request"))


def test_soap12_fault_is_classified_too():
    body = (
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault>'
        b"<e:Code><e:Value>e:Receiver</e:Value></e:Code><e:Reason><e:Text>down</e:Text></e:Reason>"
        b"</e:Fault></e:Body></e:Envelope>"
    )
    with pytest.raises(TransientError, match="Receiver: down"):
        parse_get_product(body)


# --- the code table ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [100, 104, 105, 110])
def test_credential_codes_raise_auth_error_naming_the_code(code):
    with pytest.raises(AuthError) as caught:
        parse_product_ids(sellable_reply(message(code, "nope")), "getProductSellable")
    assert caught.value.code == str(code)
    assert caught.value.message.startswith(f"{code} nope")


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (130, "Product Id not found"),
        (135, "Product color not found"),
        (140, "Part Id not found"),
        (145, "Part color not found"),
        (150, "Part size not found"),
    ],
)
def test_product_codes_fail_one_product_with_code_and_description(code, description):
    with pytest.raises(ProductError) as caught:
        parse_product_ids(sellable_reply(message(code, description)), "getProductSellable")
    assert caught.value.describe() == f"ProductError: {code} {description}"


def test_code_999_is_transient():
    with pytest.raises(TransientError) as caught:
        parse_product_ids(sellable_reply(message(999, "General Error")), "getProductSellable")
    assert caught.value.code == "999"


def test_credential_error_wins_over_other_errors_in_the_same_reply():
    both = message(130, "Product Id not found") + message(105, "Authentication Credentials failed")
    with pytest.raises(AuthError):
        parse_product_ids(sellable_reply(both), "getProductSellable")


def test_empty_description_falls_back_to_the_standard_text():
    assert classify(ServiceMessage(code=130, description="")).describe() == "ProductError: 130 Product Id not found"


def test_information_and_warning_messages_do_not_raise():
    assert classify(ServiceMessage(code=125, description="Not Supported: [lineName]", severity="Warning")) is None
    assert classify(ServiceMessage(code=0, description="ok", severity="Information")) is None


def test_discovery_ids_are_deduplicated_in_first_seen_order():
    rows = "".join(
        f"<p:ProductSellable><s:productId>{pid}</s:productId><s:partId>{part}</s:partId></p:ProductSellable>"
        for pid, part in [("B", "B-1"), ("A", "A-1"), ("B", "B-2"), ("C", "C-1"), ("A", "A-2")]
    )
    assert parse_product_ids(sellable_reply(rows=rows), "getProductSellable") == ["B", "A", "C"]


def test_an_empty_listing_is_an_empty_list():
    assert parse_product_ids(sellable_reply(), "getProductSellable") == []


# --- timestamps ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-04-20T16:35:43.653", datetime(2023, 4, 20, 16, 35, 43, 653000, tzinfo=UTC)),  # SanMar: no zone
        ("2022-06-15T08:56:22.5370000", datetime(2022, 6, 15, 8, 56, 22, 537000, tzinfo=UTC)),  # .NET 7 digits
        ("2017-12-12T00:00:00.000-08:00", datetime(2017, 12, 12, 8, 0, tzinfo=UTC)),
        ("2020-01-01T00:00:00Z", datetime(2020, 1, 1, tzinfo=UTC)),
        ("2020-01-01", datetime(2020, 1, 1, tzinfo=UTC)),
        ("not a date", None),
        (None, None),
    ],
)
def test_timestamps_are_read_leniently_as_utc(raw, expected):
    assert timestamp(raw) == expected


def test_change_timestamp_is_sent_in_utc_with_z():
    since = datetime(2024, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert format_timestamp(since) == "2024-03-01T17:00:00Z"


# --- descriptions ----------------------------------------------------------------------------------


def test_html_description_keeps_every_paragraph_as_a_line():
    html = "<p>Soft&nbsp;tee.</p><p>Second <b>para</b>.</p><ul><li>One</li><li>Two &amp; three</li></ul>Tail<br/>End"
    assert plain_text(html) == "Soft tee.\nSecond para.\nOne\nTwo & three\nTail\nEnd"


def test_script_and_style_content_is_dropped():
    assert plain_text("<style>p{}</style><p>Visible</p><script>alert(1)</script>") == "Visible"


def test_plain_paragraphs_are_joined_one_per_line():
    assert paragraphs_to_text(["  First   para ", "", "Second"]) == "First para\nSecond"


# --- requests --------------------------------------------------------------------------------------


def test_request_values_are_escaped_and_fields_kept_in_order():
    body = build_request(
        PRODUCT_DATA,
        "GetProductRequest",
        [("wsVersion", "2.0.0"), ("id", "a&b"), ("password", None), ("productId", "<x>")],
    )
    root = fromstring(body)
    request = root[1][0]
    assert request.tag == f"{{{PD}}}GetProductRequest"
    assert [(child.tag.split("}")[1], child.text) for child in request] == [
        ("wsVersion", "2.0.0"),
        ("id", "a&b"),
        ("productId", "<x>"),
    ]
    assert all(child.tag.startswith(f"{{{SHARED}}}") for child in request)
