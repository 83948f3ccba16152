"""Product Data 2.0.0 replies -> canonical values.

``parse_get_product`` turns a ``GetProductResponse`` into the canonical ``Product``; the three
discovery replies become ordered, de-duplicated product ids (``parse_product_ids``).

Leniency (real suppliers deviate from the XSD; docs/adapters/promostandards.md):
timestamps without a zone are UTC; ``fobCountry`` is not checked (SanMar sends ``USA``); a missing
``FobPointArray`` (S&S) is fine; descriptions may hold HTML; parts without ``ApparelSize`` have no
size; ``quantityMax`` 2147483647 (any value over 10^9) means "no upper bound"; nil booleans are
false; a relative ``primaryImageUrl`` is resolved against the endpoint. Price-break quantities follow
the quantity rule (``apihub.adapters.answers``): a break whose ``quantityMin`` is refused is left out
with a note; a ``NaN``/``Infinity`` price is no price (the break is left out). A part listed twice is
kept as first listed, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

from apihub.adapters.answers import QUANTITY_MAX, quantity
from apihub.adapters.promostandards.markup import paragraphs_to_text, unescape_label
from apihub.adapters.promostandards.messages import raise_for_messages
from apihub.adapters.promostandards.soap import (
    boolean,
    child,
    children,
    decimal,
    items,
    local,
    response_element,
    text,
    timestamp,
)
from apihub.errors import ProductError
from apihub.models import PriceBreak, PriceGroup, Product, ProductImage, ProductPart

INT32_MAX = 2147483647

# discovery operation -> (reply element, array element, item element)
DISCOVERY_REPLIES = {
    "getProductSellable": ("GetProductSellableResponse", "ProductSellableArray", "ProductSellable"),
    "getProductDateModified": ("GetProductDateModifiedResponse", "ProductDateModifiedArray", "ProductDateModified"),
    "getProductCloseOut": ("GetProductCloseOutResponse", "ProductCloseOutArray", "ProductCloseOut"),
}


def parse_product_ids(body: bytes, operation: str) -> list[str]:
    """Distinct product ids of a discovery reply, in the supplier's order.

    The lists are per part (one entry per colour/size), so one product appears many times.
    """
    reply, array, item = DISCOVERY_REPLIES[operation]
    response = response_element(body, reply, operation)
    raise_for_messages(response, operation)
    seen: dict[str, None] = {}
    for entry in items(response, array, item):
        product_id = text(entry, "productId")
        if product_id:
            seen.setdefault(product_id, None)
    return list(seen)


@dataclass(frozen=True)
class GetProductReply:
    product: Product
    fob_ids: list[str]


def parse_get_product(body: bytes, *, image_base_url: str | None = None) -> Product:
    """A ``GetProductResponse`` as the canonical product (raises the classified message errors)."""
    return read_get_product(body, image_base_url=image_base_url).product


def read_get_product(body: bytes, *, image_base_url: str | None = None) -> GetProductReply:
    """The canonical product plus the FOB point ids that PPC requests need."""
    response = response_element(body, "GetProductResponse", "getProduct")
    raise_for_messages(response, "getProduct")
    element = child(response, "Product")
    if element is None:
        raise ProductError("130 Product Id not found (reply holds no Product)", code="130")
    return GetProductReply(product=normalise_product(element, image_base_url=image_base_url), fob_ids=fob_ids(element))


def normalise_product(element: Element, *, image_base_url: str | None = None) -> Product:
    product_id = text(element, "productId")
    if not product_id:
        raise ProductError("getProduct: reply has no productId")
    descriptions: list[str] = []
    categories: list[str] = []
    prices: list[PriceGroup] = []
    parts: list[ProductPart] = []
    fields: dict[str, Element] = {}
    notes: list[str] = []
    # One pass over the product's children: dispatch on the local name.
    for item in element:
        name = local(item.tag)
        if name == "description":
            if item.text and item.text.strip():
                descriptions.append(item.text)
        elif name == "ProductCategoryArray":
            categories.extend(_categories(item))
        elif name == "ProductPriceGroupArray":
            prices.extend(_price_group(group, notes) for group in children(item, "ProductPriceGroup"))
        elif name == "ProductPartArray":
            parts.extend(_part(part) for part in children(item, "ProductPart"))
        else:
            fields.setdefault(name, item)
    parts = _first_of_each(parts, notes)

    images: list[ProductImage] = []
    primary = text(fields.get("primaryImageUrl"))
    if primary:
        images.append(ProductImage(url=resolve_url(primary, image_base_url), is_primary=True, class_type="Primary"))
    brand = text(fields.get("productBrand"))
    closeout = boolean(element, "isCloseout") or (bool(parts) and all(p.is_closeout for p in parts))
    return Product(
        product_id=product_id,
        name=" ".join((text(fields.get("productName")) or "").split()),
        brand=unescape_label(brand) if brand else None,
        description=paragraphs_to_text(descriptions),
        categories=categories,
        parts=parts,
        images=images,
        prices=prices,
        is_closeout=closeout,
        last_change_date=timestamp(text(fields.get("lastChangeDate"))),
        notes=notes,
    )


def _first_of_each(parts: list[ProductPart], notes: list[str]) -> list[ProductPart]:
    """A part listed twice is kept as first listed, with a note (the rule for Inventory's parts too)."""
    kept: dict[str, ProductPart] = {}
    for part in parts:
        if part.part_id in kept:
            notes.append(f"part {part.part_id} was listed again; the first listing is kept")
        else:
            kept[part.part_id] = part
    return list(kept.values())


def fob_ids(product: Element) -> list[str]:
    """The product's FOB point ids (PPC needs one); empty when the supplier sent none (S&S)."""
    return [fob for fob in (text(p, "fobId") for p in items(product, "FobPointArray", "FobPoint")) if fob]


def resolve_url(url: str, base: str | None) -> str:
    """Absolute URLs pass through; relative ones are resolved against ``base`` (the endpoint)."""
    url = url.strip()
    if "://" in url or not base:
        return url
    return urljoin(base, url)


def _categories(array: Element) -> list[str]:
    found: list[str] = []
    for entry in children(array, "ProductCategory"):
        category = text(entry, "category")
        if not category:
            continue
        label = unescape_label(category)
        sub = text(entry, "subCategory")
        if sub:
            label = f"{label} > {unescape_label(sub)}"
        if label not in found:
            found.append(label)
    return found


def _price_group(group: Element, notes: list[str]) -> PriceGroup:
    name = text(group, "groupName") or ""
    breaks = []
    for price in items(group, "ProductPriceArray", "ProductPrice"):
        value = decimal(price, "price")
        if value is None:
            continue
        # Quantities by the quantity rule (apihub.adapters.answers): a break whose quantityMin is
        # refused cannot be placed and is left out; a refused quantityMax is no upper bound.
        low = quantity(text(price, "quantityMin"), "ProductPrice quantityMin")
        high = quantity(text(price, "quantityMax"), "ProductPrice quantityMax")
        if low.warning:
            notes.append(f"{low.warning}; that price break is left out")
            continue
        if high.warning and not _unbounded(text(price, "quantityMax")):
            notes.append(high.warning)
        quantity_max = int(high.value) if high.value is not None else None
        breaks.append(
            PriceBreak(
                quantity_min=max(1, int(low.value or 1)),
                quantity_max=None if quantity_max is None or quantity_max >= INT32_MAX else quantity_max,
                price=value,
                price_type=name or "List",
            )
        )
    return PriceGroup(
        group_name=name,
        currency=(text(group, "currency") or "USD").upper(),
        description=text(group, "description") or "",
        prices=breaks,
    )


def _unbounded(raw: str | None) -> bool:
    """A ``quantityMax`` over ``QUANTITY_MAX`` (2147483647 in the spec's samples) says "no upper bound"."""
    try:
        return Decimal((raw or "").replace(",", "").strip()) >= QUANTITY_MAX
    except InvalidOperation:  # not a number, or NaN (which compares with nothing)
        return False


def _part(part: Element) -> ProductPart:
    color_names: list[str] = []
    primary_color: str | None = None
    size: str | None = None
    values: dict[str, str | None] = {}
    for item in part:
        name = local(item.tag)
        if name == "ColorArray":
            for entry in children(item, "Color"):
                value = text(entry, "colorName") or text(entry, "standardColorName")
                if value and value not in color_names:
                    color_names.append(value)
        elif name == "primaryColor":
            primary = child(item, "Color")
            primary_color = text(primary, "colorName") or text(primary, "standardColorName")
        elif name == "ApparelSize":
            label = text(item, "labelSize")
            size = text(item, "customSize") if label == "CUSTOM" else label
            size = size or label
        elif name in ("partId", "gtin", "isCloseout"):
            values[name] = text(item)
    part_id = values.get("partId")
    if not part_id:
        raise ProductError("getProduct: a ProductPart has no partId")
    # ColorArray describes the part itself; primaryColor is only a fallback (SanMar's guide sample
    # shows a primaryColor that contradicts the part's ColorArray).
    color = "/".join(color_names) if color_names else primary_color
    closeout = (values.get("isCloseout") or "").lower() in ("true", "1")
    return ProductPart(part_id=part_id, color=color, size=size, gtin=values.get("gtin"), is_closeout=closeout)
