"""Pricing and Configuration 1.0.0 in full: the five operations, and reading one product's pricing.

Requests follow the XSDs' sequences; replies are read leniently by local name (``soap.py``, and
``ppc_replies.py`` for the fields and the configuration's rows):
a row missing what it cannot be used without (a part id, a price that is not a non-negative
decimal, a charge type outside Setup/Run/Order) is left out, anything optional may be absent or
nil, arrays may be empty. Error messages are classified by ``messages.raise_for_messages``; odd
replies raise only the adapter errors (``AuthError``, ``ProductError``, ``TransientError``).
docs/pricing.md lists which PPC field fills which stored field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apihub.adapters.promostandards.ppc_replies import (
    charge_row,
    known_price_type,
    location_row,
    optional_bool,
    part_row,
    reply,
)
from apihub.adapters.promostandards.soap import (
    PRICING,
    child,
    items,
    service_request,
    text,
)
from apihub.errors import AuthError, ProductError, TransientError
from apihub.pricing.models import (
    Charge,
    FobPoint,
    Location,
    PricingSettingIn,
    ProductPricing,
)

LOCALIZATION = (("localizationCountry", "US"), ("localizationLanguage", "en"))

# 130 Product Id not found, 140 Part Id not found: asking again in another way cannot help.
_UNKNOWN_PRODUCT = frozenset({"130", "140"})
# The FOB point asked for when the supplier names none and the setting names none (as catalog imports do).
DEFAULT_FOB_ID = "1"

Credentials = tuple[str, str | None]
# (SOAP action, request body) -> reply body; the adapter's rate-limited, scrubbed HTTP post.
Post = Callable[[str, bytes], bytes]


# --------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------


def fob_points_request(credentials: Credentials, product_id: str) -> bytes:
    return service_request(PRICING, "GetFobPointsRequest", credentials, [("productId", product_id), *LOCALIZATION])


def available_locations_request(credentials: Credentials, product_id: str) -> bytes:
    return service_request(
        PRICING, "GetAvailableLocationsRequest", credentials, [("productId", product_id), *LOCALIZATION]
    )


def available_charges_request(credentials: Credentials, product_id: str | None) -> bytes:
    return service_request(
        PRICING, "GetAvailableChargesRequest", credentials, [("productId", product_id), *LOCALIZATION]
    )


def decoration_colors_request(
    credentials: Credentials, product_id: str, location_id: str, decoration_id: str | None = None
) -> bytes:
    return service_request(
        PRICING,
        "GetDecorationColorsRequest",
        credentials,
        [("locationId", location_id), ("productId", product_id), ("decorationId", decoration_id), *LOCALIZATION],
    )


def configuration_request(
    credentials: Credentials,
    product_id: str,
    fob_id: str,
    *,
    currency: str,
    price_type: str,
    configuration_type: str,
) -> bytes:
    return service_request(
        PRICING,
        "GetConfigurationAndPricingRequest",
        credentials,
        [
            ("productId", product_id),
            ("currency", currency),
            ("fobId", fob_id),
            ("priceType", price_type),
            *LOCALIZATION,
            ("configurationType", configuration_type),
        ],
    )


# --------------------------------------------------------------------------------------------------
# getFobPoints
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedFobPoint:
    """A FOB point and the products it says it ships (empty: it did not say)."""

    point: FobPoint
    product_ids: tuple[str, ...] = ()


def parse_fob_points(body: bytes) -> list[ListedFobPoint]:
    response = reply(body, "GetFobPointsResponse", "getFobPoints")
    found: list[ListedFobPoint] = []
    for item in items(response, "FobPointArray", "FobPoint"):
        fob_id = text(item, "fobId")
        if fob_id is None:
            continue
        currencies = [
            c
            for c in (text(cur, "currency") for cur in items(item, "CurrencySupportedArray", "CurrencySupported"))
            if c
        ]
        point = FobPoint(
            fob_id=fob_id,
            city=text(item, "fobCity"),
            state=text(item, "fobState"),
            postal_code=text(item, "fobPostalCode"),
            country=text(item, "fobCountry"),
            currencies=list(dict.fromkeys(c.upper() for c in currencies)),
        )
        products = tuple(p for p in (text(prod, "productId") for prod in items(item, "ProductArray", "Product")) if p)
        found.append(ListedFobPoint(point=point, product_ids=products))
    return found


# --------------------------------------------------------------------------------------------------
# getAvailableLocations, getAvailableCharges, getDecorationColors
# --------------------------------------------------------------------------------------------------


def parse_available_locations(body: bytes) -> list[Location]:
    response = reply(body, "GetAvailableLocationsResponse", "getAvailableLocations")
    found: list[Location] = []
    for item in items(response, "AvailableLocationArray", "AvailableLocation"):
        location_id = text(item, "locationId")
        if location_id is not None:
            found.append(Location(location_id=location_id, name=text(item, "locationName")))
    return found


def parse_available_charges(body: bytes) -> list[Charge]:
    response = reply(body, "GetAvailableChargesResponse", "getAvailableCharges")
    found: list[Charge] = []
    for item in items(response, "AvailableChargeArray", "AvailableCharge"):
        charge = charge_row(item, prices=[])
        if charge is not None:
            found.append(charge)
    return found


@dataclass(frozen=True)
class DecorationColors:
    product_id: str | None
    location_id: str | None
    colors: list[tuple[str, str | None]] = field(default_factory=list)
    methods: list[tuple[str, str | None]] = field(default_factory=list)
    pms_match: bool = False
    full_color: bool = False


def parse_decoration_colors(body: bytes) -> DecorationColors:
    response = reply(body, "GetDecorationColorsResponse", "getDecorationColors")
    colors = child(response, "DecorationColors")
    return DecorationColors(
        product_id=text(colors, "productId"),
        location_id=text(colors, "locationId"),
        colors=[
            (color_id, text(item, "colorName"))
            for item in items(colors, "ColorArray", "Color")
            if (color_id := text(item, "colorId")) is not None
        ],
        methods=[
            (decoration_id, text(item, "decorationName"))
            for item in items(colors, "DecorationMethodArray", "DecorationMethod")
            if (decoration_id := text(item, "decorationId")) is not None
        ],
        pms_match=optional_bool(colors, "pmsMatch"),
        full_color=optional_bool(colors, "fullColor"),
    )


# --------------------------------------------------------------------------------------------------
# getConfigurationAndPricing
# --------------------------------------------------------------------------------------------------


def parse_configuration(body: bytes, *, fob_id: str, currency: str, price_type: str) -> ProductPricing:
    """One configuration reply -> the product's pricing at ``fob_id`` (the reply's own productId,
    currency and priceType win over what was asked, since they say what the prices are in)."""
    response = reply(body, "GetConfigurationAndPricingResponse", "getConfigurationAndPricing")
    configuration = child(response, "Configuration")
    if configuration is None:
        raise ProductError("getConfigurationAndPricing: reply has no Configuration")
    product_id = text(configuration, "productId")
    if product_id is None:
        raise ProductError("getConfigurationAndPricing: Configuration has no productId")
    answered_type = text(configuration, "priceType")
    return ProductPricing(
        product_id=product_id,
        fob_id=fob_id,
        currency=(text(configuration, "currency") or currency).upper(),
        price_type=known_price_type(answered_type) or price_type,
        parts=[part for part in map(part_row, items(configuration, "PartArray", "Part")) if part is not None],
        locations=[
            loc for loc in map(location_row, items(configuration, "LocationArray", "Location")) if loc is not None
        ],
    )


# --------------------------------------------------------------------------------------------------
# Reading one product's pricing
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricingSetting:
    """The supplier's ``pricing`` setting: which FOB points, price types and currencies to read.
    Empty ``fob_ids``: the first FOB point the supplier lists for the product."""

    fob_ids: tuple[str, ...] = ()
    price_types: tuple[str, ...] = ("Net",)
    currencies: tuple[str, ...] = ("USD",)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PricingSetting:
        """The setting in a supplier's ``protocol_config`` (checked when the supplier was saved)."""
        checked = PricingSettingIn.model_validate(config.get("pricing") or {})
        return cls(
            fob_ids=tuple(dict.fromkeys(checked.fob_ids)),
            price_types=tuple(dict.fromkeys(checked.price_types)),
            currencies=tuple(dict.fromkeys(checked.currencies)),
        )


