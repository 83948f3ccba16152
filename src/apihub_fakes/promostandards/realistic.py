"""A catalog shaped like real PromoStandards suppliers' (issue 27), for the fake supplier and the bench.

The toy catalog (``catalog.generate_catalog``) has 2-5 colours x up to 5 sizes and three short
lines of text a product. Real suppliers differ by two orders of magnitude between products. The
samples in the research corpus (../shared/promostandards/samples, see its MANIFEST.txt) give the
two ends and the text sizes, read off the files:

- SanMar MM1000 (getProduct, a hard good): 1 part, 1 price group, 7 FOB points, 369 + 52 + 17 + 16
  + 28 characters of description, 12 keywords.
- S&S Activewear 6030 (getProduct, apparel): 423 parts = 76 colours x S..3XL, the last 33 colours
  without 3XL; one 464-character HTML description; 19 categories; 1 price group; no FOB point.
- SanMar K420 (getMediaContent): 9 images for one product (a primary plus one per colour shown).

Two products are not a distribution, so the spread between the ends is a stated assumption
(docs/benchmarks.md, "The realistic catalog", gives the resulting median, p90 and largest part
count and the bytes per product):

- half the products are apparel (S..3XL per colour, 3XL missing from the last 43 % of the
  colours, as at 6030), half hard goods (one part per colour);
- colours per product are log-normal, median ``APPAREL_COLOURS_MEDIAN`` (apparel) or
  ``HARD_COLOURS_MEDIAN`` (hard goods), clipped to 1..76 (6030's count, the largest seen), so
  the largest product is exactly 6030's 423 parts;
- one product in ``SS6030_EVERY`` is the 6030 shape itself;
- 3 to 8 description lines totalling about 300-600 characters (the samples' 483 and 464);
- 1 to 5 quantity price breaks a part (PPC), 1 or 2 FOB points; images: a primary plus one per
  colour (``responses.media_images``).

Each product costs the real number of supplier calls when the supplier is registered with every
endpoint: getProduct, getConfigurationAndPricing, getMediaContent (and getInventoryLevels for
stock). Same ``(products, seed)`` -> the same catalog, so runs compare.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass

from apihub_fakes.promostandards.catalog import (
    BASE_TIME,
    DELTA_SINCE,
    FOB_POINTS,
    Catalog,
    FakePart,
    FakeProduct,
    product_id_for,
)

APPAREL_SHARE = 0.5
APPAREL_COLOURS_MEDIAN = 8
HARD_COLOURS_MEDIAN = 3
COLOURS_SIGMA = 1.0  # of ln(colours): a factor e either side of the median for two thirds of products
MAX_COLOURS = 76  # S&S 6030, the largest product in the samples
SIZES = ("S", "M", "L", "XL", "2XL", "3XL")
SHARE_WITHOUT_3XL = 33 / 76  # 6030: the last 33 of its 76 colours stop at 2XL
SS6030_EVERY = 500
APPAREL_CATEGORIES = ("T-Shirts", "Polos/Knits", "Sweatshirts/Fleece", "Outerwear", "Caps", "Woven Shirts")
HARD_CATEGORIES = ("Bags", "Drinkware", "Writing Instruments", "Technology", "Office", "Outdoor")
BRANDS = ("Comfort Colors", "Port Authority", "Sport-Tek", "District", "Gildan", "Next Level", "OGIO", "Nike")
WORDS = [
    "ring",
    "spun",
    "cotton",
    "garment-dyed",
    "relaxed",
    "fit",
    "double-needle",
    "topstitched",
    "collar",
    "twill",
    "taped",
    "neck",
    "shoulder",
    "durability",
    "armhole",
    "sleeve",
    "bottom",
    "hems",
    "single",
    "needle",
    "chest",
    "pocket",
    "signature",
    "label",
    "heather",
    "moisture",
    "wicking",
    "tear-away",
    "tag",
    "side",
    "seamed",
    "stainless",
    "steel",
    "vacuum",
    "insulated",
    "powder",
    "coated",
    "lid",
    "leak",
    "resistant",
    "imprint",
    "area",
    "laser",
    "engraving",
    "recycled",
    "polyester",
    "zippered",
    "compartment",
    "padded",
    "sleeve",
    "adjustable",
    "strap",
]
COLOUR_WORDS = [
    "Black",
    "White",
    "Navy",
    "Red",
    "Royal",
    "Forest",
    "Heather",
    "Athletic",
    "Charcoal",
    "Maroon",
    "Gold",
    "Orange",
    "Kelly",
    "Sand",
    "Graphite",
    "Purple",
    "Pink",
    "Light",
    "Blue",
    "Lime",
    "Teal",
    "Burgundy",
    "Khaki",
    "Grey",
    "Ice",
    "Sapphire",
    "Berry",
    "Chalky",
    "Mint",
    "Watermelon",
    "Crimson",
]


def _colour_count(rng: random.Random, median: int) -> int:
    return max(1, min(MAX_COLOURS, round(math.exp(rng.gauss(math.log(median), COLOURS_SIGMA)))))


def _colours(rng: random.Random, count: int) -> list[tuple[str, str]]:
    names: dict[str, str] = {}
    while len(names) < count:
        name = " ".join(rng.sample(COLOUR_WORDS, rng.randint(1, 3)))
        names.setdefault(name, f"#{rng.randrange(0x1000000):06X}")
    return list(names.items())


def _paragraphs(rng: random.Random, name: str) -> tuple[str, ...]:
    lines = [name + ": " + " ".join(rng.choices(WORDS, k=rng.randint(10, 16)))]
    lines += [" ".join(rng.choices(WORDS, k=rng.randint(3, 9))).capitalize() for _ in range(rng.randint(2, 7))]
    return tuple(lines)


def _prices(rng: random.Random, net: float) -> tuple[tuple[int, float], ...]:
    breaks = (1, 12, 48, 144, 576)[: rng.randint(1, 5)]
    return tuple((q, round(net * (1 - 0.05 * i), 2)) for i, q in enumerate(breaks))


def _product(index: int, seed: int, rng: random.Random) -> FakeProduct:
    product_id = product_id_for(index)
    ss6030 = index % SS6030_EVERY == 0
    apparel = ss6030 or rng.random() < APPAREL_SHARE
    if ss6030:
        colour_count = MAX_COLOURS
    else:
        colour_count = _colour_count(rng, APPAREL_COLOURS_MEDIAN if apparel else HARD_COLOURS_MEDIAN)
    colours = _colours(rng, colour_count)
    without_3xl = round(colour_count * SHARE_WITHOUT_3XL)
    list_price = round(rng.uniform(3, 60), 2)
    # Set membership as in the toy catalog (by index), so the same discovery modes have work to do.
    closeout = (index + seed) % 10 == 0
    sellable = (index + seed) % 20 != 5
    modified = (index * 7 + seed) % 5 == 0
    parts = []
    for c, (colour, hex_code) in enumerate(colours):
        sizes: tuple[str | None, ...] = (
            (SIZES[:-1] if c >= colour_count - without_3xl else SIZES) if apparel else (None,)
        )
        for s, size in enumerate(sizes):
            net = round(list_price * 0.6 + s * 0.75, 2)
            parts.append(
                FakePart(
                    part_id=f"{product_id}-{c:02d}{s:02d}",
                    color=colour,
                    hex=hex_code,
                    size=size,
                    gtin=f"{80000000000000 + index * 1000 + c * 10 + s:014d}",
                    is_closeout=closeout,
                    net_prices=_prices(rng, net),
                )
            )
    category = rng.choice(APPAREL_CATEGORIES if apparel else HARD_CATEGORIES)
    name = f"{rng.choice(BRANDS)} {category.split('/')[0].rstrip('s')} {index}"
    return FakeProduct(
        product_id=product_id,
        name=name,
        brand=rng.choice(BRANDS),
        category=category,
        sub_category=None if apparel else "Promotional",
        paragraphs=_paragraphs(rng, name),
        html_description=apparel,  # S&S sends HTML, SanMar plain lines
        image=f"Images/Style/{product_id}.jpg"
        if index % 4 == 0
        else f"https://images.example.invalid/{product_id}.jpg",
        list_price=list_price,
        parts=tuple(parts),
        fob_ids=tuple(fob[0] for fob in FOB_POINTS[: 1 + index % 2]),
        is_closeout=closeout,
        is_sellable=sellable,
        last_change=(
            DELTA_SINCE.replace(minute=index % 60)
            if modified
            else BASE_TIME.replace(day=1 + index % 28, minute=index % 60)
        ),
        created=BASE_TIME.replace(year=2015),
    )


def generate_realistic_catalog(products: int = 100, seed: int = 1) -> Catalog:
    """``products`` products of the real shape (module docstring), deterministic for ``seed``."""
    rng = random.Random(f"realistic-{seed}")
    return Catalog(seed=seed, products=[_product(index, seed, rng) for index in range(1, products + 1)])


@dataclass(frozen=True)
class CatalogShape:
    """What a catalog's products hold: part counts, and the text and price rows they carry."""

    products: int
    parts_median: float
    parts_p90: float
    parts_max: int
    colours_median: float
    price_breaks_per_part: float
    description_chars_median: float
    images_median: float

    def as_dict(self) -> dict[str, float | int]:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def percentile(values: list[int], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(share * len(ordered)) - 1)])


def shape_of(catalog: Catalog) -> CatalogShape:
    parts = [len(p.parts) for p in catalog.products]
    colours = [len(p.colors) for p in catalog.products]
    breaks = [len(part.net_prices) for p in catalog.products for part in p.parts]
    return CatalogShape(
        products=len(parts),
        parts_median=float(statistics.median(parts)),
        parts_p90=percentile(parts, 0.9),
        parts_max=max(parts),
        colours_median=float(statistics.median(colours)),
        price_breaks_per_part=statistics.fmean(breaks),
        description_chars_median=float(statistics.median(len(p.expected_description) for p in catalog.products)),
        images_median=float(statistics.median(1 + c for c in colours)),
    )
