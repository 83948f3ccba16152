"""Every real PromoStandards sample in ../shared parses to the canonical values a reader of the
sample would write down; the synthetic error samples classify as docs/architecture.md (Invariants) says."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apihub.adapters.promostandards.media import parse_images
from apihub.adapters.promostandards.messages import raise_for_messages, read_messages
from apihub.adapters.promostandards.pricing import parse_part_prices
from apihub.adapters.promostandards.product import parse_get_product, parse_product_ids, read_get_product
from apihub.adapters.promostandards.soap import response_element
from apihub.errors import AuthError, ProductError

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "promostandards" / "samples"
SANMAR = SHARED / "sanmar-guide-24.3"
SS = SHARED / "ss-activewear-6030"
SYNTHETIC = SHARED / "synthetic"
SS_ENDPOINT = "https://promostandards.ssactivewear.com/productdata/v2/productdataservicev2.svc"


def sample(path: Path) -> bytes:
    if not path.exists():  # pragma: no cover - the corpus is part of the workspace and of CI
        pytest.fail(f"sample missing: {path} (tests read ../shared relative to the repo root)")
    return path.read_bytes()


# --- SanMar (real, from the SanMar Web Services Integration Guide 24.3) -------------------------


def test_sanmar_get_product_mm1000_normalises_to_canonical_product():
    reply = read_get_product(sample(SANMAR / "getProduct.response.MM1000.xml"))
    product = reply.product

    assert product.product_id == "MM1000"
    assert product.name == "MERCER+METTLE Stretch Heavyweight Pique Polo MM1000"
    assert product.brand == "Mercer+Mettle"
    assert product.categories == ["Polos/Knits > Cotton, Easy Care"]
    # Ten <description> elements: every one kept, one paragraph per line, in order.
    lines = product.description.split("\n")
    assert len(lines) == 10
    assert lines[0].startswith("Crafted in a heavier knit")
    assert lines[1] == "8.1-ounce, 58/39/3 cotton/poly/spandex diamond pique"
    assert lines[-1] == "Notched vents"
    # One part. Its ColorArray says DeepBlack; the guide's primaryColor says "Insignia Blue" (a
    # known inconsistency of the sample): the part's own colour wins.
    assert [p.model_dump() for p in product.parts] == [
        {
            "part_id": "1878771",
            "color": "DeepBlack",
            "size": "S",
            "gtin": "00191265938235",
            "is_closeout": False,
            "prices": [],
        }
    ]
    # quantityMax 2147483647 means "no upper bound".
    assert len(product.prices) == 1
    group = product.prices[0]
    assert (group.group_name, group.currency) == ("MSRP", "USD")
    assert [(b.quantity_min, b.quantity_max, b.price) for b in group.prices] == [(1, None, 24.98)]
    assert [(i.url, i.is_primary) for i in product.images] == [
        ("https://cdnm.sanmar.com/catalog/images/MM1000.jpg", True)
    ]
    assert product.is_closeout is False
    # Zone-less SanMar timestamp read as UTC.
    assert product.last_change_date == datetime(2023, 4, 20, 16, 35, 43, 653000, tzinfo=UTC)
    assert product.model_dump(mode="json")["last_change_date"] == "2023-04-20T16:35:43.653Z"
    # Seven FOB points with 3-letter fobCountry "USA": accepted, ids kept in order for PPC.
    assert reply.fob_ids == ["6", "4", "3", "2", "5", "12", "7"]
    assert product.notes == []


@pytest.mark.parametrize(
    ("filename", "operation", "expected"),
    [
        ("getProductSellable.response.xml", "getProductSellable", ["LOG105"]),
        ("getProductDateModified.response.xml", "getProductDateModified", ["12000"]),
        ("getProductCloseOut.response.xml", "getProductCloseOut", ["DM104CL"]),
    ],
)
def test_sanmar_discovery_replies_list_their_product_ids(filename, operation, expected):
    assert parse_product_ids(sample(SANMAR / filename), operation) == expected


def test_sanmar_media_k420_lists_all_nine_images_with_one_primary():
    images = parse_images(sample(SANMAR / "getMediaContent.response.K420.xml"))

    assert len(images) == 9
    assert all(image.part_id == "92032" for image in images)
    assert images[0].url == "https://cdnm.sanmar.com/imglib/mresjpg/K420_Black_back_FS06.jpg"
    assert images[0].class_type == "Rear"
    assert images[0].description == "Black"
    primaries = [image.url for image in images if image.is_primary]
    assert primaries == ["https://cdnm.sanmar.com/catalog/images/K420.jpg"]
    assert [image.class_type for image in images] == [
        "Rear", "Front", "Primary", "Swatch", "Custom", "Custom", "Custom", "Custom", "High",
    ]  # fmt: skip


def test_information_service_message_is_not_an_error():
    body = sample(SANMAR / "orderStatus2-getServiceMethods.response.xml")
    response = response_element(body, "GetServiceMethodsResponse", "getServiceMethods")

    messages = raise_for_messages(response)

    assert [(m.code, m.severity, m.description) for m in messages] == [
        (0, "Information", "Information returned successfully.")
    ]


# --- S&S Activewear (real values, re-serialised; deliberately not XSD-valid) ---------------------


def test_ss_6030_derived_sample_parses_leniently():
    reply = read_get_product(sample(SS / "getProduct.response.6030.DERIVED.xml"), image_base_url=SS_ENDPOINT)
    product = reply.product

    assert product.product_id == "6030"
    assert product.name == "Garment-Dyed Heavyweight Pocket T-Shirt - 6030"
    assert product.brand == "Comfort Colors"
    # HTML list in the description: markup gone, entities decoded, every item its own line.
    assert product.description.split("\n") == [
        "6.1 oz./yd², 100% ring spun cotton, garment-dyed, 20 singles",
        "Relaxed fit",
        '7/8" double-needle topstitched collar',
        "Twill taped neck and shoulder for extra durability",
        "Double-needle armhole, sleeve and bottom hems",
        "Single needle left chest pocket with double needle hem",
        "Signature twill label",
    ]
    assert "<" not in product.description and "&" not in product.description
    assert len(product.categories) == 19
    assert "Mens & Unisex" in product.categories  # S&S double-escapes the ampersand
    assert [(p.part_id, p.color, p.size, p.gtin, p.is_closeout) for p in product.parts] == [
        ("B08508437", "Banana", "2XL", "00884074024308", False),
        ("B08508438", "Banana", "3XL", "00884074024309", False),
        ("B08508435", "Banana", "L", "00884074024306", False),
        ("B08508567", "Bay", "2XL", "00884074024079", False),
        ("B08508568", "Bay", "3XL", "00884074024080", False),
        ("B08508565", "Bay", "L", "00884074024077", False),
        ("B08508693", "Chili Pepper", "S", "00884074024292", True),
    ]
    group = product.prices[0]
    assert (group.group_name, group.description, group.prices[0].price) == ("CatalogPrice", "Catalog Pricing", 13.98)
    assert group.prices[0].quantity_max is None  # quantityMax absent
    # Relative primaryImageUrl resolved against the endpoint it came from.
    assert product.images[0].url == "https://promostandards.ssactivewear.com/productdata/v2/Images/Style/1963.jpg"
    assert product.images[0].is_primary
    # Product-level isCloseout false and isCaution nil; no FobPointArray at all.
    assert product.is_closeout is False
    assert reply.fob_ids == []
    assert product.last_change_date == datetime(2022, 6, 15, 8, 56, 22, 537000, tzinfo=UTC)


# --- leniency and namespace handling on variations of the real samples ---------------------------


def test_part_without_apparel_size_has_no_size():
    body = sample(SANMAR / "getProduct.response.MM1000.xml").decode()
    without_size = re.sub(r"<ApparelSize>.*?</ApparelSize>", "", body, flags=re.S)
    assert "ApparelSize" not in without_size

    product = parse_get_product(without_size.encode())

    assert product.parts[0].size is None
    assert product.parts[0].color == "DeepBlack"


def test_parsing_does_not_depend_on_namespace_prefixes():
    original = sample(SANMAR / "getProduct.response.MM1000.xml")
    # ElementTree re-serialises with its own prefixes (ns0:, ns1:, ...) and no default namespace.
    reprefixed = ET.tostring(ET.fromstring(original))
    assert b"<ns2:Product>" in original and b"<productId>" in original
    assert b"<ns2:Product>" not in reprefixed and b"<productId>" not in reprefixed

    assert parse_get_product(reprefixed) == parse_get_product(original)


def test_elements_in_an_unrelated_namespace_are_matched_by_local_name_only():
    body = sample(SANMAR / "getProductSellable.response.xml").replace(
        b'xmlns="http://www.promostandards.org/WSDL/ProductDataService/2.0.0/SharedObjects/"',
        b'xmlns="urn:some-other-namespace"',
    )
    assert parse_product_ids(body, "getProductSellable") == ["LOG105"]


# --- synthetic error samples ---------------------------------------------------------------------


def test_get_product_130_is_a_product_error_with_the_stored_text():
    with pytest.raises(ProductError) as caught:
        parse_get_product(sample(SYNTHETIC / "getProduct.error-130.xml"))
    assert caught.value.describe() == "ProductError: 130 Product Id not found"
    assert caught.value.code == "130"


def test_sellable_105_is_an_auth_error_naming_the_code():
    with pytest.raises(AuthError) as caught:
        parse_product_ids(sample(SYNTHETIC / "getProductSellable.error-105.xml"), "getProductSellable")
    assert caught.value.code == "105"
    assert caught.value.message.startswith("105 Authentication Credentials failed")


@pytest.mark.parametrize(
    ("filename", "operation", "code"),
    [
        ("getProductDateModified.error-120.xml", "getProductDateModified", "120"),
        ("getProductCloseOut.error-115.xml", "getProductCloseOut", "115"),
    ],
)
def test_other_error_codes_fail_with_the_code_named(filename, operation, code):
    with pytest.raises(ProductError) as caught:
        parse_product_ids(sample(SYNTHETIC / filename), operation)
    assert caught.value.code == code
    assert caught.value.message.startswith(f"{code} ")


def test_warning_with_data_keeps_the_data():
    body = sample(SYNTHETIC / "getProductSellable.warning-with-data.xml")
    assert parse_product_ids(body, "getProductSellable") == ["ABC123"]
    response = response_element(body, "GetProductSellableResponse", "getProductSellable")
    assert [(m.code, m.severity) for m in read_messages(response)] == [(125, "Warning")]


def test_pricing_error_message_shape_is_classified():
    with pytest.raises(ProductError) as caught:
        parse_part_prices(sample(SYNTHETIC / "getConfigurationAndPricing.error-400.xml"))
    assert caught.value.message.startswith("400 productID not found")


def test_media_lower_case_error_message_shape_is_classified():
    with pytest.raises(ProductError) as caught:
        parse_images(sample(SYNTHETIC / "getMediaContent.error-130.xml"))
    assert caught.value.describe() == "ProductError: 130 Product Id not found"
