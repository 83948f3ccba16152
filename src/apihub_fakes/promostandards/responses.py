"""SOAP replies of the fake supplier, written to validate against the official XSDs.

Namespace placement follows the schemas: elements declared locally inside a service's response
schema live in the service namespace (prefix ``tns`` here, ``ns2`` at SanMar), referenced shared
elements in the ``SharedObjects`` namespace (the default namespace here, as at SanMar). The prefixes
deliberately differ from SanMar's so that prefix-dependent parsing would show up in tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from apihub_fakes.promostandards.catalog import FOB_POINTS, FakePart, FakeProduct
from apihub_fakes.promostandards.stock import PartStock

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PD = "http://www.promostandards.org/WSDL/ProductDataService/2.0.0/"
PD_SHARED = PD + "SharedObjects/"
PPC = "http://www.promostandards.org/WSDL/PricingAndConfiguration/1.0.0/"
PPC_SHARED = PPC + "SharedObjects/"
MEDIA = "http://www.promostandards.org/WSDL/MediaService/1.0.0/"
MEDIA_SHARED = MEDIA + "SharedObjects/"
INVENTORY = "http://www.promostandards.org/WSDL/Inventory/2.0.0/"
INVENTORY_SHARED = INVENTORY + "SharedObjects/"
NIL = f' xmlns:xsi="{XSI}" xsi:nil="true"'


def el(name: str, value: object | None) -> str:
    """``<name>value</name>`` (escaped); nothing when ``value`` is None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def nil(name: str) -> str:
    return f"<{name}{NIL}/>"


def stamp(value: datetime, zoned: bool = True) -> str:
    """``xsd:dateTime``; ``zoned=False`` mimics SanMar's zone-less timestamps (meaning UTC)."""
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + "Z" if zoned else text + ".000"


def envelope(service: str, shared: str, response: str, inner: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<S:Envelope xmlns:S="{SOAP_ENV}"><S:Body>'
        f'<tns:{response} xmlns:tns="{service}" xmlns="{shared}">{inner}</tns:{response}>'
        f"</S:Body></S:Envelope>"
    ).encode()


# --------------------------------------------------------------------------------------------------
# Product Data 2.0.0
# --------------------------------------------------------------------------------------------------


def service_messages(code: int, description: str, severity: str = "Error") -> str:
    return (
        "<ServiceMessageArray><ServiceMessage>"
        f"{el('code', code)}{el('description', description)}{el('severity', severity)}"
        "</ServiceMessage></ServiceMessageArray>"
    )


def pd_error(response: str, code: int, description: str) -> bytes:
    return envelope(PD, PD_SHARED, response, service_messages(code, description))


def pd_rows(response: str, array: str, item: str, rows: Iterable[tuple[str, str]]) -> bytes:
    """A discovery reply: one row per part. The array is left out when empty (it needs 1+ items)."""
    body = "".join(f"<tns:{item}>{el('productId', p)}{el('partId', part)}</tns:{item}>" for p, part in rows)
    return envelope(PD, PD_SHARED, response, f"<tns:{array}>{body}</tns:{array}>" if body else "")


def sellable_response(rows: Iterable[tuple[str, str]]) -> bytes:
    return pd_rows("GetProductSellableResponse", "ProductSellableArray", "ProductSellable", rows)


def date_modified_response(rows: Iterable[tuple[str, str]]) -> bytes:
    return pd_rows("GetProductDateModifiedResponse", "ProductDateModifiedArray", "ProductDateModified", rows)


def closeout_response(rows: Iterable[tuple[str, str]]) -> bytes:
    return pd_rows("GetProductCloseOutResponse", "ProductCloseOutArray", "ProductCloseOut", rows)


def description_elements(product: FakeProduct) -> str:
    if product.html_description:
        # S&S style: one description holding escaped HTML.
        first, *rest = product.paragraphs
        html = f"<p>{escape(first)}</p><ul>" + "".join(f"<li>{escape(p)}</li>" for p in rest) + "</ul>"
        return el("description", html)
    # SanMar style: one description element per paragraph.
    return "".join(el("description", p) for p in product.paragraphs)


def part_xml(part: FakePart, effective: str) -> str:
    size = f"<ApparelSize>{el('apparelStyle', 'Unisex')}{el('labelSize', part.size)}</ApparelSize>" if part.size else ""
    color = f"<Color>{el('hex', part.hex)}{el('colorName', part.color)}</Color>"
    return (
        "<tns:ProductPart>"
        f"{el('partId', part.part_id)}"
        f"<tns:primaryColor>{color}</tns:primaryColor>"
        f"<tns:ColorArray>{color}</tns:ColorArray>"
        f"{size}"
        f"{el('gtin', part.gtin)}{el('isRushService', False)}"
        f"{nil('endDate')}{el('effectiveDate', effective)}"
        f"{el('isCloseout', part.is_closeout)}{el('isCaution', False)}{el('isOnDemand', False)}{el('isHazmat', False)}"
        "</tns:ProductPart>"
    )