def read_product_pricing(
    post: Post, credentials: Credentials, product_id: str, setting: PricingSetting, *, as_of: datetime
) -> list[ProductPricing]:
    """Every configured (FOB point, currency, price type) of one product, Decorated.

    ``getFobPoints`` names the FOB points (and their currencies); one ``getConfigurationAndPricing``
    per combination follows. A price type the supplier refuses (a ``ProductError`` such as
    125 Not Supported) is read as List and recorded in ``requested_price_type``; a supplier that
    refuses the Decorated configuration is read Blank. Locations and charges come whole inside the
    Decorated configuration, so getAvailableLocations/getAvailableCharges are not called here.
    """
    try:
        listed = parse_fob_points(post("getFobPoints", fob_points_request(credentials, product_id)))
    except ProductError as exc:
        if exc.code in _UNKNOWN_PRODUCT:
            raise
        listed = []  # getFobPoints refused (125 Not Supported, say): the configured ids are asked as they are
    points = [fob.point for fob in listed if not fob.product_ids or product_id in fob.product_ids]
    wanted = _fob_ids(setting, points)
    result: list[ProductPricing] = []
    for fob_id in wanted:
        point = next((p for p in points if p.fob_id == fob_id), None)
        currencies = [c for c in setting.currencies if point is None or not point.currencies or c in point.currencies]
        for currency in currencies:
            for price_type in setting.price_types:
                pricing = _configuration(post, credentials, product_id, fob_id, currency, price_type)
                result.append(pricing.model_copy(update={"fob_points": points, "as_of": as_of}))
    return result


def _fob_ids(setting: PricingSetting, points: Sequence[FobPoint]) -> list[str]:
    listed = [point.fob_id for point in points]
    if setting.fob_ids:
        return [fob_id for fob_id in setting.fob_ids if not listed or fob_id in listed]
    return listed[:1] or [DEFAULT_FOB_ID]


def _configuration(
    post: Post, credentials: Credentials, product_id: str, fob_id: str, currency: str, price_type: str
) -> ProductPricing:
    attempts = [(price_type, "Decorated"), (price_type, "Blank")]
    if price_type != "List":
        attempts += [("List", "Decorated"), ("List", "Blank")]
    refusal: ProductError | None = None
    for asked_type, configuration_type in attempts:
        body = post(
            "getConfigurationAndPricing",
            configuration_request(
                credentials,
                product_id,
                fob_id,
                currency=currency,
                price_type=asked_type,
                configuration_type=configuration_type,
            ),
        )
        try:
            pricing = parse_configuration(body, fob_id=fob_id, currency=currency, price_type=asked_type)
        except (AuthError, TransientError):
            raise
        except ProductError as exc:
            if exc.code in _UNKNOWN_PRODUCT:  # no other request would help
                raise
            refusal = exc
            continue
        if asked_type != price_type:
            return pricing.model_copy(update={"requested_price_type": price_type})
        return pricing
    raise refusal or ProductError(f"getConfigurationAndPricing: no configuration for {product_id}")
