"""Pricing and Configuration 1.0.0 replies of the fake supplier (all five operations).

The demo pricing of every product: two FOB points with different prices (Dallas 5% above Reno;
Dallas also quotes CAD), two decoration locations, screen print on the front with a per-colour
setup charge (repeat price half), an extra-colour run charge and an LTM charge, and embroidery on
the left chest priced by stitch count. Replies are written in the XSDs' element order and
namespaces, so they validate against the official schemas (tests/unit/adapters/test_promostandards_ppc.py).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from apihub.pricing.models import (
    Charge,
    ChargePrice,
    Decoration,
    FobPoint,
    Location,
    Part,
    PartPrice,
    ProductPricing,
)

from apihub_fakes.promostandards.catalog import FOB_POINTS, FakeProduct
from apihub_fakes.promostandards.responses import PPC, PPC_SHARED, el, envelope, nil, stamp

CURRENCIES = {"1": ("USD",), "2": ("USD", "CAD")}
# Price of a FOB point and currency relative to Reno in USD.
FACTORS = {("1", "USD"): Decimal("1"), ("2", "USD"): Decimal("1.05"), ("2", "CAD"): Decimal("1.40")}
# List prices are the Net price marked up by the supplier's catalog discount.
LIST_FACTOR = Decimal("1.6")
SCREEN_PRINT, EMBROIDERY = "1", "2"
FRONT, LEFT_CHEST = "1", "2"


def fob_points() -> list[FobPoint]:
    return [
        FobPoint(
            fob_id=fob_id,
            city=city,
            state=state,
            postal_code=postal,
            country=country,
            currencies=list(CURRENCIES[fob_id]),
        )
        for fob_id, city, state, postal, country in FOB_POINTS
    ]


def _price(value: Decimal | float | str, factor: Decimal) -> str:
    return str((Decimal(str(value)) * factor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def demo_pricing(product: FakeProduct, fob_id: str, currency: str = "USD", price_type: str = "Net") -> ProductPricing:
    """The fake supplier's pricing of ``product`` (raises KeyError for a FOB point/currency it does not serve)."""
    factor = FACTORS[(fob_id, currency)] * (LIST_FACTOR if price_type == "List" else 1)
    created = product.created
    parts = [
        Part(
            part_id=part.part_id,
            description=" ".join(filter(None, (product.name, part.color, part.size))),
            group=1,
            group_required=True,
            ratio="1",
            default=index == 0,
            location_ids=[FRONT, LEFT_CHEST],
            prices=[
                PartPrice(min_quantity=quantity, price=_price(price, factor), uom="EA", effective=created)
                for quantity, price in part.net_prices
            ],
        )
        for index, part in enumerate(product.parts)
    ]

    def row(x: int, y: int, price: str, repeat: str | None = None, y_uom: str = "Colors") -> ChargePrice:
        return ChargePrice(
            x_min_qty=x,
            x_uom="EA",
            y_min_qty=y,
            y_uom=y_uom,
            price=_price(price, factor),
            repeat_price=_price(repeat if repeat is not None else price, factor),
            effective=created,
        )

    screen_print = Decoration(
        decoration_id=SCREEN_PRINT,
        name="Screen Print",
        geometry="Rectangle",
        height="12",
        width="14",
        uom="Colors",
        units_included=1,
        units_included_uom="Colors",
        units_max=6,
        default=True,
        lead_time=7,
        rush_lead_time=3,
        ltm_min_quantity=12,
        charges=[
            Charge(
                charge_id="101",
                name="Screen setup",
                type="setup",
                description="Per colour screen",
                per_location=1,
                per_color=1,
                prices=[row(1, 1, "40.00", "20.00")],
            ),
            Charge(
                charge_id="102",
                name="Extra colour",
                type="run",
                description="Each colour after the first",
                per_location=1,
                per_color=1,
                prices=[row(24, 1, "0.45"), row(72, 1, "0.35"), row(144, 1, "0.25")],
            ),
            Charge(
                charge_id="103",
                name="Less than minimum",
                type="order",
                description="Orders below the minimum",
                applies_ltm=True,
                prices=[row(1, 1, "50.00")],
            ),
        ],
    )
    embroidery = Decoration(
        decoration_id=EMBROIDERY,
        name="Embroidery",
        geometry="Rectangle",
        height="4",
        width="4",
        uom="Stitches",
        units_included=5000,
        units_included_uom="Stitches",
        units_max=15000,
        lead_time=10,
        ltm_min_quantity=6,
        charges=[
            Charge(
                charge_id="201",
                name="Digitizing",
                type="setup",
                description="Tape by stitch count",
                prices=[row(1, 1, "50.00", "0.00", "Stitches"), row(1, 8000, "75.00", "0.00", "Stitches")],
            ),
            Charge(
                charge_id="202",
                name="Embroidery run",
                type="run",
                description="Per piece by stitch count",
                prices=[
                    row(12, 1, "3.50", y_uom="Stitches"),
                    row(12, 8000, "4.25", y_uom="Stitches"),
                    row(72, 1, "3.00", y_uom="Stitches"),
                    row(72, 8000, "3.75", y_uom="Stitches"),
                ],
            ),
        ],
    )
    locations = [
        Location(
            location_id=FRONT,
            name="Front",
            default=True,
            decorations_included=0,
            min_decorations=0,
            max_decorations=1,
            rank=1,
            decorations=[screen_print],
        ),
        Location(
            location_id=LEFT_CHEST,
            name="Left Chest",
            decorations_included=0,
            min_decorations=0,
            max_decorations=1,
            rank=2,
            decorations=[embroidery],
        ),
    ]
    return ProductPricing(
        product_id=product.product_id,
        fob_id=fob_id,
        currency=currency,
        price_type=price_type,
        fob_points=fob_points(),
        parts=parts,
        locations=locations,
    )