def product_response(product: FakeProduct) -> bytes:
    # Odd products use SanMar's zone-less timestamps (the adapter must read them as UTC).
    zoned = int(product.product_id[-1]) % 2 == 0
    effective = stamp(product.created, zoned)
    category = f"<ProductCategory>{el('category', product.category)}{el('subCategory', product.sub_category)}"
    fobs = "".join(
        f"<FobPoint>{el('fobId', f[0])}{el('fobCity', f[1])}{el('fobState', f[2])}"
        f"{el('fobPostalCode', f[3])}{el('fobCountry', f[4])}</FobPoint>"
        for f in FOB_POINTS
        if f[0] in product.fob_ids
    )
    inner = (
        "<tns:Product>"
        f"{el('productId', product.product_id)}{el('productName', product.name)}"
        f"{description_elements(product)}"
        f"{nil('priceExpiresDate')}"
        f"{el('productBrand', product.brand)}"
        f"{el('tns:export', False)}"
        f"<tns:ProductCategoryArray>{category}</ProductCategory></tns:ProductCategoryArray>"
        f"{el('primaryImageUrl', product.image)}"
        "<tns:ProductPriceGroupArray><ProductPriceGroup><ProductPriceArray><ProductPrice>"
        f"{el('quantityMin', 1)}{el('price', f'{product.list_price:.2f}')}"
        "</ProductPrice></ProductPriceArray>"
        f"{el('groupName', 'List')}{el('currency', 'USD')}"
        "</ProductPriceGroup></tns:ProductPriceGroupArray>"
        f"{el('complianceInfoAvailable', False)}"
        f"<tns:ProductPartArray>{''.join(part_xml(p, effective) for p in product.parts)}</tns:ProductPartArray>"
        f"{el('tns:lastChangeDate', stamp(product.last_change, zoned))}"
        f"{el('tns:creationDate', stamp(product.created, zoned))}"
        f"{nil('endDate')}{el('effectiveDate', effective)}"
        f"{el('isCaution', False)}{el('isCloseout', product.is_closeout)}"
        f"<FobPointArray>{fobs}</FobPointArray>"
        "</tns:Product>"
    )
    return envelope(PD, PD_SHARED, "GetProductResponse", inner)


# --------------------------------------------------------------------------------------------------
# Pricing and Configuration 1.0.0
# --------------------------------------------------------------------------------------------------


def ppc_error(code: int, description: str) -> bytes:
    inner = f"<ErrorMessage>{el('code', code)}{el('description', description)}</ErrorMessage>"
    return envelope(PPC, PPC_SHARED, "GetConfigurationAndPricingResponse", inner)


def part_description(product: FakeProduct, part: FakePart) -> str:
    return " ".join(filter(None, (product.name, part.color, part.size)))


def pricing_response(product: FakeProduct, fob_id: str, price_type: str = "Net") -> bytes:
    parts = []
    for part in product.parts:
        rows = "".join(
            "<tns:PartPrice>"
            f"{el('tns:minQuantity', quantity)}{el('tns:price', f'{price:.2f}')}{el('tns:priceUom', 'EA')}"
            f"{el('tns:priceEffectiveDate', stamp(product.created))}{nil('tns:priceExpiryDate')}"
            "</tns:PartPrice>"
            for quantity, price in part.net_prices
        )
        parts.append(
            "<tns:Part>"
            f"{el('partId', part.part_id)}{el('partDescription', part_description(product, part))}"
            f"<tns:PartPriceArray>{rows}</tns:PartPriceArray>"
            f"{el('partGroup', 1)}{el('partGroupRequired', True)}{el('partGroupDescription', 'Blank product')}"
            f"{el('ratio', 1)}{el('defaultPart', False)}"
            "</tns:Part>"
        )
    postal = next((f[3] for f in FOB_POINTS if f[0] == fob_id), None)
    inner = (
        "<tns:Configuration>"
        f"<tns:PartArray>{''.join(parts)}</tns:PartArray>"
        f"{el('productId', product.product_id)}{el('currency', 'USD')}"
        f"<FobArray><Fob>{el('fobId', fob_id)}{el('fobPostalCode', postal)}</Fob></FobArray>"
        f"{el('priceType', price_type)}"
        "</tns:Configuration>"
    )
    return envelope(PPC, PPC_SHARED, "GetConfigurationAndPricingResponse", inner)


# --------------------------------------------------------------------------------------------------
# Media Content 1.1.0
# --------------------------------------------------------------------------------------------------

PRIMARY_IMAGE_HOST = "https://images.example.invalid"


def media_error(code: int, description: str) -> bytes:
    inner = f"<errorMessage>{el('code', code)}{el('description', description)}</errorMessage>"
    return envelope(MEDIA, MEDIA_SHARED, "GetMediaContentResponse", inner)


