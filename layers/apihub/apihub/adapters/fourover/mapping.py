"""4Over-style JSON payloads -> the canonical ``Product``.

Mapping decisions (docs/adapters/fourover.md has the full table):

- Parts are the cross product of the product's *colour* option group and its *size* option group
  (group names matched case-insensitively: ``color``/``colour``/``colorspec`` and ``size``). A product
  with neither has one part named after the product. Other option groups (imprint method, stock,
  turnaround...) do not make variants in the canonical model and are left out.
- Base prices are run-size prices: ``product_baseprice`` is the price of the whole run of ``runsize``
  units, so the canonical break is the unit price ``baseprice / runsize`` from ``runsize`` up to the
  next run size minus one. Unscoped base prices form the product's ``Base`` price group; a base price
  scoped to options (``option_uuids``) applies to the parts that carry all of them, and for each run
  size a part takes the most specific price that applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import product as cartesian
from typing import Any
from urllib.parse import urljoin

from apihub.adapters.answers import QUANTITY_MAX
from apihub.errors import ProductError
from apihub.models import PriceBreak, PriceGroup, Product, ProductImage, ProductPart, parse_iso

COLOR_GROUPS = frozenset({"color", "colour", "colors", "colours", "colorspec"})
SIZE_GROUPS = frozenset({"size", "sizes"})
PRICE_TYPE = "Net"
BASE_GROUP = "Base"
# A whole run's price, in its currency: more is no price a print shop charges (and past 10^24 a
# Decimal cannot be rounded to the unit price's four places at all).
RUN_PRICE_MAX = 10**12


@dataclass(frozen=True)
class Option:
    uuid: str
    code: str
    name: str


@dataclass(frozen=True)
class BasePrice:
    runsize: int
    total: Decimal
    option_uuids: frozenset[str]
    currency: str

    @property
    def unit_price(self) -> float:
        return float(round(self.total / self.runsize, 4))


def entities(payload: Any, what: str) -> list[dict[str, Any]]:
    """The ``entities`` list of a 4Over-style response, or ProductError naming what was malformed."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entities"), list):
        raise ProductError(f"malformed {what} response: no 'entities' list", code="malformed")
    return [item for item in payload["entities"] if isinstance(item, dict)]


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def option_groups(payload: Any) -> tuple[list[Option], list[Option]]:
    """(colours, sizes) from an ``/optiongroups`` response; the first group of each kind wins."""
    colors: list[Option] | None = None
    sizes: list[Option] | None = None
    for group in entities(payload, "option groups"):
        kind = text(group.get("product_option_group_name")).lower()
        options = [
            Option(
                uuid=text(opt.get("option_uuid")),
                code=text(opt.get("option_code")) or text(opt.get("option_name")),
                name=text(opt.get("option_name")) or text(opt.get("option_code")),
            )
            for opt in group.get("options") or []
            if isinstance(opt, dict) and (text(opt.get("option_name")) or text(opt.get("option_code")))
        ]
        if not options:
            continue
        if kind in COLOR_GROUPS and colors is None:
            colors = options
        elif kind in SIZE_GROUPS and sizes is None:
            sizes = options
    return colors or [], sizes or []


def base_prices(payload: Any) -> list[BasePrice]:
    """Parse a ``/baseprices`` response. An entry without a usable run size or price is malformed."""
    out: list[BasePrice] = []
    for item in entities(payload, "base prices"):
        try:
            runsize = int(str(item.get("runsize", "")).strip())
            total = Decimal(str(item.get("product_baseprice", "")).strip())
        except (ValueError, InvalidOperation):
            total = Decimal("NaN")
            runsize = 0
        if not 0 < runsize <= QUANTITY_MAX or not total.is_finite() or not 0 <= total <= RUN_PRICE_MAX:
            raise ProductError(
                f"malformed base prices response: runsize must be a whole number from 1 to {QUANTITY_MAX:,}, "
                f"product_baseprice from 0 to {RUN_PRICE_MAX:,}",
                code="malformed",
            )
        uuids = item.get("option_uuids") or []
        out.append(
            BasePrice(
                runsize=runsize,
                total=total,
                option_uuids=frozenset(str(u) for u in uuids if u),
                currency=text(item.get("currency")) or "USD",
            )
        )
    return out