# --------------------------------------------------------------------------------------------------
# Replies (XSD element order; locally declared elements in the service namespace ``tns``)
# --------------------------------------------------------------------------------------------------


def _optional(name: str, value: object | None) -> str:
    return nil(name) if value is None else el(name, value)


def _when(name: str, value: datetime | None) -> str:
    return nil(name) if value is None else el(name, stamp(value))


def configuration_response(pricing: ProductPricing, configuration_type: str = "Decorated") -> bytes:
    parts = "".join(_part_xml(part) for part in pricing.parts)
    locations = ""
    if configuration_type == "Decorated" and pricing.locations:
        locations = f"<tns:LocationArray>{''.join(_location_xml(loc) for loc in pricing.locations)}</tns:LocationArray>"
    point = next((p for p in pricing.fob_points if p.fob_id == pricing.fob_id), None)
    inner = (
        "<tns:Configuration>"
        f"<tns:PartArray>{parts}</tns:PartArray>{locations}"
        f"{el('productId', pricing.product_id)}{el('currency', pricing.currency)}"
        f"<FobArray><Fob>{el('fobId', pricing.fob_id)}{el('fobPostalCode', point.postal_code if point else None)}</Fob></FobArray>"
        f"{el('priceType', pricing.price_type)}"
        "</tns:Configuration>"
    )
    return envelope(PPC, PPC_SHARED, "GetConfigurationAndPricingResponse", inner)


def _part_xml(part: Part) -> str:
    rows = "".join(
        "<tns:PartPrice>"
        f"{el('tns:minQuantity', row.min_quantity)}{el('tns:price', row.price)}{el('tns:discountCode', row.discount_code)}"
        f"{el('tns:priceUom', row.uom or 'EA')}{_when('tns:priceEffectiveDate', row.effective)}"
        f"{_when('tns:priceExpiryDate', row.expiry)}"
        "</tns:PartPrice>"
        for row in part.prices
    )
    locations = "".join(f"<tns:LocationId>{el('locationId', lid)}</tns:LocationId>" for lid in part.location_ids)
    return (
        "<tns:Part>"
        f"{el('partId', part.part_id)}{el('partDescription', part.description)}"
        + (f"<tns:PartPriceArray>{rows}</tns:PartPriceArray>" if rows else "")
        + f"{el('partGroup', part.group or 1)}{el('partGroupRequired', part.group_required)}"
        f"{el('partGroupDescription', 'Blank product')}{el('ratio', part.ratio or '1')}{el('defaultPart', part.default)}"
        + (f"<tns:LocationIdArray>{locations}</tns:LocationIdArray>" if locations else "")
        + "</tns:Part>"
    )


def _location_xml(location: Location) -> str:
    return (
        "<tns:Location>"
        f"{el('locationId', location.location_id)}{el('locationName', location.name)}"
        f"<tns:DecorationArray>{''.join(_decoration_xml(d) for d in location.decorations)}</tns:DecorationArray>"
        f"{el('decorationsIncluded', location.decorations_included or 0)}{el('defaultLocation', location.default)}"
        f"{el('maxDecoration', location.max_decorations or 1)}{el('minDecoration', location.min_decorations or 0)}"
        f"{_optional('locationRank', location.rank)}"
        "</tns:Location>"
    )


def _decoration_xml(decoration: Decoration) -> str:
    charges = "".join(_charge_xml(charge) for charge in decoration.charges)
    return (
        "<tns:Decoration>"
        f"{el('decorationId', decoration.decoration_id)}{el('decorationName', decoration.name)}"
        f"{el('decorationGeometry', decoration.geometry or 'Other')}{_optional('decorationHeight', decoration.height)}"
        f"{_optional('decorationWidth', decoration.width)}{_optional('decorationDiameter', decoration.diameter)}"
        f"{el('decorationUom', decoration.uom or 'Other')}"
        f"{el('tns:allowSubForDefaultLocation', False)}{el('tns:allowSubForDefaultMethod', False)}"
        f"{_optional('tns:itemPartQuantityLTM', decoration.ltm_min_quantity)}"
        + (f"<tns:ChargeArray>{charges}</tns:ChargeArray>" if charges else "")
        + f"{el('tns:decorationUnitsIncluded', decoration.units_included)}"
        f"{el('decorationUnitsIncludedUom', decoration.units_included_uom)}{el('decorationUnitsMax', decoration.units_max)}"
        f"{el('tns:defaultDecoration', decoration.default)}{el('tns:leadTime', decoration.lead_time)}"
        f"{el('tns:rushLeadTime', decoration.rush_lead_time)}"
        "</tns:Decoration>"
    )


