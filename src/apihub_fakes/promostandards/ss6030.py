"""A ``getProduct`` reply shaped like S&S Activewear's style 6030 (for benchmarks and tests).

The real reply (../shared/promostandards/samples/ss-activewear-6030) has 423 parts over 76 colours,
each part with a colour (hex, PMS), an ``ApparelSize``, a ``Dimension`` with nil depth/height/width,
a shipping package, and nil dates; the product has an HTML description, 19 categories, a relative
``primaryImageUrl`` and no ``FobPointArray``. ``ss6030_get_product_response`` generates the same
shape deterministically: 76 colours x S..3XL, with the last 33 colours lacking 3XL -> 423 parts.

``quirks=False`` gives the XSD-valid variant (a ``FobPointArray`` is added).
"""

from __future__ import annotations

import random

from apihub_fakes.promostandards.responses import PD, PD_SHARED, el, envelope, nil

SIZES = ("S", "M", "L", "XL", "2XL", "3XL")
CATEGORIES = (
    "6-6.9 oz", "Adult", "Cotton - 100%", "Cotton - Ringspun", "Fashion", "Garment Dyed", "Go To Fashion",
    "Heavy (Over 6 oz)", "Mens &amp; Unisex", "Neons", "No Visible Logos", "Pockets", "Ringspun", "Screen Print",
    "Short Sleeves", "T-Shirts", "Tagged", "Tops", "Unisex",
)  # fmt: skip
DESCRIPTION = (
    "<ul><li>6.1 oz./yd², 100% ring spun cotton,&nbsp;garment-dyed, 20 singles</li><li>Relaxed fit</li>"
    "<li>7/8&quot; double-needle topstitched collar</li><li>Twill taped neck and shoulder for extra durability</li>"
    "<li>Double-needle armhole, sleeve and bottom hems</li><li>Single needle left chest pocket with double needle hem"
    "</li><li>Signature twill label</li></ul>"
)
DESCRIPTION_TEXT = (
    "6.1 oz./yd², 100% ring spun cotton, garment-dyed, 20 singles\nRelaxed fit\n"
    '7/8" double-needle topstitched collar\nTwill taped neck and shoulder for extra durability\n'
    "Double-needle armhole, sleeve and bottom hems\nSingle needle left chest pocket with double needle hem\n"
    "Signature twill label"
)
COLOURS = 76
MISSING_3XL = 33


def ss6030_colours(count: int = COLOURS, seed: int = 6030) -> list[tuple[str, str, str]]:
    """(name, hex, pms) for ``count`` colours, deterministic."""
    rng = random.Random(seed)
    return [
        (f"Colour {index:02d}", f"#{rng.randrange(0x1000000):06X}", str(rng.randint(100, 7999)))
        for index in range(count)
    ]


def ss6030_parts(count: int = COLOURS) -> list[tuple[str, str, str, str, str]]:
    """(partId, colour, hex, pms, size) in the order the reply lists them."""
    parts = []
    for c, (name, hex_code, pms) in enumerate(ss6030_colours(count)):
        sizes = SIZES[:-1] if c >= count - MISSING_3XL else SIZES
        for s, size in enumerate(sizes):
            parts.append((f"B{8508000 + c * 10 + s:08d}", name, hex_code, pms, size))
    return parts


def ss6030_get_product_response(colours: int = COLOURS, *, quirks: bool = True) -> bytes:
    parts_xml = []
    for index, (part_id, colour, hex_code, pms, size) in enumerate(ss6030_parts(colours)):
        parts_xml.append(
            "<tns:ProductPart>"
            f"{el('partId', part_id)}{el('countryOfOrigin', 'HN')}"
            f"<tns:ColorArray><Color>{el('hex', hex_code)}{el('approximatePms', pms)}{el('colorName', colour)}</Color>"
            "</tns:ColorArray>"
            f"<ApparelSize>{el('apparelStyle', 'Unisex')}{el('labelSize', size)}</ApparelSize>"
            f"<Dimension>{el('dimensionUom', 'MM')}{nil('depth')}{nil('height')}{nil('width')}"
            f"{el('weightUom', 'LB')}{el('weight', '0.7813')}</Dimension>"
            f"{el('gtin', f'{884074020000 + index:014d}')}{el('isRushService', False)}"
            "<tns:ShippingPackageArray><ShippingPackage>"
            f"{el('packageType', 'Box')}{el('quantity', 60)}{el('dimensionUom', 'IN')}{el('depth', '24.0000')}"
            f"{el('height', '13.2500')}{el('width', '15.5000')}{el('weightUom', 'LB')}{el('weight', '47.00')}"
            "</ShippingPackage></tns:ShippingPackageArray>"
            f"{nil('endDate')}{nil('effectiveDate')}"
            f"{el('isCloseout', index % 50 == 49)}{el('isCaution', False)}{el('isOnDemand', False)}"
            f"{el('isHazmat', False)}"
            "</tns:ProductPart>"
        )
    # el() escapes again: "Mens &amp;amp; Unisex" on the wire, as S&S sends it.
    categories = "".join(f"<ProductCategory>{el('category', c)}</ProductCategory>" for c in CATEGORIES)
    fob = (
        ""
        if quirks
        else "<FobPointArray><FobPoint>"
        f"{el('fobId', 'IL')}{el('fobCity', 'Bolingbrook')}{el('fobState', 'IL')}{el('fobPostalCode', '60440')}"
        f"{el('fobCountry', 'US')}</FobPoint></FobPointArray>"
    )
    inner = (
        "<tns:Product>"
        f"{el('productId', '6030')}{el('productName', 'Garment-Dyed Heavyweight Pocket T-Shirt - 6030')}"
        f"{el('description', DESCRIPTION)}{nil('priceExpiresDate')}{el('productBrand', 'Comfort Colors')}"
        f"{el('tns:export', False)}<tns:ProductCategoryArray>{categories}</tns:ProductCategoryArray>"
        f"{el('primaryImageUrl', 'Images/Style/1963.jpg')}"
        "<tns:ProductPriceGroupArray><ProductPriceGroup><ProductPriceArray><ProductPrice>"
        f"{el('quantityMin', 1)}{el('price', '13.98')}</ProductPrice></ProductPriceArray>"
        f"{el('groupName', 'CatalogPrice')}{el('currency', 'USD')}{el('description', 'Catalog Pricing')}"
        "</ProductPriceGroup></tns:ProductPriceGroupArray>"
        f"{nil('complianceInfoAvailable')}"
        f"<tns:ProductPartArray>{''.join(parts_xml)}</tns:ProductPartArray>"
        f"{el('tns:lastChangeDate', '2022-06-15T08:56:22.537')}{el('tns:creationDate', '2015-12-15T08:53:40.957')}"
        f"{nil('endDate')}{nil('effectiveDate')}{nil('isCaution') if quirks else el('isCaution', False)}"
        f"{el('isCloseout', False)}{fob}"
        "</tns:Product>"
    )
    return envelope(PD, PD_SHARED, "GetProductResponse", inner)