def _breaks(prices: Iterable[BasePrice], runsizes: list[int]) -> list[PriceBreak]:
    """One break per run size; ``quantity_max`` is the next run size of the product minus one."""
    by_size = {p.runsize: p for p in prices}
    out = []
    for size in sorted(by_size):
        later = [r for r in runsizes if r > size]
        out.append(
            PriceBreak(
                quantity_min=size,
                quantity_max=later[0] - 1 if later else None,
                price=by_size[size].unit_price,
                price_type=PRICE_TYPE,
            )
        )
    return out


def part_breaks(prices: list[BasePrice], option_uuids: set[str], runsizes: list[int]) -> list[PriceBreak]:
    """For each run size, the most specific base price whose options the part carries."""
    chosen: dict[int, BasePrice] = {}
    for price in prices:
        if not price.option_uuids <= option_uuids:
            continue
        current = chosen.get(price.runsize)
        if current is None or len(price.option_uuids) > len(current.option_uuids):
            chosen[price.runsize] = price
    return _breaks(chosen.values(), runsizes)


def _parts(code: str, groups_payload: Any, prices: list[BasePrice], closeout: bool) -> list[ProductPart]:
    """One part per colour x size option pair (a missing axis counts as one), each with its own breaks."""
    colors, sizes = option_groups(groups_payload)
    runsizes = sorted({p.runsize for p in prices})
    color_axis: list[Option | None] = list(colors) or [None]
    size_axis: list[Option | None] = list(sizes) or [None]
    parts: list[ProductPart] = []
    for color, size in cartesian(color_axis, size_axis):
        chosen = [opt for opt in (color, size) if opt is not None]
        parts.append(
            ProductPart(
                part_id="-".join([code, *(opt.code for opt in chosen)]),
                color=color.name if color else None,
                size=size.name if size else None,
                is_closeout=closeout,
                prices=part_breaks(prices, {opt.uuid for opt in chosen}, runsizes),
            )
        )
    return parts


def _base_groups(prices: list[BasePrice]) -> list[PriceGroup]:
    """The product-wide price group: the base prices that no option scopes (none: no group)."""
    unscoped = [p for p in prices if not p.option_uuids]
    if not unscoped:
        return []
    runsizes = sorted({p.runsize for p in prices})
    return [
        PriceGroup(
            group_name=BASE_GROUP,
            currency=unscoped[0].currency,
            description="unit price per run size",
            prices=_breaks(unscoped, runsizes),
        )
    ]


def _images(product: dict[str, Any], base_url: str) -> list[ProductImage]:
    """The product's images with absolute URLs; the first is primary unless the reply says which is."""
    images = []
    for index, image in enumerate(i for i in product.get("images") or [] if isinstance(i, dict)):
        url = text(image.get("image_url"))
        if url:
            images.append(
                ProductImage(
                    url=urljoin(base_url.rstrip("/") + "/", url),
                    class_type=text(image.get("type")) or None,
                    is_primary=bool(image.get("is_primary")) if "is_primary" in image else index == 0,
                )
            )
    return images


def _categories(product: dict[str, Any]) -> list[str]:
    """The names of the product's categories, skipping entries that are not objects or have no name."""
    return [
        text(c.get("category_name"))
        for c in product.get("categories") or []
        if isinstance(c, dict) and text(c.get("category_name"))
    ]


def to_product(
    product_id: str,
    product: dict[str, Any],
    groups_payload: Any,
    prices: list[BasePrice] | None,
    *,
    base_url: str,
    notes: list[str] | None = None,
) -> Product:
    """Build the canonical product. ``prices`` None means they could not be read (already noted)."""
    code = text(product.get("product_code")) or product_id
    closeout = bool(product.get("closeout"))
    price_list = prices or []
    try:
        changed = parse_iso(text(product.get("modified_on")) or None)
    except ValueError:
        changed = None
        notes = [*(notes or []), "unreadable modified_on; last_change_date left empty"]

    return Product(
        product_id=product_id,
        name=text(product.get("product_name")) or code,
        brand=text(product.get("brand")) or None,
        description=text(product.get("product_description")),
        categories=_categories(product),
        parts=_parts(code, groups_payload, price_list, closeout),
        images=_images(product, base_url),
        prices=_base_groups(price_list),
        is_closeout=closeout,
        last_change_date=changed,
        notes=list(notes or []),
    )