def media_images(product: FakeProduct) -> list[tuple[str, str | None, str, str, str | None]]:
    """(url, partId, classTypeId, classTypeName, color) for every image of the product."""
    images: list[tuple[str, str | None, str, str, str | None]] = [
        (f"{PRIMARY_IMAGE_HOST}/{product.product_id}/primary.jpg", None, "1006", "Primary", None)
    ]
    for color in product.colors:
        first_part = next(p for p in product.parts if p.color == color)
        slug = color.lower().replace(" ", "-")
        images.append(
            (f"{PRIMARY_IMAGE_HOST}/{product.product_id}/{slug}_front.jpg", first_part.part_id, "1007", "Front", color)
        )
    return images


def media_response(product: FakeProduct) -> bytes:
    contents = "".join(
        "<tns:MediaContent>"
        f"{el('productId', product.product_id)}{el('partId', part_id)}{el('tns:url', url)}{el('mediaType', 'Image')}"
        f"<tns:ClassTypeArray><tns:ClassType>{el('tns:classTypeId', class_id)}{el('tns:classTypeName', class_name)}"
        "</tns:ClassType></tns:ClassTypeArray>"
        f"{el('tns:color', color)}{el('tns:singlePart', False)}"
        "</tns:MediaContent>"
        for url, part_id, class_id, class_name, color in media_images(product)
    )
    return envelope(
        MEDIA, MEDIA_SHARED, "GetMediaContentResponse", f"<tns:MediaContentArray>{contents}</tns:MediaContentArray>"
    )


# --------------------------------------------------------------------------------------------------
# Inventory 2.0.0 (RC4 XSD: every element inside the response lives in SharedObjects)
# --------------------------------------------------------------------------------------------------


def inventory_error(code: int, description: str, severity: str = "Error") -> bytes:
    return envelope(
        INVENTORY, INVENTORY_SHARED, "GetInventoryLevelsResponse", service_messages(code, description, severity)
    )


def quantity(value: float, uom: str = "EA") -> str:
    return f"<Quantity>{el('uom', uom)}{el('value', value)}</Quantity>"


def part_inventory_xml(product: FakeProduct, stock: PartStock) -> str:
    part = stock.part
    locations = ""
    for location in stock.locations:
        future = "".join(
            f"<FutureAvailability>{quantity(f.quantity)}{el('availableOn', stamp(f.available_on))}</FutureAvailability>"
            for f in location.future
        )
        locations += (
            "<InventoryLocation>"
            f"{el('inventoryLocationId', location.location_id)}{el('inventoryLocationName', location.name)}"
            f"{el('postalCode', location.postal_code)}{el('country', location.country)}"
            f"<inventoryLocationQuantity>{quantity(location.quantity)}</inventoryLocationQuantity>"
            f"{f'<FutureAvailabilityArray>{future}</FutureAvailabilityArray>' if future else ''}"
            "</InventoryLocation>"
        )
    available = (
        f"<quantityAvailable>{quantity(stock.quantity_available)}</quantityAvailable>"
        if stock.quantity_available is not None
        else ""
    )
    return (
        "<PartInventory>"
        f"{el('partId', part.part_id)}{el('mainPart', True)}{el('partColor', part.color)}{el('labelSize', part.size)}"
        f"{el('partDescription', part_description(product, part))}"
        f"{available}"
        f"{el('manufacturedItem', stock.manufactured_item)}{el('buyToOrder', stock.buy_to_order)}"
        f"{el('replenishmentLeadTime', stock.lead_time_days)}"
        f"{f'<InventoryLocationArray>{locations}</InventoryLocationArray>' if locations else ''}"
        f"{el('lastModified', stamp(stock.last_modified))}"
        "</PartInventory>"
    )


def inventory_response(product: FakeProduct, stock: list[PartStock], notes: Sequence[tuple[int, str]] = ()) -> bytes:
    """Every part's stock; ``notes`` (code, description) ride along as Warning messages."""
    parts = "".join(part_inventory_xml(product, s) for s in stock)
    inner = f"<Inventory>{el('productId', product.product_id)}"
    inner += f"<PartInventoryArray>{parts}</PartInventoryArray>" if parts else ""
    inner += "</Inventory>"
    if notes:
        messages = "".join(
            f"<ServiceMessage>{el('code', code)}{el('description', text)}{el('severity', 'Warning')}</ServiceMessage>"
            for code, text in notes
        )
        inner += f"<ServiceMessageArray>{messages}</ServiceMessageArray>"
    return envelope(INVENTORY, INVENTORY_SHARED, "GetInventoryLevelsResponse", inner)


# --------------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------------


def soap_fault(code: str = "Server", message: str = "Internal server error") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="{SOAP_ENV}"><S:Body><S:Fault>'
        f"{el('faultcode', f'S:{code}')}{el('faultstring', message)}"
        "</S:Fault></S:Body></S:Envelope>"
    ).encode()


def malformed(response: str) -> bytes:
    """A reply cut off mid-element (served with HTTP 200 and a matching Content-Length)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="{SOAP_ENV}"><S:Body>'
        f'<tns:{response} xmlns:tns="{PD}"><tns:Product><productId>'
    ).encode()
