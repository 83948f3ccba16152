"""A deterministic generated catalog for the fake PromoStandards supplier.

Same ``(products, seed)`` -> same catalog, byte for byte, so tests can assert against it. Each
product has several colours x sizes (some have no apparel size at all, like a mug), net price breaks
per part, one or two FOB points and images per colour. Sets worth testing discovery against:

- ``closeout_ids``: about one product in ten, every part a closeout;
- ``discontinued_ids``: about one in twenty, not sellable (absent from ``getProductSellable``);
- ``modified_ids``: about one in five, changed after ``delta_since`` (``getProductDateModified``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
DELTA_SINCE = BASE_TIME + timedelta(days=200)

COLORS: tuple[tuple[str, str], ...] = (
    ("Black", "#000000"),
    ("White", "#FFFFFF"),
    ("Navy", "#1F2A44"),
    ("Red", "#C8102E"),
    ("Royal", "#2D68C4"),
    ("Forest Green", "#228B22"),
    ("Heather Grey", "#9EA2A2"),
    ("Maroon", "#800000"),
    ("Gold", "#FFB81C"),
    ("Orange", "#FF8200"),
)
SIZES: tuple[str, ...] = ("XS", "S", "M", "L", "XL", "2XL", "3XL")
BRANDS = ("Fake Apparel Co", "Loopback Basics", "Port 127", "Test & Co")
CATEGORIES = ("T-Shirts", "Polos/Knits", "Sweatshirts", "Bags", "Drinkware", "Caps")
FOB_POINTS = (("1", "Reno", "NV", "89441", "US"), ("2", "Dallas", "TX", "75038", "US"))


@dataclass(frozen=True)
class FakePart:
    part_id: str
    color: str
    hex: str
    size: str | None
    gtin: str
    is_closeout: bool
    # (minimum quantity, net price), ascending
    net_prices: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class FakeProduct:
    product_id: str
    name: str
    brand: str
    category: str
    sub_category: str | None
    # Plain-text paragraphs: what the adapter's description must come out as (one per line).
    paragraphs: tuple[str, ...]
    html_description: bool
    image: str  # absolute URL, or a relative path (resolved against the endpoint by the adapter)
    list_price: float
    parts: tuple[FakePart, ...]
    fob_ids: tuple[str, ...]
    is_closeout: bool
    is_sellable: bool
    last_change: datetime
    created: datetime

    @property
    def expected_description(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def colors(self) -> list[str]:
        return list(dict.fromkeys(part.color for part in self.parts))


@dataclass
class Catalog:
    seed: int
    products: list[FakeProduct]
    delta_since: datetime = DELTA_SINCE
    _by_id: dict[str, FakeProduct] = field(default_factory=dict, repr=False)
    _dropped: set[str] = field(default_factory=set, repr=False)  # stopped selling by ``change``

    def __post_init__(self) -> None:
        self._by_id = {product.product_id: product for product in self.products}

    def get(self, product_id: str) -> FakeProduct | None:
        return self._by_id.get(product_id)

    def __len__(self) -> int:
        return len(self.products)

    @property
    def product_ids(self) -> list[str]:
        return [product.product_id for product in self.products]

    @property
    def sellable_ids(self) -> list[str]:
        return [p.product_id for p in self.products if p.is_sellable]

    @property
    def discontinued_ids(self) -> list[str]:
        return [p.product_id for p in self.products if not p.is_sellable]

    @property
    def closeout_ids(self) -> list[str]:
        return [p.product_id for p in self.products if any(part.is_closeout for part in p.parts)]

    def touch(self, product_ids: list[str], when: datetime) -> None:
        """Mark ``product_ids`` as changed at ``when`` (as ``getProductDateModified`` and ``getProduct``
        then report), so a test can change the catalog between two imports."""
        wanted = set(product_ids)
        self.products = [replace(p, last_change=when) if p.product_id in wanted else p for p in self.products]
        self.__post_init__()

    def change(self, reprice: int = 0, drop: int = 0, restore: bool = False) -> dict[str, list[str]]:
        """Change the catalog between two imports (the local stack's ``POST /control/change``):
        raise the prices of the first ``reprice`` sellable products by 1.00 (and mark them modified
        now), stop selling the last ``drop`` sellable products, and with ``restore`` sell again every
        product an earlier change dropped. Returns the product ids of each kind."""
        now = datetime.now(UTC)
        sellable = self.sellable_ids
        repriced = sellable[:reprice] if reprice > 0 else []
        dropped = sellable[-drop:] if drop > 0 else []
        restored = sorted(self._dropped) if restore else []
        up = set(repriced)
        changed = []
        for p in self.products:
            if p.product_id in up:
                parts = tuple(
                    replace(part, net_prices=tuple((q, round(price + 1, 2)) for q, price in part.net_prices))
                    for part in p.parts
                )
                p = replace(p, list_price=round(p.list_price + 1, 2), parts=parts, last_change=now)
            if p.product_id in dropped:
                p = replace(p, is_sellable=False)
            if p.product_id in restored:
                p = replace(p, is_sellable=True)
            changed.append(p)
        self.products = changed
        self._dropped = (self._dropped | set(dropped)) - set(restored)
        self.__post_init__()
        return {"repriced": repriced, "dropped": dropped, "restored": restored}

    def modified_since(self, since: datetime) -> list[str]:
        return [p.product_id for p in self.products if p.last_change >= since]

    @property
    def modified_ids(self) -> list[str]:
        return self.modified_since(self.delta_since)

    # Part-level listings, as the supplier answers them (one row per part).
    def sellable_rows(self, sellable: bool = True) -> list[tuple[str, str]]:
        return [(p.product_id, part.part_id) for p in self.products if p.is_sellable == sellable for part in p.parts]

    def modified_rows(self, since: datetime) -> list[tuple[str, str]]:
        return [(p.product_id, part.part_id) for p in self.products if p.last_change >= since for part in p.parts]

    def closeout_rows(self) -> list[tuple[str, str]]:
        return [(p.product_id, part.part_id) for p in self.products for part in p.parts if part.is_closeout]


def product_id_for(index: int) -> str:
    return f"PSF{index:05d}"


def generate_catalog(products: int = 100, seed: int = 1) -> Catalog:
    """``products`` products, deterministic for a given ``seed``."""
    rng = random.Random(seed)
    items = [_product(index, seed, rng) for index in range(1, products + 1)]
    return Catalog(seed=seed, products=items)


def _product(index: int, seed: int, rng: random.Random) -> FakeProduct:
    product_id = product_id_for(index)
    category = rng.choice(CATEGORIES)
    apparel = category not in ("Bags", "Drinkware")
    colors = rng.sample(COLORS, rng.randint(2, 5))
    if apparel:
        start = rng.randint(0, 2)
        sizes: list[str | None] = list(SIZES[start : start + rng.randint(3, 5)])
    else:
        sizes = [None]
    # Set membership depends on the index (and seed), so even a small catalog has every set.
    closeout = (index + seed) % 10 == 0
    sellable = (index + seed) % 20 != 5
    modified = (index * 7 + seed) % 5 == 0
    list_price = round(rng.uniform(4, 40), 2)
    parts = []
    for c, (color, hex_code) in enumerate(colors):
        for s, size in enumerate(sizes):
            net = round(list_price * 0.6 + s * 0.5, 2)
            parts.append(
                FakePart(
                    part_id=f"{product_id}-{c:02d}{s:02d}",
                    color=color,
                    hex=hex_code,
                    size=size,
                    gtin=f"{90000000000000 + index * 1000 + c * 10 + s:014d}",
                    is_closeout=closeout,
                    net_prices=((1, net), (12, round(net * 0.9, 2)), (72, round(net * 0.8, 2))),
                )
            )
    name_word = category.split("/")[0].rstrip("s")
    paragraphs = (
        f"The {name_word.lower()} number {index}, made for tests.",
        f"{rng.choice(('100% cotton', '60/40 blend', 'Recycled polyester', 'Stainless steel'))}",
        "Printed on loopback & delivered by a fake supplier",
    )
    last_change = (
        DELTA_SINCE + timedelta(days=rng.randint(1, 60), minutes=index)
        if modified
        else BASE_TIME + timedelta(days=rng.randint(0, 150), minutes=index)
    )
    return FakeProduct(
        product_id=product_id,
        name=f"Fake {name_word} {index}",
        brand=rng.choice(BRANDS),
        category=category,
        sub_category="Basics" if index % 2 else None,
        paragraphs=paragraphs,
        html_description=index % 3 == 0,
        image=f"images/{product_id}.jpg" if index % 4 == 0 else f"https://images.example.invalid/{product_id}.jpg",
        list_price=list_price,
        parts=tuple(parts),
        fob_ids=tuple(fob[0] for fob in FOB_POINTS[: 1 + index % 2]),
        is_closeout=closeout,
        is_sellable=sellable,
        last_change=last_change,
        created=BASE_TIME - timedelta(days=365 + index),
    )