def _charge_xml(charge: Charge) -> str:
    rows = "".join(
        "<tns:ChargePrice>"
        f"{el('tns:xMinQty', row.x_min_qty)}{el('tns:xUom', row.x_uom or 'EA')}{el('tns:yMinQty', row.y_min_qty)}"
        f"{el('tns:yUom', row.y_uom or 'Other')}{el('tns:price', row.price)}{el('tns:discountCode', row.discount_code)}"
        f"{el('tns:repeatPrice', row.repeat_price or row.price)}{el('tns:repeatDiscountCode', row.repeat_discount_code)}"
        f"{_when('tns:priceEffectiveDate', row.effective)}{_when('tns:priceExpiryDate', row.expiry)}"
        "</tns:ChargePrice>"
        for row in charge.prices
    )
    return (
        "<tns:Charge>"
        f"{el('chargeId', charge.charge_id)}{el('chargeName', charge.name)}{el('chargeDescription', charge.description)}"
        f"{el('chargeType', charge.type.capitalize())}<tns:ChargePriceArray>{rows}</tns:ChargePriceArray>"
        f"{el('tns:chargesAppliesLTM', charge.applies_ltm)}{_optional('tns:chargesPerLocation', charge.per_location)}"
        f"{_optional('tns:chargesPerColor', charge.per_color)}"
        "</tns:Charge>"
    )


def fob_points_response(product_ids: list[str], points: list[FobPoint] | None = None) -> bytes:
    rows = "".join(
        "<tns:FobPoint>"
        f"{el('fobId', point.fob_id)}{el('tns:fobCity', point.city)}{el('tns:fobState', point.state)}"
        f"{el('fobPostalCode', point.postal_code)}{el('tns:fobCountry', point.country)}"
        "<tns:CurrencySupportedArray>"
        + "".join(f"<tns:CurrencySupported>{el('currency', c)}</tns:CurrencySupported>" for c in point.currencies)
        + "</tns:CurrencySupportedArray><tns:ProductArray>"
        + "".join(f"<tns:Product>{el('productId', pid)}</tns:Product>" for pid in product_ids)
        + "</tns:ProductArray></tns:FobPoint>"
        for point in (points if points is not None else fob_points())
    )
    return envelope(PPC, PPC_SHARED, "GetFobPointsResponse", f"<tns:FobPointArray>{rows}</tns:FobPointArray>")


def available_locations_response(pricing: ProductPricing) -> bytes:
    rows = "".join(
        f"<tns:AvailableLocation>{el('locationId', loc.location_id)}{el('locationName', loc.name)}</tns:AvailableLocation>"
        for loc in pricing.locations
    )
    return envelope(
        PPC,
        PPC_SHARED,
        "GetAvailableLocationsResponse",
        f"<tns:AvailableLocationArray>{rows}</tns:AvailableLocationArray>",
    )


def available_charges_response(pricing: ProductPricing) -> bytes:
    rows = "".join(
        "<tns:AvailableCharge>"
        f"{el('chargeId', c.charge_id)}{el('chargeName', c.name)}{el('chargeDescription', c.description)}"
        f"{el('chargeType', c.type.capitalize())}"
        "</tns:AvailableCharge>"
        for loc in pricing.locations
        for d in loc.decorations
        for c in d.charges
    )
    return envelope(
        PPC, PPC_SHARED, "GetAvailableChargesResponse", f"<tns:AvailableChargeArray>{rows}</tns:AvailableChargeArray>"
    )


def decoration_colors_response(product_id: str, location_id: str, pricing: ProductPricing) -> bytes:
    location = next((loc for loc in pricing.locations if loc.location_id == location_id), None)
    methods = "".join(
        f"<tns:DecorationMethod>{el('decorationId', d.decoration_id)}{el('decorationName', d.name)}</tns:DecorationMethod>"
        for d in (location.decorations if location else [])
    )
    colors = "".join(
        f"<tns:Color>{el('colorId', cid)}{el('colorName', name)}</tns:Color>"
        for cid, name in (("1", "White"), ("2", "Black"), ("3", "PMS 286 Blue"))
    )
    inner = (
        "<tns:DecorationColors>"
        f"<tns:ColorArray>{colors}</tns:ColorArray>{el('productId', product_id)}{el('locationId', location_id)}"
        + (f"<tns:DecorationMethodArray>{methods}</tns:DecorationMethodArray>" if methods else "")
        + f"{el('tns:pmsMatch', True)}{el('tns:fullColor', False)}"
        "</tns:DecorationColors>"
    )
    return envelope(PPC, PPC_SHARED, "GetDecorationColorsResponse", inner)


def ppc_error(response: str, code: int, description: str) -> bytes:
    inner = f"<ErrorMessage>{el('code', code)}{el('description', description)}</ErrorMessage>"
    return envelope(PPC, PPC_SHARED, response, inner)
